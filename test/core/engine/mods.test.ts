// App mods through every update path of the engine (Node and XS): the catalog
// (AutoConnect's `.xsa` file rows, our server's `kind: "mod"` rows and their
// refusals), an install from the catalog (ModSink, staged, stagedRestart), the
// check-in (the mod headers, an answer that is a mod, a kind mismatch refused
// before anything is erased, the outcome of a rolled-back mod), uploads, and
// firmware and mod installs waiting for each other's verdict.
import { test, assert } from "../../harness/t";
import type { HttpRequest } from "../../../modules/core/ports";
import { utf8Encode } from "../../../modules/core/bytes";
import { ModStore } from "../../../modules/core/mods/mod-store";
import { signaturePolicy } from "../../../modules/core/signature/policy";
import { demoMod } from "../../../tools/xs-archive";
import { createRig, type Rig } from "../../fakes/rig";
import { ModRig } from "../../fakes/mod-rig";
import { serveBytes, type ScriptedResponse } from "../../fakes/http";
import { buildImage } from "../../fakes/image";
import { md5Hex, nobleDigest } from "../../fakes/digest";
import { nobleVerifier, testKey } from "../../fakes/signature";
import { signMod } from "../../fakes/mod-signature";

const IMAGE = buildImage({ size: 30_000, seed: 3 });
const HELLO = demoMod("hello", "1.1.0", { codeSize: 3000 });
const OTHER_XS = demoMod("hello", "1.2.0", { xs: { major: 16, minor: 7, patch: 0 } });
const owner = testKey(1);

const json = (text: string): ScriptedResponse => {
  const body = utf8Encode(text);
  return { status: 200, headers: [["Content-Type", "application/json"], ["Content-Length", String(body.length)]], body };
};

// AutoConnect's listing of a folder: firmware as "bin", anything else as "file" (a mod among them).
const CATALOG = json(
  `[{"name":"fw-2.0.0.bin","type":"bin","date":"11/22/26","time":"10:55:15","size":${IMAGE.length}},` +
    `{"name":"hello-1.1.0.xsa","type":"file","date":"11/22/26","time":"11:00:00","size":${HELLO.length}},` +
    `{"name":"old-xs.xsa","type":"file","date":"11/22/26","time":"11:00:00","size":${OTHER_XS.length}},` +
    `{"name":"huge.XSA","type":"file","date":"11/22/26","time":"11:00:00","size":40000},` +
    `{"name":"notes.txt","type":"file","date":"11/22/26","time":"11:00:00","size":10},` +
    `{"name":"mods","type":"folder","date":"11/22/26","time":"11:00:00","size":0}]`,
);
// Our server's /api/catalog rows for them.
const FACTS = json(
  `[{"name":"fw-2.0.0.bin","chipId":0,"version":"2.0.0","projectName":"ota-demo","signed":true,"signer":"${owner.id.slice(0, 16)}"},` +
    `{"name":"hello-1.1.0.xsa","kind":"mod","version":"1.1.0","xs":"17.7","size":${HELLO.length},"md5":"${md5Hex(HELLO)}","signed":false},` +
    `{"name":"old-xs.xsa","kind":"mod","version":"1.2.0","xs":"16.7","size":${OTHER_XS.length},"signed":true,"signer":"${owner.id.slice(0, 16)}"}]`,
);

function serve(extra: (r: HttpRequest) => ScriptedResponse | undefined = () => undefined) {
  return (r: HttpRequest): ScriptedResponse => {
    const special = extra(r);
    if (special) return special;
    if (r.path.startsWith("/_catalog")) return CATALOG;
    if (r.path.startsWith("/api/catalog")) return FACTS;
    if (r.path === "/hello-1.1.0.xsa") return serveBytes(HELLO, r, { headers: [["x-MD5", md5Hex(HELLO)]] });
    if (r.path.endsWith(".sig")) return { status: 404 };
    return serveBytes(IMAGE, r, { headers: [["x-MD5", md5Hex(IMAGE)]] });
  };
}

/** A board hosting mods, booted (no mod yet, or the ModRig's). */
function modBoard(mods = new ModRig(), o: Partial<Parameters<typeof createRig>[0]> = {}): { rig: Rig; mods: ModRig } {
  if (!o.mods) mods.boot();
  const rig = createRig({ route: serve(), mods, ...o });
  return { rig, mods };
}

const modState = (mods: ModRig) => new ModStore(mods.store).load();
const header = (rig: Rig, i: number, name: string) => rig.http.header(i, name);

test("catalog: .xsa file rows are mods on a board that hosts them; the server's facts disable other XS, too large and (signed-only) unsigned mods", async () => {
  const { rig } = modBoard(new ModRig(), { signingKeys: [owner.config] });
  rig.updater.loadCatalog();
  await rig.settle();
  const catalog = rig.updater.catalog();
  assert.equal(catalog.state, "ready");
  if (catalog.state !== "ready") return;
  const by = new Map(catalog.entries.map((e) => [e.name, e]));
  assert.deepEqual([...by.keys()], ["fw-2.0.0.bin", "hello-1.1.0.xsa", "old-xs.xsa", "huge.XSA"], "no plain files, no folders");
  assert.equal(by.get("fw-2.0.0.bin")?.kind, undefined, "firmware rows are as before");
  assert.equal(by.get("fw-2.0.0.bin")?.disabled, undefined);
  const hello = by.get("hello-1.1.0.xsa");
  assert.equal(hello?.kind, "mod");
  assert.equal(hello?.version, "1.1.0");
  assert.equal(hello?.md5, md5Hex(HELLO));
  assert.match(hello?.disabled ?? "", /the mod has no signature/);
  assert.equal(by.get("old-xs.xsa")?.disabled, "Mod built for XS 16.7; this board's firmware has XS 17.7: rebuild it with this firmware's SDK");
  assert.equal(by.get("huge.XSA")?.kind, "mod");
  assert.equal(by.get("huge.XSA")?.disabled, "Too large: Mod is 39.1 KB, the mod partition holds 16 KB");
  // both catalog requests say what the board hosts
  for (const i of [0, 1]) {
    assert.equal(header(rig, i, "x-Ota-Mod-Host"), "17.7");
    assert.equal(header(rig, i, "x-Ota-Mod"), "");
    assert.equal(header(rig, i, "x-Ota-Mod-Result"), undefined, "no mod update yet");
  }
});

test("catalog: .xsa rows as our server and updateserver.py list them (name and type only) are mods, sized by /api/catalog and checked against a mod slot; with no /api/catalog the size stays unknown and the mod still installs", async () => {
  // What server/folders.ts writes for a mod: no date, time or size.
  const bare = json(`[{"name":"fw-2.0.0.bin","type":"bin","date":"11/22/26","time":"10:55:15","size":${IMAGE.length}},{"name": "hello-1.1.0.xsa", "type": "file"},{"name": "huge.xsa", "type": "file"},{"name": "notes.txt", "type": "file"}]`);
  const facts = json(`[{"name":"hello-1.1.0.xsa","kind":"mod","version":"1.1.0","xs":"17.7","size":${HELLO.length}},{"name":"huge.xsa","kind":"mod","version":"9.0.0","xs":"17.7","size":40000}]`);
  const listed = async (withFacts: boolean) => {
    const { rig, mods } = modBoard(new ModRig(), { route: serve((r) => (r.path.startsWith("/_catalog") ? bare : r.path.startsWith("/api/catalog") ? (withFacts ? facts : { status: 404 }) : undefined)) });
    rig.updater.loadCatalog();
    await rig.settle();
    const catalog = rig.updater.catalog();
    assert.equal(catalog.state, "ready");
    return { rig, mods, by: new Map((catalog.state === "ready" ? catalog.entries : []).map((e) => [e.name, e])) };
  };
  const known = await listed(true);
  assert.deepEqual([...known.by.keys()], ["fw-2.0.0.bin", "hello-1.1.0.xsa", "huge.xsa"]);
  assert.deepEqual([known.by.get("hello-1.1.0.xsa")?.kind, known.by.get("hello-1.1.0.xsa")?.size, known.by.get("hello-1.1.0.xsa")?.disabled], ["mod", HELLO.length, undefined]);
  assert.equal(known.by.get("huge.xsa")?.disabled, "Too large: Mod is 39.1 KB, the mod partition holds 16 KB");
  const unknown = await listed(false);
  const hello = unknown.by.get("hello-1.1.0.xsa");
  assert.deepEqual([hello?.kind, hello?.size, hello?.disabled], ["mod", undefined, undefined]);
  assert.equal(unknown.rig.updater.start("hello-1.1.0.xsa"), undefined);
  await unknown.rig.settle();
  const p = unknown.rig.updater.progress();
  assert.equal(p.phase, "done", p.error);
  assert.equal(p.received, HELLO.length);
});

test("catalog: without mods the board lists only firmware, sends no mod headers, and a mod row of our server is refused with the reason", async () => {
  const rig = createRig({
    route: serve((r) =>
      r.path.startsWith("/api/catalog") ? json(`[{"name":"fw-2.0.0.bin","kind":"mod","version":"1.0.0","xs":"17.7"}]`) : undefined,
    ),
  });
  rig.updater.loadCatalog();
  await rig.settle();
  const catalog = rig.updater.catalog();
  assert.ok(catalog.state === "ready");
  if (catalog.state !== "ready") return;
  assert.deepEqual(catalog.entries.map((e) => e.name), ["fw-2.0.0.bin"]);
  assert.equal(catalog.entries[0].disabled, "This board's firmware does not take app mods");
  assert.equal(header(rig, 0, "x-Ota-Mod-Host"), undefined);
  assert.equal(rig.updater.upload({ size: 100, name: "x.xsa", kind: "mod" }).ok, false);
});

test("install from the catalog: fw=<name>.xsa goes through the ModSink, is staged, and the restart is mods.stagedRestart()", async () => {
  const { rig, mods } = modBoard();
  rig.updater.loadCatalog();
  await rig.settle();
  assert.match(rig.updater.start("old-xs.xsa") ?? "", /Mod built for XS 16\.7/, "a disabled mod is refused by name");
  assert.equal(rig.updater.start("hello-1.1.0.xsa"), undefined);
  await rig.settle();
  const download = rig.http.requests[rig.http.requests.length - 1];
  assert.equal(download.path, "/hello-1.1.0.xsa");
  assert.equal(rig.http.header(rig.http.requests.length - 1, "x-Ota-Mod-Host"), "17.7");
  const p = rig.updater.progress();
  assert.equal(p.phase, "done", p.error);
  assert.equal(p.kind, "mod");
  assert.equal(p.target, "hello-1.1.0.xsa (app mod)");
  assert.equal(p.received, HELLO.length);
  assert.equal(modState(mods).slots[0]?.name, "hello");
  assert.equal(modState(mods).staged, 0);
  assert.ok(rig.flash.untouched(), "the firmware's slots and boot selection are untouched");
  assert.equal(rig.boot.lastUpdate(), undefined, "no firmware update recorded");
  rig.clock.advance(2999);
  assert.equal(mods.system.restarts, 0, "the page gets time to see done");
  rig.clock.advance(1);
  assert.equal(mods.system.restarts, 1);
  assert.equal(modState(mods).staged, null, "switched into xs right before the restart");
  assert.equal(modState(mods).pending?.slot, 0);
  assert.equal(mods.boot(), "run");
  mods.settle();
  assert.deepEqual(mods.mods.status().mod, { name: "hello", version: "1.1.0", state: "valid" });
});

// What AutoConnect's updateserver.py and our server really list: a `file` row is a name and a type, no size.
const BARE_CATALOG = json(
  `[{"name":"fw-2.0.0.bin","type":"bin","date":"11/22/26","time":"10:55:15","size":${IMAGE.length}},` +
    `{"name":"hello-1.1.0.xsa","type":"file"},{"name":"huge.xsa","type":"file"},{"name":"notes.txt","type":"file"},{"name":"nosize.bin","type":"bin"}]`,
);
const BARE_FACTS = json(
  `[{"name":"hello-1.1.0.xsa","kind":"mod","version":"1.1.0","xs":"17.7","size":${HELLO.length},"md5":"${md5Hex(HELLO)}","signed":false},` +
    `{"name":"huge.xsa","kind":"mod","version":"9.0.0","xs":"17.7","size":40000,"signed":false}]`,
);

test("catalog: a mod's file row has no size in AutoConnect's listing: kept, sized by our server's row (too large refused), unknown without it, and it installs", async () => {
  const withFacts = modBoard(new ModRig(), { route: serve((r) => (r.path.startsWith("/_catalog") ? BARE_CATALOG : r.path.startsWith("/api/catalog") ? BARE_FACTS : undefined)) });
  withFacts.rig.updater.loadCatalog();
  await withFacts.rig.settle();
  let catalog = withFacts.rig.updater.catalog();
  assert.ok(catalog.state === "ready");
  if (catalog.state !== "ready") return;
  assert.deepEqual(catalog.entries.map((e) => e.name), ["fw-2.0.0.bin", "hello-1.1.0.xsa", "huge.xsa"], "a bin row still needs its size; plain files are skipped");
  const [, hello, huge] = catalog.entries;
  assert.equal(hello.kind, "mod");
  assert.equal(hello.size, HELLO.length, "the size our server gives");
  assert.equal(hello.disabled, undefined);
  assert.equal(huge.size, 40000);
  assert.equal(huge.disabled, "Too large: Mod is 39.1 KB, the mod partition holds 16 KB", "sized against a mod slot once the size is known");

  // AutoConnect's updateserver.py has no /api/catalog: the size stays unknown and the download's Content-Length decides.
  const bare = modBoard(new ModRig(), { route: serve((r) => (r.path.startsWith("/_catalog") ? BARE_CATALOG : r.path.startsWith("/api/catalog") ? { status: 404 } : undefined)) });
  bare.rig.updater.loadCatalog();
  await bare.rig.settle();
  catalog = bare.rig.updater.catalog();
  assert.ok(catalog.state === "ready");
  if (catalog.state !== "ready") return;
  const unknown = catalog.entries.find((e) => e.name === "hello-1.1.0.xsa");
  assert.equal(unknown?.kind, "mod");
  assert.equal(unknown?.size, undefined);
  assert.equal(unknown?.disabled, undefined);
  assert.equal(bare.rig.updater.start("hello-1.1.0.xsa"), undefined);
  await bare.rig.settle();
  const p = bare.rig.updater.progress();
  assert.equal(p.phase, "done", p.error);
  assert.equal(p.received, HELLO.length);
  assert.equal(modState(bare.mods).slots[0]?.name, "hello");
});

test("a refused mod download is recorded as the last mod update, not as a firmware update", async () => {
  const bad = HELLO.slice();
  bad[2000] ^= 1;
  const { rig, mods } = modBoard(new ModRig(), { route: serve((r) => (r.path === "/hello-1.1.0.xsa" ? serveBytes(bad, r, { headers: [["x-MD5", md5Hex(bad)]] }) : undefined)) });
  rig.updater.loadCatalog();
  await rig.settle();
  assert.equal(rig.updater.start("hello-1.1.0.xsa"), undefined);
  await rig.settle();
  assert.equal(rig.updater.progress().phase, "failed");
  // the archive never named itself (its check failed): recorded under the catalog's name and version
  assert.deepEqual(mods.mods.lastModUpdate(), { name: "hello-1.1.0.xsa", version: "1.1.0", result: "failed", reason: "Mod archive damaged: its contents do not match its SIGN digest" });
  assert.equal(rig.boot.lastUpdate(), undefined);
  assert.equal(modState(mods).staged, null);
});

test("check-in: the mod headers go with it; an answer with x-Ota-Kind: mod installs the mod and restarts with stagedRestart", async () => {
  const { rig, mods } = modBoard(new ModRig(), { route: (r) => serveBytes(HELLO, r, { headers: [["x-MD5", md5Hex(HELLO)], ["x-Ota-Kind", "mod"]] }) });
  assert.equal(rig.updater.checkIn("http://192.168.4.2:8000/esp32/update"), undefined);
  await rig.settle();
  assert.equal(header(rig, 0, "x-Ota-Mod-Host"), "17.7");
  assert.equal(header(rig, 0, "x-Ota-Mod"), "");
  assert.equal(header(rig, 0, "x-ESP32-mode"), "sketch", "the HTTPUpdate headers are all still there");
  const p = rig.updater.progress();
  assert.equal(p.phase, "done", p.error);
  assert.equal(p.kind, "mod");
  assert.equal(modState(mods).staged, 0);
  assert.ok(rig.flash.untouched());
  rig.clock.advance(3000);
  assert.equal(mods.system.restarts, 1);
  assert.equal(modState(mods).pending?.slot, 0);
});

test("check-in: without x-Ota-Kind the first bytes decide (an XS archive is a mod, an image is firmware)", async () => {
  let { rig, mods } = modBoard(new ModRig(), { route: (r) => serveBytes(HELLO, r, { headers: [["x-MD5", md5Hex(HELLO)]], chunkSize: 5 }) });
  rig.updater.checkIn("http://192.168.4.2:8000/u");
  await rig.settle();
  assert.equal(rig.updater.progress().phase, "done", rig.updater.progress().error);
  assert.equal(rig.updater.progress().kind, "mod");
  assert.equal(modState(mods).slots[0]?.version, "1.1.0");
  ({ rig, mods } = modBoard(new ModRig(), { route: (r) => serveBytes(IMAGE, r, { headers: [["x-MD5", md5Hex(IMAGE)], ["x-Ota-Kind", "firmware"]] }) }));
  rig.updater.checkIn("http://192.168.4.2:8000/u");
  await rig.settle();
  assert.equal(rig.updater.progress().phase, "done", rig.updater.progress().error);
  assert.equal(rig.updater.progress().kind, undefined);
  assert.deepEqual(rig.flash.written(IMAGE.length), IMAGE);
  assert.equal(modState(mods).staged, null);
  rig.clock.advance(3000);
  assert.equal(rig.system.restarts, 1, "a firmware restart");
  assert.equal(modState(mods).pending, null, "no mod switch");
});

test("check-in: a header that says one kind over bytes of the other is refused before anything is erased", async () => {
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ["mod", buildImage({ size: 8000, seed: 4 }), /x-Ota-Kind: mod\), but the bytes are a firmware image/],
    ["mod", new Uint8Array(5000).fill(0x41), /x-Ota-Kind: mod\), but the bytes are not an XS archive/],
    ["firmware", HELLO, /x-Ota-Kind: firmware\), but the bytes are an app mod/],
    ["spiffs", HELLO, /x-Ota-Kind: spiffs; this board takes firmware or mod/],
  ];
  for (const [kind, bytes, expected] of cases) {
    const { rig, mods } = modBoard(new ModRig(), { route: (r) => serveBytes(bytes, r, { headers: [["x-MD5", md5Hex(bytes)], ["x-Ota-Kind", kind]] }) });
    const ops = mods.flash.power.ops;
    rig.updater.checkIn("http://192.168.4.2:8000/u");
    await rig.settle();
    const p = rig.updater.progress();
    assert.equal(p.phase, "failed", kind);
    assert.match(p.error ?? "", expected);
    assert.equal(rig.flash.writer.begins, 0, "the OTA slot was not opened");
    assert.ok(rig.flash.untouched());
    assert.equal(mods.flash.power.ops, ops, "no mod slot erased or written");
  }
});

test("check-in after a rolled-back mod: x-Ota-Mod names the running mod, x-Ota-Mod-Result says rolled-back for the failed one", async () => {
  const mods = new ModRig();
  assert.equal(mods.install(demoMod("app", "1.0.0")), undefined);
  mods.mods.stagedRestart();
  mods.boot();
  mods.settle();
  const v2 = demoMod("app", "2.0.0", { twin: "fail-check" });
  let { rig } = modBoard(mods, { route: (r) => serveBytes(v2, r, { headers: [["x-MD5", md5Hex(v2)], ["x-Ota-Kind", "mod"]] }) });
  rig.updater.checkIn("http://192.168.4.2:8000/u");
  await rig.settle();
  assert.equal(header(rig, 0, "x-Ota-Mod"), "app@1.0.0");
  assert.equal(header(rig, 0, "x-Ota-Mod-Result"), "valid");
  assert.equal(header(rig, 0, "x-Ota-Mod-Result-Version"), "app@1.0.0");
  assert.equal(rig.updater.progress().phase, "done", rig.updater.progress().error);
  rig.clock.advance(3000);
  assert.equal(mods.boot(), "run");
  mods.settle(); // its check fails: rolled back, restart
  assert.equal(mods.boot(), "run");
  ({ rig } = modBoard(mods, { route: [{ status: 304 }] }));
  rig.updater.checkIn("http://192.168.4.2:8000/u");
  await rig.settle();
  assert.equal(rig.updater.progress().phase, "current");
  assert.equal(header(rig, 0, "x-Ota-Mod"), "app@1.0.0");
  assert.equal(header(rig, 0, "x-Ota-Mod-Result"), "rolled-back");
  assert.equal(header(rig, 0, "x-Ota-Mod-Result-Version"), "app@2.0.0");
  assert.equal(header(rig, 0, "x-ESP32-update-result"), undefined, "no firmware update happened");
});

test("uploads of mods: the mod slot's size (413), a board without mods (404), a signed-only board without a .sig (422), then the ModSink", () => {
  const { rig, mods } = modBoard(new ModRig(), { signingKeys: [owner.config] });
  const big = rig.updater.upload({ size: 20_000, name: "big.xsa", kind: "mod" });
  assert.deepEqual(big, { ok: false, status: 413, error: "Mod is 19.5 KB, the mod partition holds 16 KB" });
  const unsigned = rig.updater.upload({ size: HELLO.length, name: "hello.xsa", kind: "mod" });
  assert.ok(!unsigned.ok && unsigned.status === 422 && /the mod has no signature/.test(unsigned.error), JSON.stringify(unsigned));
  const plain = modBoard().rig;
  const started = plain.updater.upload({ size: HELLO.length, md5: md5Hex(HELLO), name: "hello.xsa", kind: "mod" });
  assert.ok(started.ok);
  if (!started.ok) return;
  for (let i = 0; i < HELLO.length; i += 4096) started.upload.write(HELLO.subarray(i, i + 4096));
  started.upload.end();
  plain.clock.advance(0);
  assert.equal(plain.updater.progress().phase, "done", plain.updater.progress().error);
  assert.equal(plain.updater.progress().target, "hello.xsa (app mod)");
  assert.equal(mods.flash.power.ops, 0, "the signed-only board erased nothing");
  const none = createRig({ route: [] }).updater.upload({ size: 100, name: "x.xsa", kind: "mod" });
  assert.deepEqual(none, { ok: false, status: 404, error: "This board's firmware does not take app mods" });
});

test("firmware and mod installs wait for each other's start-up verdict", async () => {
  // a mod being checked: no firmware install, no other mod install
  const mods = new ModRig({ options: { windowMs: 60_000 } });
  assert.equal(mods.install(demoMod("app", "1.0.0", { twin: "wait-check" })), undefined);
  mods.mods.stagedRestart();
  assert.equal(mods.boot(), "run");
  const { rig } = modBoard(mods, { mods, route: serve() });
  rig.updater.loadCatalog();
  await rig.settle();
  assert.match(rig.updater.start("fw-2.0.0.bin") ?? "", /^The new app mod is still being checked \(60 s left\)/);
  assert.match(rig.updater.checkIn("http://192.168.4.2:8000/u") ?? "", /app mod is still being checked/);
  const upload = rig.updater.upload({ size: HELLO.length, name: "hello.xsa", kind: "mod" });
  assert.ok(!upload.ok && upload.status === 409);
  // a firmware being checked: the mod manager refuses too, through firmwareBlocked
  const board: { firmware?: Rig } = {};
  const waiting = new ModRig({ firmwareBlocked: () => board.firmware?.boot.blocked() });
  waiting.boot();
  const firmware = (board.firmware = createRig({ route: serve(), mods: waiting, flash: { runningState: "pending-verify" } }));
  assert.match(waiting.mods.blocked() ?? "", /^The new firmware is still being checked/);
  firmware.updater.loadCatalog();
  await firmware.settle();
  assert.match(firmware.updater.start("hello-1.1.0.xsa") ?? "", /^The new firmware is still being checked/);
});

test("a signed mod from the catalog installs on a signed-only board (its .sig fetched beside it); the same mod unsigned is refused before any erase", async () => {
  const policy = signaturePolicy([owner.config], { chipId: 0, projectName: "ota-demo", secureVersion: 0 }, nobleDigest);
  const signedFacts = json(`[{"name":"hello-1.1.0.xsa","kind":"mod","version":"1.1.0","xs":"17.7","signed":true,"signer":"${owner.id.slice(0, 16)}"}]`);
  const sig = utf8Encode(signMod(HELLO, owner, "ota-demo"));
  for (const signed of [true, false]) {
    const mods = new ModRig({ signatures: { policy, verifier: nobleVerifier } });
    const { rig } = modBoard(mods, {
      signingKeys: [owner.config],
      route: serve((r) =>
        r.path.startsWith("/api/catalog") ? signedFacts : r.path === "/hello-1.1.0.xsa.sig" && signed ? { status: 200, headers: [["Content-Length", String(sig.length)]], body: sig } : undefined,
      ),
    });
    rig.updater.loadCatalog();
    await rig.settle();
    assert.equal(rig.updater.start("hello-1.1.0.xsa"), undefined);
    await rig.settle();
    const p = rig.updater.progress();
    if (signed) {
      assert.equal(p.phase, "done", p.error);
      assert.equal(modState(mods).staged, 0);
    } else {
      assert.match(p.error ?? "", /the mod has no signature/);
      assert.equal(mods.flash.power.ops, 0, "nothing erased");
    }
  }
});

// The app mod in the portal (Node and XS): /api/status `mod` and
// `lastModUpdate` (exact shape), the home page's #mod section (state, the
// mod's status line, the last mod update, Go back and Remove), the actions
// (POST /mod/remove, /mod/rollback and their /api/ twins, guarded like
// /rollback), POST /update/mod over the real engine (every status of the
// upload contract), and the UPDATE page's #mods list under the page budget.
import { test, assert } from "../../harness/t";
import type { CatalogEntry } from "../../../modules/core/updater-api";
import type { PortalBodySink, PortalResponse } from "../../../modules/core/ports";
import { createPortal } from "../../../modules/core/portal/portal";
import { basicHeader, setPassword } from "../../../modules/core/portal/basic-auth";
import { utf8Length } from "../../../modules/core/portal/form";
import { MAX_MOD_STATUS_TEXT } from "../../../modules/core/mods/mod-boot";
import { UPLOAD_SCRIPT } from "../../../modules/core/portal/page-upload";
import { ModStore } from "../../../modules/core/mods/mod-store";
import { demoMod } from "../../../tools/xs-archive";
import { ModRig } from "../../fakes/mod-rig";
import { createRig, type Rig } from "../../fakes/rig";
import { portalRig, request, header, OPEN_PORTAL } from "../../fakes/portal-client";
import { FakeWifi } from "../../fakes/wifi";
import { buildImage } from "../../fakes/image";
import { md5Hex } from "../../fakes/digest";
import { testKey } from "../../fakes/signature";

const V1 = demoMod("app", "1.0.0", { codeSize: 3000 });

/** A board whose mod app 1.0.0 was installed and confirmed; with `v2` ("fail-check" etc.) app 2.0.0 was then tried. */
function board(v2?: string): ModRig {
  const mods = new ModRig();
  assert.equal(mods.install(V1), undefined);
  mods.mods.stagedRestart();
  mods.boot();
  mods.settle();
  if (v2 !== undefined) {
    assert.equal(mods.install(demoMod("app", "2.0.0", { twin: v2 === "ok" ? undefined : v2 })), undefined);
    mods.mods.stagedRestart();
    mods.boot();
    mods.settle();
    if (v2 !== "ok") mods.boot();
  }
  return mods;
}

test("/api/status: mod and lastModUpdate, exactly; null on a board without mods", () => {
  let s = JSON.parse(portalRig(OPEN_PORTAL).get("/api/status").body);
  assert.equal(s.mod, null);
  assert.equal(s.lastModUpdate, null);
  s = JSON.parse(portalRig({ ...OPEN_PORTAL, mods: new ModRig().mods }).get("/api/status").body);
  assert.deepEqual([s.mod, s.lastModUpdate], [null, null]);
  s = JSON.parse(portalRig({ ...OPEN_PORTAL, mods: board().mods }).get("/api/status").body);
  assert.deepEqual(s.mod, { name: "app", version: "1.0.0", state: "valid" });
  assert.deepEqual(s.lastModUpdate, { name: "app", version: "1.0.0", result: "valid" });
  s = JSON.parse(portalRig({ ...OPEN_PORTAL, mods: board("fail-check").mods }).get("/api/status").body);
  assert.deepEqual(s.mod, { name: "app", version: "1.0.0", state: "valid" });
  assert.deepEqual(s.lastModUpdate, { name: "app", version: "2.0.0", result: "rolled-back", reason: "app sensor: sensor not found" });
  assert.equal(typeof s.boot, "string", "the rest of the status is as before");
});

test("home page: the running mod, its status line (escaped, bounded), what happened to the last mod update, Go back and Remove", () => {
  const mods = board("fail-check");
  mods.mods.setStatusText(`<b>42 °C</b>\n${"x".repeat(200)}`);
  const text = mods.mods.statusText() ?? "";
  assert.equal(text.length, MAX_MOD_STATUS_TEXT);
  const page = portalRig({ ...OPEN_PORTAL, mods: mods.mods }).get("/").body;
  assert.match(page, /<section id=mod><h2>App mod<\/h2>/);
  assert.match(page, /<dd id=mod-name>app <span class=meta>1\.0\.0<\/span><\/dd><dt>State<\/dt><dd id=mod-state>running<\/dd>/);
  assert.match(page, /<p id=mod-status>&lt;b&gt;42 °C&lt;\/b&gt; x{107}<\/p>/);
  assert.match(page, /<p id=mod-last class=error>app 2\.0\.0 failed its start-up check and was rolled back; running app 1\.0\.0<\/p>/);
  assert.match(page, /<p id=mod-reason class=meta>app sensor: sensor not found<\/p>/);
  assert.doesNotMatch(page, /id=mod-rollback/, "the failed mod is not offered");
  assert.match(portalRig({ ...OPEN_PORTAL, mods: board().mods }).get("/").body, /<p id=mod-status><\/p>/, "an empty line until the mod sets one");
  assert.match(page, /<form method=post action="\/mod\/remove"><button class=alt id=mod-remove>Remove the app mod<\/button><\/form>/);
  // after a good update the previous mod is offered
  const good = portalRig({ ...OPEN_PORTAL, mods: board("ok").mods }).get("/").body;
  assert.match(good, /<p id=mod-last class=ok>app 2\.0\.0 passed its start-up check<\/p>/);
  assert.match(good, /<form method=post action="\/mod\/rollback"><button class=alt id=mod-rollback>Go back to app 1\.0\.0<\/button><\/form>/);
  assert.doesNotMatch(portalRig(OPEN_PORTAL).get("/").body, /id=mod\b/, "no section without mods");
  assert.match(portalRig({ ...OPEN_PORTAL, mods: new ModRig().mods }).get("/").body, /<p id=mod-none class=meta>No app mod is installed\.<\/p>/);
});

test("home page: while a new mod is checked, its time left and no actions", () => {
  const mods = new ModRig();
  assert.equal(mods.install(demoMod("app", "1.0.0", { twin: "wait-check" })), undefined);
  mods.mods.stagedRestart();
  mods.boot();
  mods.clock.advance(1000);
  const page = portalRig({ ...OPEN_PORTAL, mods: mods.mods }).get("/").body;
  assert.match(page, /<dd id=mod-state>being checked<\/dd><\/dl><p id=mod-check>Checking the new app mod: 9 s left\./);
  assert.doesNotMatch(page, /id=mod-remove|id=mod-rollback/);
  assert.deepEqual(JSON.parse(portalRig({ ...OPEN_PORTAL, mods: mods.mods }).get("/api/status").body).mod, { name: "app", version: "1.0.0", state: "pending" });
});

test("POST /mod/rollback and /api/mod/rollback: back to the previous mod, restart shortly; 409 with the reason", () => {
  const mods = board("ok");
  const web = portalRig({ ...OPEN_PORTAL, mods: mods.mods });
  const api = web.post("/api/mod/rollback", {});
  assert.equal(api.status, 200);
  assert.deepEqual(JSON.parse(api.body), { ok: true, name: "app", version: "1.0.0" });
  assert.equal(mods.system.restarts, 0);
  mods.clock.advance(500);
  assert.equal(mods.system.restarts, 1);
  assert.equal(mods.boot(), "run");
  assert.equal(mods.mods.installed(), "app@1.0.0");
  assert.match(portalRig({ ...OPEN_PORTAL, mods: mods.mods }).post("/api/mod/rollback", {}).body, /still being checked/, "judged again as new: no way back meanwhile");
  mods.settle();
  const again = portalRig({ ...OPEN_PORTAL, mods: mods.mods });
  const page = again.post("/mod/rollback", {});
  assert.equal(page.status, 200);
  assert.match(page.body, /<p id=status>Restarting into app 2\.0\.0…<\/p>/);
  const refused = again.post("/api/mod/rollback", {});
  assert.deepEqual([refused.status, JSON.parse(refused.body)], [409, { ok: false, error: "The board is restarting" }]);
  const none = portalRig({ ...OPEN_PORTAL, mods: new ModRig().mods }).post("/api/mod/rollback", {});
  assert.deepEqual([none.status, JSON.parse(none.body)], [409, { ok: false, error: "No app mod is running" }]);
});

test("POST /mod/remove and /api/mod/remove: the mod is removed and the board restarts; 409 when there is none; 404 without mods", () => {
  const mods = board();
  const page = portalRig({ ...OPEN_PORTAL, mods: mods.mods }).post("/mod/remove", {});
  assert.equal(page.status, 200);
  assert.match(page.body, /<p id=status>Restarting without app 1\.0\.0…<\/p>/);
  mods.clock.advance(500);
  assert.equal(mods.system.restarts, 1);
  assert.equal(mods.boot(), "none");
  assert.equal(new ModStore(mods.store).load().xs, null);
  const web = portalRig({ ...OPEN_PORTAL, mods: mods.mods });
  assert.deepEqual(JSON.parse(web.get("/api/status").body).lastModUpdate, { name: "app", version: "1.0.0", result: "removed" });
  const api = web.post("/api/mod/remove", {});
  assert.deepEqual([api.status, JSON.parse(api.body)], [409, { ok: false, error: "No app mod is installed" }]);
  assert.equal(web.post("/mod/remove", {}).status, 409);
  const bare = portalRig(OPEN_PORTAL);
  assert.deepEqual(JSON.parse(bare.post("/api/mod/remove", {}).body), { ok: false, error: "This board's firmware does not take app mods" });
  assert.equal(bare.post("/api/mod/rollback", {}).status, 404);
  // not while an update runs
  const busy = portalRig({ ...OPEN_PORTAL, mods: board().mods });
  busy.updater.state = { ...busy.updater.state, phase: "downloading" };
  assert.deepEqual(JSON.parse(busy.post("/api/mod/remove", {}).body), { ok: false, error: "An update is running; cancel it first" });
  busy.updater.state = { ...busy.updater.state, phase: "done" };
  assert.deepEqual(JSON.parse(busy.post("/api/mod/remove", {}).body), { ok: false, error: "An update is installed; the board is restarting" });
  assert.doesNotMatch(busy.get("/").body, /id=mod-remove/);
});

test("the mod actions are guarded like Go back: the portal password (401), same-origin posts (403)", () => {
  const mods = board("ok");
  const web = portalRig({ ...OPEN_PORTAL, mods: mods.mods });
  for (const path of ["/mod/remove", "/api/mod/remove", "/mod/rollback", "/api/mod/rollback"]) {
    assert.equal(web.post(path, {}, { headers: { origin: "http://evil.example" } }).status, 403, path);
  }
  setPassword(web.store, "s3cret-pass");
  for (const path of ["/mod/remove", "/api/mod/remove", "/mod/rollback", "/api/mod/rollback"]) {
    const r = web.post(path, {});
    assert.equal(r.status, 401, path);
    assert.match(header(r, "www-authenticate") ?? "", /^Basic realm=/);
  }
  mods.clock.advance(10_000);
  assert.equal(mods.system.restarts, 0, "nothing was done");
  const ok = web.post("/api/mod/rollback", {}, { headers: { authorization: basicHeader("admin", "s3cret-pass") } });
  assert.deepEqual(JSON.parse(ok.body), { ok: true, name: "app", version: "1.0.0" });
});

/** The portal over the real engine on a board hosting mods. */
function engineBoard(o: { signingKeys?: string[] } = {}) {
  const mods = new ModRig();
  mods.boot();
  const rig: Rig = createRig({ route: [], mods, signingKeys: o.signingKeys });
  const wifi = new FakeWifi({ connected: true, stationSsid: "lab", stationAddress: "192.168.1.57" });
  const portal = createPortal({ ...OPEN_PORTAL, updater: rig.updater, boot: rig.boot, device: rig.device, wifi, store: rig.store, system: rig.system, clock: rig.clock, portalHost: "192.168.4.1", mods: mods.mods });
  const route = (headers: Record<string, string>) => portal.bodyRouter(request("POST", "/update/mod", { headers: { "content-type": "application/octet-stream", ...headers } }));
  return { mods, rig, portal, route };
}

function streamed(routed: ReturnType<ReturnType<typeof engineBoard>["route"]>): PortalBodySink {
  if (!routed || !("stream" in routed)) throw new Error(`not streamed: ${JSON.stringify(routed)}`);
  return routed.stream;
}

function responded(routed: ReturnType<ReturnType<typeof engineBoard>["route"]>): PortalResponse {
  if (!routed || !("respond" in routed)) throw new Error("expected an answer without the body");
  return routed.respond;
}

function send(sink: PortalBodySink, bytes: Uint8Array): PortalResponse {
  for (let i = 0; i < bytes.length; i += 4096) sink.write(bytes.subarray(i, i + 4096));
  return sink.end();
}

test("POST /update/mod: 202 once the body is in, then the mod is staged and the board switches to it", () => {
  const { mods, rig, route } = engineBoard();
  const r = send(streamed(route({ "content-length": String(V1.length), "x-md5": md5Hex(V1).toUpperCase(), "x-filename": "app-1.0.0.xsa" })), V1);
  assert.deepEqual([r.status, JSON.parse(r.body)], [202, { ok: true }]);
  rig.clock.advance(0);
  const p = rig.updater.progress();
  assert.equal(p.phase, "done", p.error);
  assert.deepEqual([p.kind, p.target], ["mod", "app-1.0.0.xsa (app mod)"]);
  rig.clock.advance(3000);
  assert.equal(mods.system.restarts, 1);
  assert.equal(mods.boot(), "run");
  assert.equal(mods.mods.installed(), "app@1.0.0");
});

test("POST /update/mod: 411, 415, 413, 409, 401, 422 as for /update/upload; 404 on a board without mods", () => {
  const { mods, route, portal, rig } = engineBoard();
  const unsized = responded(route({ "content-length": "abc" }));
  assert.equal(unsized.status, 411);
  assert.match(JSON.parse(unsized.body).error, /Send the mod with its size/);
  assert.equal(responded(route({ "content-length": "100", "content-type": "multipart/form-data; boundary=x" })).status, 415);
  const big = responded(route({ "content-length": "20000" }));
  assert.deepEqual([big.status, JSON.parse(big.body)], [413, { ok: false, error: "Mod is 19.5 KB, the mod partition holds 16 KB" }]);
  // the body itself refused on the way: a firmware image is no mod (nothing erased)
  const image = buildImage({ size: 9000, seed: 5 });
  const refused = send(streamed(route({ "content-length": String(image.length) })), image);
  assert.deepEqual([refused.status, JSON.parse(refused.body)], [422, { ok: false, error: "Not a mod: this is a firmware image (install it as a firmware update)" }]);
  assert.equal(mods.flash.power.ops, 0);
  // busy: another upload is running
  const first = streamed(route({ "content-length": String(V1.length) }));
  first.write(V1.subarray(0, 100));
  const busy = responded(route({ "content-length": String(V1.length) }));
  assert.deepEqual([busy.status, JSON.parse(busy.body)], [409, { ok: false, error: "An update is already running" }]);
  first.abort("gone");
  setPassword(rig.store, "s3cret-pass");
  assert.equal(responded(route({ "content-length": "100" })).status, 401);
  assert.equal(portal(request("POST", "/update/mod", { headers: { "content-length": "0" } })).status, 401);
  // signed-only: refused at once without its .sig
  const signed = engineBoard({ signingKeys: [testKey(1).config] });
  const unsigned = responded(signed.route({ "content-length": String(V1.length) }));
  assert.equal(unsigned.status, 422);
  assert.match(JSON.parse(unsigned.body).error, /the mod has no signature \(send its \.sig file, base64, in x-Firmware-Signature\)/);
  // no mods: 404 from the updater, through the same route code
  const bare = portalRig(OPEN_PORTAL);
  const rigNoMods = createRig({ route: [] });
  const portalNoMods = createPortal({ ...OPEN_PORTAL, ...bare.deps, updater: rigNoMods.updater });
  const none = portalNoMods.bodyRouter(request("POST", "/update/mod", { headers: { "content-length": "100" } }));
  assert.deepEqual(none && "respond" in none ? [none.respond.status, JSON.parse(none.respond.body)] : [], [404, { ok: false, error: "This board's firmware does not take app mods" }]);
});

const mod = (i: number, extra: Partial<CatalogEntry> = {}): CatalogEntry => ({ name: `sensor-app-${i}.xsa`, kind: "mod", date: "11/22/26", time: "10:55:15", size: 6000 + i, version: `1.${i}.0`, ...extra });
const fw = (i: number): CatalogEntry => ({ name: `firmware-${i}.bin`, date: "11/22/26", time: "10:55:15", size: 1500000 + i, version: `2.${i}.0` });

test("UPDATE page: app mods in their own part of the list (#mods, .mod-row) with version, size and why one is refused; the upload takes .xsa", () => {
  const web = portalRig({ ...OPEN_PORTAL, mods: new ModRig().mods });
  web.updater.catalogState = { state: "ready", entries: [mod(1), fw(1), mod(2, { disabled: "Mod built for XS 16.7; this board's firmware has XS 17.7: rebuild it with this firmware's SDK" }), fw(2)] };
  const page = web.get("/update?cached=1").body;
  const list = /<form id=update-form[^]*?<\/form>/.exec(page)?.[0] ?? "";
  assert.match(list, /^<form id=update-form method=post action="\/update"><ul class=list><li><label><input type=radio name=fw value="firmware-1\.bin" required>/);
  const mods = /<div id=mods><h3>App mods<\/h3><ul class=list>(.*?)<\/ul><\/div>/.exec(list)?.[1] ?? "";
  assert.equal(mods.split("<li").length - 1, 2);
  assert.match(mods, /^<li class=mod-row><label><input type=radio name=fw value="sensor-app-1\.xsa"><span><b>sensor-app-1\.xsa<\/b><br><span class=meta>11\/22\/26 10:55 · 5\.9 KB · v1\.1\.0<\/span>/);
  assert.match(mods, /<li class="mod-row off"><label><input type=radio name=fw value="sensor-app-2\.xsa" disabled>.*<span class=why>Mod built for XS 16\.7; this board&#39;s firmware has XS 17\.7/);
  assert.ok(list.indexOf("firmware-2.bin") < list.indexOf("id=mods"), "firmware first");
  assert.match(page, /<label for=upload-file>Firmware \(\.bin\) or app mod \(\.xsa\)<\/label><input type=file id=upload-file name=file accept="\.bin,\.xsa,application\/octet-stream" required>/);
  // the script sends a .xsa to /update/mod, anything else to /update/upload
  assert.ok(UPLOAD_SCRIPT.includes("fetch(/\\.xsa$/i.test(f.name)?'/update/mod':'/update/upload',"));
  // a mod row as AutoConnect's listing gives it (no date, time or size), with and without our server's facts: no empty parts
  web.updater.catalogState = { state: "ready", entries: [mod(3, { date: "", time: "", size: 3291 }), mod(4, { date: "", time: "", size: undefined, version: undefined })] };
  const bare = web.get("/update?cached=1").body;
  assert.match(bare, /<b>sensor-app-3\.xsa<\/b><br><span class=meta>3\.2 KB · v1\.3\.0<\/span>/);
  assert.match(bare, /<b>sensor-app-4\.xsa<\/b><br><span class=meta><\/span>/);
  // a catalog with mods only
  web.updater.catalogState = { state: "ready", entries: [mod(1)] };
  assert.match(web.get("/update?cached=1").body, /<form id=update-form method=post action="\/update"><div id=mods>.*required>.*<button id=update-btn>UPDATE<\/button>/);
  // POST /update fw=<name>.xsa goes to the updater like a firmware
  assert.equal(web.post("/update", { fw: "sensor-app-1.xsa" }).status, 303);
  assert.deepEqual(web.updater.calls.slice(-1), ["start sensor-app-1.xsa"]);
});

test("UPDATE page: with 64 firmware and mod rows, long reasons and names, every page stays under the page budget", () => {
  const web = portalRig({ ...OPEN_PORTAL, mods: new ModRig().mods });
  const reason = "Too large: Mod is 39.1 KB, the mod partition holds 16 KB; Signed updates only: the mod has no signature";
  web.updater.catalogState = {
    state: "ready",
    entries: Array.from({ length: 64 }, (_, i) => (i % 2 ? mod(i, { name: `${"<".repeat(40)}-${i}.xsa`, version: "&".repeat(31), disabled: i % 4 === 1 ? reason : undefined }) : fw(i))),
  };
  web.updater.state = { phase: "downloading", target: "x.xsa (app mod)", received: 1, total: 2, rate: 1, resumes: 0, kind: "mod" };
  let listed = 0;
  for (let from = 0, pages = 0; pages < 10; pages++) {
    const page = web.get(`/update?cached=1&from=${from}`).body;
    assert.ok(utf8Length(page) <= 8100, `page from ${from} is ${utf8Length(page)} bytes`);
    listed += page.split("<li").length - 1;
    const next = /id=catalog-next href="\/update\?cached=1&amp;from=(\d+)"/.exec(page);
    if (!next) break;
    from = Number(next[1]);
  }
  assert.equal(listed, 64, "every row is on some page");
  assert.match(web.get("/update?cached=1&from=40").body, /class="mod-row off"/);
});

test("/api/progress says kind mod; the progress page's script judges a mod by /api/status mod and lastModUpdate", () => {
  const web = portalRig({ ...OPEN_PORTAL, mods: new ModRig().mods });
  web.updater.state = { phase: "done", target: "app.xsa (app mod)", received: 10, total: 10, rate: 0, resumes: 0, kind: "mod" };
  assert.equal(JSON.parse(web.get("/api/progress").body).kind, "mod");
  const page = web.get("/progress").body;
  assert.match(page, /"mod":1/);
  assert.match(page, /j\.lastModUpdate/);
  assert.match(page, /<p id=result class=ok>app\.xsa \(app mod\) successfully updated\. Restarting…<\/p>/);
});

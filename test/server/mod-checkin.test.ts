// The advanced updater offers a Moddable mod (docs/mods.md): a board whose
// firmware is current (the 304 decision), that sends x-Ota-Mod-Host with the
// XS major.minor its target's mod was built for and does not already run that
// mod (x-Ota-Mod), gets 200 with the .xsa, x-MD5 and x-Ota-Kind: mod. A board
// without x-Ota-Mod-Host gets exactly what it got before, byte for byte: the
// ESP8266 captures of shared/fixtures/esp8266-httpupdate-request*.http are
// sent to a server whose rules name a mod and to one whose rules do not.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseRules, RulesError } from "../../server/rules";
import { buildImage } from "../../tools/esp-image";
import { demoMod } from "../../tools/xs-archive";
import { signImage, testKey } from "../fakes/signature";
import { esp32Headers, esp8266Image, fixtureRequest, MAC_A, rawRequest, requestText, start, type RawResponse, type Running } from "./helpers";

const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");

const app = Buffer.from(buildImage({ version: "1.1.0", size: 60_000 }));
const esp8266 = esp8266Image(50_000);
const hello = Buffer.from(demoMod("hello", "1.0.0"));
const otherXs = Buffer.from(demoMod("hello", "2.0.0", { xs: { major: 16, minor: 3, patch: 0 } }));
const bare = Buffer.from(demoMod("bare", "3.0.0"));

const rulesText = (withMods: boolean) => `
default: { firmware: esp32/app.bin, chip: esp32${withMods ? ", mod: mods/hello-1.0.0.xsa" : ""} }
devices:
  "${MAC_A}": { firmware: esp8266/app.bin, chip: esp8266, version: "1.0.0"${withMods ? ", mod: mods/hello-1.0.0.xsa" : ""} }
  "24:6F:28:AA:BB:10": { firmware: esp32/app.bin${withMods ? ", mod: mods/hello-2.0.0-xs16.xsa" : ""} }
  "24:6F:28:AA:BB:11": { firmware: esp32/app.bin${withMods ? ", mod: mods/missing.xsa" : ""} }
  "24:6F:28:AA:BB:12": { firmware: esp32/app.bin${withMods ? ", mod: mods/text.xsa" : ""} }
  "24:6F:28:AA:BB:13": ${withMods ? "{ mod: mods/bare.xsa }" : "{ filesystem: fs/none.bin }"}
`;

async function catalog(dir: string): Promise<void> {
  for (const d of ["esp32", "esp8266", "mods"]) await mkdir(join(dir, d));
  await writeFile(join(dir, "esp32", "app.bin"), app);
  await writeFile(join(dir, "esp8266", "app.bin"), esp8266);
  await writeFile(join(dir, "mods", "hello-1.0.0.xsa"), hello);
  await writeFile(join(dir, "mods", "hello-1.0.0.xsa.sig"), signImage(new Uint8Array(app), testKey(1)));
  await writeFile(join(dir, "mods", "hello-2.0.0-xs16.xsa"), otherXs);
  await writeFile(join(dir, "mods", "bare.xsa"), bare);
  await writeFile(join(dir, "mods", "text.xsa"), "no archive\n");
  // Both catalogs' files the same Last-Modified, so the two servers' answers can be compared whole.
  const when = new Date("2026-11-22T10:55:15Z");
  for (const f of ["esp32/app.bin", "esp8266/app.bin"]) await utimes(join(dir, f), when, when);
}

/** A response without what differs between two runs anyway (Date). */
const wire = (r: RawResponse) => ({ status: r.status, reason: r.reason, headers: r.rawHeaders.filter(([k]) => k.toLowerCase() !== "date"), body: r.body.toString("base64") });

describe("check-in offers a mod", () => {
  let server: Running;
  let plain: Running; // the same catalog, rules without any mod
  before(async () => {
    server = await start({ rules: parseRules(rulesText(true), "yaml") });
    plain = await start({ rules: parseRules(rulesText(false), "yaml") });
    await catalog(server.dir);
    await catalog(plain.dir);
  });
  after(async () => {
    await server.close();
    await plain.close();
  });

  const current = (extra: Record<string, string> = {}) => esp32Headers({ "x-ESP32-sketch-md5": md5(app), ...extra });
  const ask = (headers: Record<string, string>, method = "GET", on = server) => rawRequest(on.port, requestText("/update", headers, method), method === "HEAD");
  const logged = (msg: string) => server.logs.filter((l) => l.msg === msg);

  test("the ESP8266 captures, without x-Ota-Mod-Host: the very same answers as with rules that name no mod", async () => {
    for (const name of ["esp8266-httpupdate-request.http", "esp8266-httpupdate-request-noversion.http"]) {
      const withMod = await rawRequest(server.port, await fixtureRequest(name, "/update", server.port));
      const without = await rawRequest(plain.port, await fixtureRequest(name, "/update", plain.port));
      assert.deepEqual(wire(withMod), wire(without), name);
    }
    const r = await rawRequest(server.port, await fixtureRequest("esp8266-httpupdate-request.http", "/update", server.port));
    assert.equal(r.status, 304, "the capture with the rule's version: current");
  });

  test("the capture with the rule's version plus x-Ota-Mod-Host: the mod; without a version (firmware due): the firmware, never the mod", async () => {
    const add = (lines: string[]) => [...lines, "x-Ota-Mod-Host: 17.7", "x-Ota-Mod: "];
    const mod = await rawRequest(server.port, await fixtureRequest("esp8266-httpupdate-request.http", "/update", server.port, add));
    assert.equal(mod.status, 200);
    assert.ok(mod.body.equals(hello));
    assert.equal(mod.headers["x-ota-kind"], "mod");
    const fw = await rawRequest(server.port, await fixtureRequest("esp8266-httpupdate-request-noversion.http", "/update", server.port, add));
    assert.equal(fw.status, 200);
    assert.ok(fw.body.equals(esp8266));
    assert.equal(fw.headers["x-ota-kind"], undefined);
  });

  test("an ESP32 board without x-Ota-Mod-Host: as before (304 when current, the image when not)", async () => {
    for (const headers of [current(), esp32Headers(), current({ "x-Ota-Mod": "" })]) assert.deepEqual(wire(await ask(headers)), wire(await ask(headers, "GET", plain)));
  });

  test("current firmware, a mod host of the mod's XS, no mod running: 200 with the .xsa, its x-MD5, x-Ota-Kind, Content-Length and its .sig", async () => {
    const r = await ask(current({ "x-Ota-Mod-Host": "17.7", "x-Ota-Mod": "" }));
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(hello));
    assert.equal(r.headers["content-type"], "application/octet-stream");
    assert.equal(r.headers["content-length"], String(hello.length));
    assert.equal(r.headers["x-md5"], md5(r.body));
    assert.ok(r.rawHeaders.some(([k, v]) => k === "x-Ota-Kind" && v === "mod"), "x-Ota-Kind spelled as documented");
    assert.equal(r.headers["x-firmware-signature"], Buffer.from(signImage(new Uint8Array(app), testKey(1))).toString("base64"), "the .sig beside it, as for an image");
    assert.equal(logged("updater: sending mod").length > 0, true);
    // One answer per request: the handler ends with the mod, no 304 tried after it (Fastify logs that attempt).
    assert.deepEqual(server.logs.filter((l) => /already sent/.test(String(l.msg))), []);
    assert.equal(server.logs.filter((l) => (l.res as { statusCode?: number } | undefined)?.statusCode === 200 && l.msg === "request completed").length > 0, true);
  });

  test("a board already running that mod (name@version): 304; another version of it: the mod", async () => {
    assert.equal((await ask(current({ "x-Ota-Mod-Host": "17.7", "x-Ota-Mod": "hello@1.0.0" }))).status, 304);
    const r = await ask(current({ "x-Ota-Mod-Host": "17.7", "x-Ota-Mod": "hello@0.9.0" }));
    assert.equal(r.status, 200);
    assert.equal(r.headers["x-ota-kind"], "mod");
  });

  test("a host of another XS version: 304, and the log says why", async () => {
    const r = await ask(current({ "x-Ota-Mod-Host": "17.6", "x-Ota-Mod": "" }));
    assert.equal(r.status, 304);
    const line = logged("updater: mod not offered: built for another XS version than the board's").at(-1);
    assert.equal(line?.modXs, "17.7");
    assert.equal(line?.hostXs, "17.6");
    // A mod built for 16.3 is not offered to a 17.7 host, whatever it runs.
    assert.equal((await ask(current({ "x-ESP32-STA-MAC": "24:6F:28:AA:BB:10", "x-ESP32-BASE-MAC": "24:6F:28:AA:BB:10", "x-Ota-Mod-Host": "17.7" }))).status, 304);
    assert.equal((await ask(current({ "x-ESP32-STA-MAC": "24:6F:28:AA:BB:10", "x-ESP32-BASE-MAC": "24:6F:28:AA:BB:10", "x-Ota-Mod-Host": "16.3" }))).status, 200);
  });

  test("an unreadable x-Ota-Mod-Host is as if it were not sent", async () => {
    for (const host of ["17", "17.7.0", "seventeen", ""]) assert.equal((await ask(current({ "x-Ota-Mod-Host": host }))).status, 304, host);
    assert.ok(logged("updater: unreadable mod headers ignored").length > 0);
  });

  test("a rule's mod that is missing or no mod archive: 304 as before, and an error in the log", async () => {
    for (const [mac, msg] of [
      ["24:6F:28:AA:BB:11", "updater: rule names an unavailable mod"],
      ["24:6F:28:AA:BB:12", "updater: rule's mod is no valid mod archive"],
    ]) {
      const r = await ask(current({ "x-ESP32-STA-MAC": mac, "x-ESP32-BASE-MAC": mac, "x-Ota-Mod-Host": "17.7" }));
      assert.equal(r.status, 304, mac);
      assert.ok(logged(msg).length > 0, msg);
      assert.ok(!r.head.includes(server.dir));
    }
  });

  test("a firmware update always goes first", async () => {
    const r = await ask(esp32Headers({ "x-Ota-Mod-Host": "17.7", "x-Ota-Mod": "" }));
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(app));
    assert.equal(r.headers["x-ota-kind"], undefined);
  });

  test("a target with only a mod: 304 for a board that hosts none, the mod for one that does", async () => {
    const mac = "24:6F:28:AA:BB:13";
    const h = (extra: Record<string, string>) => esp32Headers({ "x-ESP32-STA-MAC": mac, "x-ESP32-BASE-MAC": mac, ...extra });
    assert.equal((await ask(h({}))).status, 304);
    const r = await ask(h({ "x-Ota-Mod-Host": "17.7", "x-Ota-Mod": "hello@1.0.0" }));
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(bare));
    assert.equal((await ask(h({ "x-Ota-Mod-Host": "17.7", "x-Ota-Mod": "bare@3.0.0" }))).status, 304);
    assert.equal((await ask(h({ "x-ESP32-mode": "littlefs", "x-Ota-Mod-Host": "17.7" }))).status, 304, "never for a filesystem check-in");
  });

  test("a version query and a HEAD: the version answer is unchanged; HEAD has the mod's head and no body", async () => {
    const v = await ask(current({ "x-ESP32-mode": "version", "x-Ota-Mod-Host": "17.7" }));
    assert.deepEqual(wire(v), wire(await ask(current({ "x-ESP32-mode": "version" }), "GET", plain)));
    const head = await ask(current({ "x-Ota-Mod-Host": "17.7" }), "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.headers["x-ota-kind"], "mod");
    assert.equal(head.headers["content-length"], String(hello.length));
    assert.equal(head.body.length, 0);
  });
});

describe("rules: the mod key", () => {
  test("a catalog-relative .xsa on a default, group or device target", () => {
    const rules = parseRules(`default: { firmware: a.bin, mod: m/app.xsa }\ngroups:\n  g: { mod: m/g.XSA, members: ["${MAC_A}"] }\n`, "yaml");
    assert.equal(rules.fallback?.mod, "m/app.xsa");
    assert.equal(rules.groups.get("g")?.mod, "m/g.XSA");
  });
  test("refused: not an .xsa, outside the catalog, hidden", () => {
    assert.throws(() => parseRules("default: { firmware: a.bin, mod: m/app.bin }", "yaml"), RulesError);
    assert.throws(() => parseRules("default: { firmware: a.bin, mod: ../app.xsa }", "yaml"), RulesError);
    assert.throws(() => parseRules("default: { firmware: a.bin, mod: .m/app.xsa }", "yaml"), RulesError);
  });
});

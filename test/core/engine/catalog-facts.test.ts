// Wrong-chip entries shown disabled: after the compatibility catalog, the
// updater asks our server's GET /api/catalog?path=P for each image's chip and
// version. Any failure of that request (AutoConnect's updateserver.py has no
// such route) must leave the catalog exactly as before, with no error.
//
// Catalog rows have the shape of AutoConnect's updateserver.py answer
// (/work/shared/fixtures/autoconnect-updateserver-catalog-response.http); the
// chip-list rows have the shape server/catalog-api.ts sends (test/server/catalog-api.test.ts).
import { test, assert } from "../../harness/t";
import type { HttpRequest } from "../../../modules/core/ports";
import type { CatalogEntry } from "../../../modules/core/updater-api";
import { utf8Encode } from "../../../modules/core/bytes";
import { checkImageHeader } from "../../../modules/core/engine/preflight";
import { factsPath, toFact } from "../../../modules/core/engine/catalog-facts";
import { createPortal } from "../../../modules/core/portal/portal";
import { createRig, type Rig, type RigOptions } from "../../fakes/rig";
import type { ScriptedResponse } from "../../fakes/http";
import { buildImage } from "../../fakes/image";
import { FakeWifi } from "../../fakes/wifi";
import { OPEN_PORTAL, portalRig, request } from "../../fakes/portal-client";
import { utf8Length } from "../../../modules/core/portal/form";

const json = (text: string, extra: Partial<ScriptedResponse> = {}): ScriptedResponse => ({
  status: 200,
  headers: [["Content-Type", "application/json"], ["Content-Length", String(utf8Encode(text).length)]],
  body: utf8Encode(text),
  ...extra,
});

const CATALOG =
  '[{"name": "fw-1.1.0.bin", "type": "bin", "date": "11/22/26", "time": "10:55:15", "size": 40000}, ' +
  '{"name": "fw-s3-2.0.0.bin", "type": "bin", "date": "11/22/26", "time": "10:56:00", "size": 50000}, ' +
  '{"name": "big-s3.bin", "type": "bin", "date": "11/22/26", "time": "10:57:00", "size": 3000000}, ' +
  '{"name": "readme.txt", "type": "file", "date": "11/22/26", "time": "10:58:00", "size": 10}]';

const FACTS =
  '[{"name":"big-s3.bin","chip":"ESP32-S3","chipId":9,"version":"9.9.9"},' +
  '{"name":"fw-1.1.0.bin","chip":"ESP32","chipId":0,"version":"1.1.0"},' +
  '{"name":"fw-s3-2.0.0.bin","chip":"ESP32-S3","chipId":9,"version":"2.0.0"}]';

/** What the catalog alone gives (the 1 MB slot makes big-s3.bin too large). */
const PLAIN: CatalogEntry[] = [
  { name: "fw-1.1.0.bin", date: "11/22/26", time: "10:55:15", size: 40000 },
  { name: "fw-s3-2.0.0.bin", date: "11/22/26", time: "10:56:00", size: 50000 },
  { name: "big-s3.bin", date: "11/22/26", time: "10:57:00", size: 3000000, disabled: "Too large: 2.9 MB, the update partition holds 1 MB" },
];

/** Pre-flight's own wording for an ESP32-S3 header on an ESP32 board. */
const S3_ON_ESP32 = checkImageHeader(buildImage({ size: 24, chipId: 9 }), 0);

function rigWith(facts: ScriptedResponse, extra: Partial<RigOptions> = {}, catalog = CATALOG): Rig {
  return createRig({
    route: (r: HttpRequest) =>
      r.path.startsWith("/_catalog") ? json(catalog) : r.path.startsWith("/api/catalog") ? facts : { status: 500, headers: [["Content-Length", "0"]] },
    ...extra,
  });
}

async function loaded(facts: ScriptedResponse, extra: Partial<RigOptions> = {}): Promise<Rig> {
  const rig = rigWith(facts, extra);
  rig.updater.loadCatalog();
  await rig.settle();
  return rig;
}

test("pre-flight's wrong-chip wording is the one the list uses", () => {
  assert.equal(S3_ON_ESP32, "Image is for ESP32-S3, this board is ESP32");
});

test("one extra request, GET /api/catalog?path=P on the same server, after the catalog", async () => {
  const rig = await loaded(json(FACTS));
  assert.equal(rig.http.requests.length, 2);
  const r = rig.http.requests[1];
  assert.deepEqual([r.host, r.port, r.path, r.method ?? "GET"], ["192.168.4.2", 8000, "/api/catalog?path=.", "GET"]);
  assert.equal(rig.http.header(1, "Accept"), "application/json");
  // updateserver.py fails the connection on a request without one (it has no /api/catalog)
  assert.equal(rig.http.header(1, "User-Agent"), "ESP32HTTPClient");
  assert.equal(factsPath("bin/esp32"), "/api/catalog?path=bin/esp32");
  assert.equal(factsPath("my fw"), "/api/catalog?path=my%20fw");
  assert.equal(factsPath(""), "/api/catalog?path=.");
});

test("an ESP32-S3 entry is shown disabled with the reason; versions are added", async () => {
  const rig = await loaded(json(FACTS, { chunkSize: 13 }));
  assert.deepEqual(rig.updater.catalog(), {
    state: "ready",
    entries: [
      { ...PLAIN[0], version: "1.1.0" },
      { ...PLAIN[1], version: "2.0.0", disabled: S3_ON_ESP32 },
      { ...PLAIN[2], version: "9.9.9", disabled: `Too large: 2.9 MB, the update partition holds 1 MB; ${S3_ON_ESP32}` },
    ],
  });
  assert.equal(rig.updater.start("fw-s3-2.0.0.bin"), S3_ON_ESP32);
  assert.equal(rig.http.requests.length, 2, "a disabled entry is never fetched");
  assert.equal(rig.updater.start("fw-1.1.0.bin"), undefined, "the ESP32 entry still installs");
});

test("too large and for another chip: both reasons, too-large first; it cannot be started", async () => {
  const rig = await loaded(json(FACTS));
  const state = rig.updater.catalog();
  assert.ok(state.state === "ready");
  const big = state.entries.find((e) => e.name === "big-s3.bin");
  assert.equal(big?.disabled, "Too large: 2.9 MB, the update partition holds 1 MB; Image is for ESP32-S3, this board is ESP32");
  assert.equal(rig.updater.start("big-s3.bin"), big?.disabled);
});

test("on an ESP32-S3 board the ESP32 builds are the disabled ones", async () => {
  const rig = await loaded(json(FACTS), { device: { chipId: 9 } });
  const state = rig.updater.catalog();
  assert.ok(state.state === "ready");
  assert.deepEqual(
    state.entries.map((e) => e.disabled),
    ["Image is for ESP32, this board is ESP32-S3", undefined, "Too large: 2.9 MB, the update partition holds 1 MB"],
  );
});

test("the catalog stays 'loading' until the chip list is in; a silent server is waited for 8 s, then ignored", async () => {
  const rig = rigWith({ silent: true });
  rig.updater.loadCatalog();
  await rig.settle();
  assert.equal(rig.http.requests.length, 2);
  assert.deepEqual(rig.updater.catalog(), { state: "loading" });
  rig.clock.advance(7999);
  assert.deepEqual(rig.updater.catalog(), { state: "loading" });
  rig.clock.advance(1);
  assert.deepEqual(rig.updater.catalog(), { state: "ready", entries: PLAIN });
  assert.equal(rig.http.aborts, 1, "the silent request is closed");
});

test("any failure of the chip list leaves the catalog exactly as before, with no error", async () => {
  const many = `[${Array.from({ length: 65 }, (_, i) => `{"name":"f${i}.bin","chipId":9}`).join(",")}]`;
  const huge = `[${Array.from({ length: 300 }, () => '{"name":"fw-s3-2.0.0.bin","chip":"ESP32-S3","chipId":9,"version":"2.0.0"}').join(",")}]`;
  const failures: [string, ScriptedResponse][] = [
    ["404 (updateserver.py)", { status: 404, headers: [["Content-Length", "9"]], body: utf8Encode("Not Found") }],
    ["500", json(FACTS, { status: 500 })],
    ["403", json('{"error": "Forbidden"}', { status: 403 })],
    ["an HTML page", json("<!DOCTYPE html><html>captive portal</html>")],
    ["an object, not an array", json('{"name":"fw-s3-2.0.0.bin","chipId":9}')],
    ["a broken row", json('[{"name":"fw-s3-2.0.0.bin","chipId":9},{"name":]')],
    ["an empty body", json("")],
    ["more than 64 rows", json(many)],
    ["over 16 KB", json(huge)],
    ["a row over 256 bytes", json(`[{"name":"fw-s3-2.0.0.bin","chipId":9,"note":"${"x".repeat(300)}"}]`)],
    ["connection refused", { refuse: "ECONNREFUSED" }],
    ["connection dropped mid-body", json(FACTS, { cut: { at: 60, how: "drop" } })],
    ["body cut short", json(FACTS, { cut: { at: 60, how: "end" } })],
  ];
  for (const [what, response] of failures) {
    const rig = await loaded(response);
    assert.deepEqual(rig.updater.catalog(), { state: "ready", entries: PLAIN }, what);
    assert.equal(rig.updater.start("fw-s3-2.0.0.bin"), undefined, `${what}: pre-flight is then the guard`);
  }
});

test("a chip list that stalls mid-body is given up after 8 s without a byte", async () => {
  const rig = rigWith(json(FACTS, { cut: { at: 60, how: "stall" } }));
  rig.updater.loadCatalog();
  await rig.settle();
  assert.deepEqual(rig.updater.catalog(), { state: "loading" });
  rig.clock.advance(8000);
  assert.deepEqual(rig.updater.catalog(), { state: "ready", entries: PLAIN });
});

test("rows for unknown names, repeated names and fields of the wrong type are ignored", async () => {
  const facts =
    '[{"name":"fw-1.1.0.bin","chipId":"9","version":2},' +
    '{"name":"fw-s3-2.0.0.bin","chip":"ESP32-S3"},' +
    '{"name":"gone.bin","chipId":9},' +
    '{"name":"big-s3.bin","chipId":0,"version":"3.0.0"},{"name":"big-s3.bin","chipId":9},' +
    '{"chipId":9},{"name":"","chipId":9}]';
  const rig = await loaded(json(facts));
  assert.deepEqual(rig.updater.catalog(), { state: "ready", entries: [PLAIN[0], PLAIN[1], { ...PLAIN[2], version: "3.0.0" }] });
  assert.deepEqual(toFact({ name: "a.bin", chipId: 9.5, version: "x".repeat(33) }), { name: "a.bin" });
  assert.deepEqual(toFact({ name: "a.bin", chipId: 0x10000 }), { name: "a.bin" });
  assert.deepEqual(toFact({ name: "a.bin", chipId: 13, version: "1.0" }), { name: "a.bin", chipId: 13, version: "1.0" });
});

test("a catalog folder is asked for in the chip list too", async () => {
  const rig = rigWith(json(FACTS), { defaults: { host: "10.0.0.7", port: 8080, path: "bin/esp32" } });
  rig.updater.loadCatalog();
  await rig.settle();
  assert.deepEqual(rig.http.requests.map((r) => r.path), ["/_catalog?op=list&path=bin/esp32", "/api/catalog?path=bin/esp32"]);
  assert.equal(rig.http.requests[1].host, "10.0.0.7");
  const state = rig.updater.catalog();
  assert.ok(state.state === "ready");
  assert.equal(state.entries[1].disabled, S3_ON_ESP32);
});

test("no chip list is asked for when the catalog itself fails", async () => {
  const rig = createRig({ route: [{ status: 404, headers: [["Content-Length", "0"]] }] });
  rig.updater.loadCatalog();
  await rig.settle();
  assert.deepEqual(rig.updater.catalog(), { state: "error", error: "Server answered 404 Not Found" });
  assert.equal(rig.http.requests.length, 1);
});

test("saving another server while the chip list loads drops it; a late answer changes nothing", async () => {
  const rig = rigWith({ silent: true });
  rig.updater.loadCatalog();
  await rig.settle();
  assert.equal(rig.updater.saveSettings({ host: "192.168.4.9", port: 8000, path: "." }), undefined);
  assert.deepEqual(rig.updater.catalog(), { state: "idle" });
  assert.equal(rig.http.aborts, 1);
  rig.clock.advance(60_000);
  assert.deepEqual(rig.updater.catalog(), { state: "idle" });
});

test("the UPDATE page shows the version in the meta line and the chip reason under a disabled row, escaped", async () => {
  const facts =
    '[{"name":"fw-1.1.0.bin","chipId":0,"version":"<img src=x onerror=alert(1)>"},' +
    '{"name":"fw-s3-2.0.0.bin","chip":"ESP32-S3","chipId":9,"version":"2.0.0"}]';
  const rig = await loaded(json(facts));
  const wifi = new FakeWifi({ connected: true, stationSsid: "lab", stationAddress: "192.168.1.57" });
  const portal = createPortal({ ...OPEN_PORTAL, updater: rig.updater, boot: rig.boot, device: rig.device, wifi, store: rig.store, system: rig.system, clock: rig.clock, portalHost: "192.168.4.1" });
  const page = portal(request("GET", "/update?cached=1")).body;
  assert.match(page, /<span class=meta>11\/22\/26 10:56 · 48\.8 KB · v2\.0\.0<\/span>/);
  assert.match(page, /value="fw-s3-2\.0\.0\.bin" disabled>.*<span class=why>Image is for ESP32-S3, this board is ESP32<\/span>/);
  assert.match(page, /· &lt;img src=x onerror=alert\(1\)&gt;<\/span>/);
  assert.doesNotMatch(page, /<img/);
  const posted = portal(request("POST", "/api/update", { body: "fw=fw-s3-2.0.0.bin" }));
  assert.equal(posted.status, 409);
  assert.equal(JSON.parse(posted.body).error, S3_ON_ESP32);
  assert.equal(rig.flash.writer.begins, 0);
  assert.ok(rig.flash.untouched());
});

test("UPDATE pages stay under 8 KB with versions and chip reasons on every row; paging still reaches every entry once", () => {
  const LIMIT = 8192;
  const names = (page: string) => [...page.matchAll(/name=fw value="([^"]*)"/g)].map((m) => m[1]);
  const walk = (entries: CatalogEntry[]) => {
    const rig = portalRig(OPEN_PORTAL);
    rig.updater.catalogState = { state: "ready", entries };
    const seen: string[] = [];
    const perPage: number[] = [];
    let target: string | undefined = "/update?cached=1";
    while (target !== undefined) {
      const page: string = rig.get(target).body;
      assert.ok(utf8Length(page) < LIMIT, `${target} is ${utf8Length(page)} bytes`);
      perPage.push(names(page).length);
      seen.push(...names(page));
      const next: string | undefined = /id=catalog-next href="([^"]*)"/.exec(page)?.[1];
      target = next?.replace(/&amp;/g, "&");
    }
    assert.deepEqual(seen, entries.map((e) => e.name));
    return perPage;
  };
  const entry = (i: number, extra: Partial<CatalogEntry>): CatalogEntry => ({ name: `firmware-release-${i}.bin`, date: "11/22/26", time: "10:55:15", size: 1500000 + i, ...extra });
  // A folder of another chip's builds, too large as well, with the longest versions (32 chars, escaped 4x).
  const worst = Array.from({ length: 64 }, (_, i) => entry(i, { version: "<".repeat(32), disabled: `Too large: 4.2 MB, the update partition holds 1.9 MB; ${S3_ON_ESP32}` }));
  const pages = walk(worst);
  assert.ok(pages.length > 4, `fewer rows per page: ${pages.join(", ")}`);
  // Ordinary rows with versions still come 20 to a page.
  assert.deepEqual(walk(Array.from({ length: 45 }, (_, i) => entry(i, { version: "2.0.0", disabled: i % 3 === 0 ? S3_ON_ESP32 : undefined }))), [20, 20, 5]);
});

test("project names and MD5s from the chip list reach the entries; a bad MD5 or an over-long project name is dropped", async () => {
  const md5 = "0123456789ABCDEF0123456789abcdef";
  const facts =
    `[{"name":"fw-1.1.0.bin","chipId":0,"version":"1.1.0","projectName":"ota-demo","md5":"${md5}"},` +
    '{"name":"fw-s3-2.0.0.bin","chipId":9,"version":"2.0.0","projectName":"thermostat","md5":"not-hex-0123456789abcdef01234567"}]';
  const rig = await loaded(json(facts, { chunkSize: 7 }));
  const state = rig.updater.catalog();
  assert.ok(state.state === "ready");
  assert.deepEqual(state.entries[0], { ...PLAIN[0], version: "1.1.0", projectName: "ota-demo", md5: md5.toLowerCase() });
  assert.deepEqual(state.entries[1], { ...PLAIN[1], version: "2.0.0", projectName: "thermostat", disabled: S3_ON_ESP32 });
  assert.deepEqual(toFact({ name: "a.bin", projectName: "p".repeat(33), md5: "0123456789abcdef0123456789abcde" }), { name: "a.bin" });
  assert.deepEqual(toFact({ name: "a.bin", projectName: 7, md5: 0x123 }), { name: "a.bin" });
  assert.deepEqual(toFact({ name: "a.bin", projectName: "p".repeat(32) }), { name: "a.bin", projectName: "p".repeat(32) });
});

test("the UPDATE list marks the running image: by version and project name, or by MD5", async () => {
  // The rig's running slot holds ota-demo 1.0.0 (test/fakes/image.ts); its MD5 as measured at boot is fakeDevice's.
  const md5 = "0123456789abcdef0123456789abcdef";
  const catalog =
    '[{"name":"same.bin","type":"bin","date":"11/22/26","time":"10:55:15","size":40000},' +
    '{"name":"other-project.bin","type":"bin","date":"11/22/26","time":"10:55:15","size":40000},' +
    '{"name":"by-md5.bin","type":"bin","date":"11/22/26","time":"10:55:15","size":40000},' +
    '{"name":"newer.bin","type":"bin","date":"11/22/26","time":"10:55:15","size":40000}]';
  const facts =
    '[{"name":"same.bin","chipId":0,"version":"1.0.0","projectName":"ota-demo"},' +
    '{"name":"other-project.bin","chipId":0,"version":"1.0.0","projectName":"doorbell"},' +
    `{"name":"by-md5.bin","chipId":0,"md5":"${md5}"},` +
    '{"name":"newer.bin","chipId":0,"version":"1.1.0","projectName":"ota-demo","md5":"fedcba9876543210fedcba9876543210"}]';
  const rig = rigWith(json(facts), {}, catalog);
  rig.updater.loadCatalog();
  await rig.settle();
  const wifi = new FakeWifi({ connected: true, stationSsid: "lab", stationAddress: "192.168.1.57" });
  const portal = createPortal({ ...OPEN_PORTAL, updater: rig.updater, boot: rig.boot, device: rig.device, wifi, store: rig.store, system: rig.system, clock: rig.clock, portalHost: "192.168.4.1" });
  const page = portal(request("GET", "/update?cached=1")).body;
  const marked = page
    .split("<li")
    .slice(1)
    .map((row) => `${/<b>([^<]*)<\/b>/.exec(row)?.[1]}${row.includes(' <span class="ok running">running</span>') ? " running" : ""}`);
  assert.deepEqual(marked, ["same.bin running", "other-project.bin", "by-md5.bin running", "newer.bin"]);
  const api = JSON.parse(portal(request("GET", "/api/catalog")).body) as { entries: { name: string; running?: boolean }[] };
  assert.deepEqual(api.entries.filter((e) => e.running).map((e) => e.name), ["same.bin", "by-md5.bin"]);
  assert.match(page, /<dd id=running-version>1\.0\.0 <span class=meta>ota_0<\/span><\/dd>/);
  assert.equal(rig.updater.start("same.bin"), undefined, "the running image may be installed again");
});

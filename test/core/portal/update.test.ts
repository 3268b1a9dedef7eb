import { test, assert } from "../../harness/t";
import { header, portalRig, OPEN_PORTAL } from "../../fakes/portal-client";
import type { CatalogEntry } from "../../../modules/core/updater-api";
import { MAX_LISTED } from "../../../modules/core/portal/pages-update";
import { bootStatus } from "../../fakes/scripted-boot";

const ENTRIES: CatalogEntry[] = [
  // Row shapes as AutoConnect's updateserver.py lists them (protocol.md section 1).
  { name: "fw-1.1.0.bin", date: "11/22/26", time: "10:55:15", size: 1572864 },
  { name: "fw-s3.bin", date: "11/21/26", time: "09:01:00", size: 900000, disabled: "Built for ESP32-S3, this is an ESP32" },
  { name: "huge.bin", date: "11/20/26", time: "23:59:59", size: 3000000, disabled: "Too big for the OTA slot (2.9 MB > 1.9 MB)" },
];

test("opening UPDATE loads the catalog and the page polls /api/catalog until it settles", () => {
  const rig = portalRig(OPEN_PORTAL);
  const r = rig.get("/update");
  assert.equal(r.status, 200);
  assert.deepEqual(rig.updater.calls, ["loadCatalog"]);
  assert.match(r.body, /<p id=status>Loading the catalog from 192\.168\.1\.10:8000…<\/p>/);
  assert.match(r.body, /fetch\('\/api\/catalog'/);
  assert.match(r.body, /<noscript><meta http-equiv=refresh content="3;url=\/update\?cached=1"><\/noscript>/, "works without script too");
  assert.deepEqual(JSON.parse(rig.get("/api/catalog").body), { state: "loading" });
  rig.get("/update");
  assert.deepEqual(rig.updater.calls, ["loadCatalog"], "no second load while one is under way");
});

test("the catalog is a radio list with name, date, HH:MM and size; unfit entries disabled with the reason", () => {
  const rig = portalRig(OPEN_PORTAL);
  rig.updater.catalogState = { state: "ready", entries: ENTRIES };
  const r = rig.get("/update?cached=1");
  assert.deepEqual(rig.updater.calls, [], "?cached=1 shows the last catalog without reloading");
  assert.match(r.body, /<form id=update-form method=post action="\/update">/);
  assert.match(r.body, /<input type=radio name=fw value="fw-1\.1\.0\.bin" required>/);
  assert.match(r.body, /11\/22\/26 10:55 · 1\.5 MB/);
  assert.doesNotMatch(r.body, /10:55:15/);
  assert.match(r.body, /<input type=radio name=fw value="fw-s3\.bin" disabled>/);
  assert.match(r.body, /<span class=why>Built for ESP32-S3, this is an ESP32<\/span>/);
  assert.match(r.body, /<span class=why>Too big for the OTA slot \(2\.9 MB &gt; 1\.9 MB\)<\/span>/);
  assert.match(r.body, /<button id=update-btn>UPDATE<\/button>/);
  assert.doesNotMatch(r.body, /fetch\(/, "nothing to poll once ready");
});

test("an empty catalog says No available firmwares; errors are shown; all-disabled disables UPDATE", () => {
  const rig = portalRig(OPEN_PORTAL);
  rig.updater.catalogState = { state: "ready", entries: [] };
  assert.match(rig.get("/update?cached=1").body, /No available firmwares/);
  rig.updater.catalogState = { state: "error", error: "Update server 192.168.1.10:8000 answered 404" };
  assert.match(rig.get("/update?cached=1").body, /<p id=catalog-error class=error>Update server 192\.168\.1\.10:8000 answered 404<\/p>/);
  rig.updater.catalogState = { state: "ready", entries: ENTRIES.slice(1) };
  assert.match(rig.get("/update?cached=1").body, /<button id=update-btn disabled>/);
});

test("UPDATE starts the chosen firmware and sends the browser to the progress page", () => {
  const rig = portalRig(OPEN_PORTAL);
  rig.updater.catalogState = { state: "ready", entries: ENTRIES };
  const r = rig.post("/update", { fw: "fw-1.1.0.bin" });
  assert.equal(r.status, 303);
  assert.equal(header(r, "location"), "/progress");
  assert.deepEqual(rig.updater.calls, ["start fw-1.1.0.bin"]);
});

test("UPDATE refuses no choice, unknown and disabled entries, and shows the engine's refusal", () => {
  const rig = portalRig(OPEN_PORTAL);
  rig.updater.catalogState = { state: "ready", entries: ENTRIES };
  const none = rig.post("/update", {});
  assert.equal(none.status, 400);
  assert.match(none.body, /<p id=error>Choose a firmware first\.<\/p>/);
  assert.match(rig.post("/update", { fw: "other.bin" }).body, /<p id=error>That firmware is not in the catalog\.<\/p>/);
  assert.match(rig.post("/update", { fw: "fw-s3.bin" }).body, /<p id=error>Built for ESP32-S3/);
  rig.updater.startError = "An update is already running.";
  assert.match(rig.post("/update", { fw: "fw-1.1.0.bin" }).body, /<p id=error>An update is already running\.<\/p>/);
  assert.deepEqual(rig.updater.calls, ["start fw-1.1.0.bin"], "only the valid choice reached the engine");
});

test("POST /api/update answers JSON", () => {
  const rig = portalRig(OPEN_PORTAL);
  rig.updater.catalogState = { state: "ready", entries: ENTRIES };
  const ok = rig.post("/api/update", { fw: "fw-1.1.0.bin" });
  assert.equal(ok.status, 202);
  assert.deepEqual(JSON.parse(ok.body), { ok: true });
  const bad = rig.post("/api/update", { fw: "huge.bin" });
  assert.equal(bad.status, 409);
  assert.equal(JSON.parse(bad.body).ok, false);
  assert.match(JSON.parse(bad.body).error, /Too big/);
});

test("settings are shown, saved through the updater and trigger a catalog reload", () => {
  const rig = portalRig(OPEN_PORTAL);
  rig.updater.catalogState = { state: "ready", entries: [] };
  const page = rig.get("/update?cached=1").body;
  assert.match(page, /<form id=settings-form method=post action="\/update\/settings">/);
  assert.match(page, /name=host maxlength=64 value="192\.168\.1\.10"/);
  assert.match(page, /name=port min=1 max=65535 value="8000"/);
  assert.match(page, /name=path maxlength=128 value="bin"/);
  const r = rig.post("/update/settings", { host: " 10.0.0.2 ", port: "8080", path: "" });
  assert.equal(r.status, 303);
  assert.equal(header(r, "location"), "/update?cached=1");
  assert.deepEqual(rig.updater.calls, ["saveSettings 10.0.0.2:8080 .", "loadCatalog"]);
});

test("bad settings are refused with a message and nothing stored", () => {
  const rig = portalRig(OPEN_PORTAL);
  const port = rig.post("/update/settings", { host: "10.0.0.2", port: "80a", path: "." });
  assert.equal(port.status, 400);
  assert.match(port.body, /<p id=error>The port is a number from 1 to 65535\.<\/p>/);
  assert.match(port.body, /name=port min=1 max=65535 value="80a"/, "the form keeps what the user typed");
  assert.match(port.body, /name=host maxlength=64 value="10\.0\.0\.2"/);
  const host = rig.post("/update/settings", { host: "", port: "8000", path: "." });
  assert.match(host.body, /<p id=error>Enter the update server&#39;s host\.<\/p>/);
  assert.equal(rig.updater.settings().host, "192.168.1.10");
  assert.ok(rig.updater.calls.indexOf("loadCatalog") < 0);
});

test("UPDATE warns when the station link is down and links a running update", () => {
  const rig = portalRig(OPEN_PORTAL);
  rig.wifi.current = { apSsid: "ap", apAddress: "192.168.4.1", apUp: true, connected: false };
  rig.updater.state = { phase: "downloading", target: "a.bin", received: 1, total: 2, rate: 0, resumes: 0 };
  const page = rig.get("/update?cached=1").body;
  assert.match(page, /station link is down/);
  assert.match(page, /An update is running\. <a href="\/progress">/);
});

test("opening UPDATE during a download does not fetch the catalog again", () => {
  const rig = portalRig(OPEN_PORTAL);
  rig.updater.catalogState = { state: "ready", entries: ENTRIES };
  rig.updater.state = { phase: "downloading", target: "fw-1.1.0.bin", received: 1, total: 2, rate: 0, resumes: 0 };
  rig.get("/update");
  assert.deepEqual(rig.updater.calls, []);
  rig.updater.state = { ...rig.updater.state, phase: "failed", error: "x" };
  rig.get("/update");
  assert.deepEqual(rig.updater.calls, ["loadCatalog"]);
});

test("check-in posts the URL to the updater's advanced-updater check-in", () => {
  const rig = portalRig(OPEN_PORTAL);
  rig.updater.catalogState = { state: "ready", entries: [] };
  assert.match(rig.get("/update?cached=1").body, /<form id=checkin-form method=post action="\/update\/checkin">/);
  const r = rig.post("/update/checkin", { url: " http://10.0.0.2:8000/update.php " });
  assert.equal(r.status, 303);
  assert.equal(header(r, "location"), "/progress");
  assert.deepEqual(rig.updater.calls, ["checkIn http://10.0.0.2:8000/update.php"]);
  const empty = rig.post("/update/checkin", { url: "" });
  assert.equal(empty.status, 400);
  assert.match(empty.body, /<p id=error>Enter the update server URL\.<\/p>/);
});

test("a long catalog is paged, MAX_LISTED rows at a time", () => {
  const rig = portalRig(OPEN_PORTAL);
  const many: CatalogEntry[] = Array.from({ length: MAX_LISTED + 5 }, (_, i) => ({ name: `fw-${i}.bin`, date: "11/22/26", time: "10:55:15", size: 1000 }));
  rig.updater.catalogState = { state: "ready", entries: many };
  const first = rig.get("/update?cached=1").body;
  assert.equal(first.split("name=fw ").length - 1, MAX_LISTED);
  assert.match(first, /<a class="btn alt" id=catalog-next href="\/update\?cached=1&amp;from=20">More \(5\)<\/a>/);
  assert.doesNotMatch(first, /catalog-prev/);
  const second = rig.get("/update?cached=1&from=20").body;
  assert.equal(second.split("name=fw ").length - 1, 5);
  assert.match(second, /name=fw value="fw-24\.bin"/);
  assert.match(second, /id=catalog-prev href="\/update\?cached=1&amp;from=0"/);
  assert.doesNotMatch(second, /catalog-next/);
  assert.equal(rig.get("/update?cached=1&from=999").body.split("name=fw ").length - 1, MAX_LISTED, "out of range starts over");
  assert.equal(rig.post("/update", { fw: "fw-24.bin" }).status, 303, "a row from the second page can be chosen");
});

test("an unloaded catalog (e.g. during a download) offers a load instead of polling forever", () => {
  const rig = portalRig(OPEN_PORTAL);
  rig.updater.state = { phase: "downloading", target: "a.bin", received: 1, total: 2, rate: 0, resumes: 0 };
  const page = rig.get("/update").body;
  assert.equal(rig.updater.catalog().state, "idle");
  assert.match(page, /<p id=status>The catalog is not loaded\.<\/p><a class="btn alt" href="\/update">Load the catalog<\/a>/);
  assert.doesNotMatch(page, /fetch\(|http-equiv=refresh/, "nothing would ever change it: no polling");
});

test("the UPDATE page says what is installed: the running version and slot, and the other slot's version", () => {
  const rig = portalRig(OPEN_PORTAL);
  rig.updater.catalogState = { state: "ready", entries: ENTRIES };
  let page = rig.get("/update?cached=1").body;
  assert.match(page, /<dt>Running<\/dt><dd id=running-version>1\.0\.0 <span class=meta>ota_0<\/span><\/dd>/);
  assert.match(page, /<dt>Other slot<\/dt><dd id=other-slot><span class=off>empty<\/span> <span class=meta>ota_1<\/span><\/dd>/);
  const app = (version: string) => ({ version, projectName: "ota-demo", secureVersion: 0 });
  rig.boot.current = bootStatus({
    running: { partition: "ota_1", app: app("1.1.0"), state: "valid", bootable: true },
    previous: { partition: "ota_0", app: app("1.0.0"), state: "valid", bootable: true },
  });
  page = rig.get("/update?cached=1").body;
  assert.match(page, /<dd id=running-version>1\.1\.0 <span class=meta>ota_1<\/span><\/dd>/);
  assert.match(page, /<dd id=other-slot>1\.0\.0 <span class=meta>ota_0<\/span><\/dd>/);
  rig.boot.current = bootStatus({
    running: { partition: "ota_1", app: app("<b>2</b>"), state: "valid", bootable: true },
    previous: { partition: "ota_0", app: app("2.1.0&"), state: "invalid", bootable: false },
  });
  page = rig.get("/update?cached=1").body;
  assert.match(page, /<dd id=running-version>&lt;b&gt;2&lt;\/b&gt; <span class=meta>ota_1<\/span><\/dd>/);
  assert.match(page, /<dd id=other-slot>2\.1\.0&amp; <span class=meta>ota_0, not bootable<\/span><\/dd>/);
});

test("one radio carries required (it makes the group required): the first one that can be chosen", () => {
  const rig = portalRig(OPEN_PORTAL);
  const row = (name: string, disabled?: string): CatalogEntry => ({ name, date: "11/22/26", time: "10:55:15", size: 1000, disabled });
  rig.updater.catalogState = { state: "ready", entries: [row("off.bin", "Too large"), row("a.bin"), row("b.bin")] };
  const page = rig.get("/update?cached=1").body;
  assert.equal(page.match(/name=fw value="[^"]*" required>/g)?.length, 1);
  assert.match(page, /value="a\.bin" required>/);
  assert.match(page, /value="b\.bin">/);
});

import { test, assert } from "../../harness/t";
import { portalRig } from "../../fakes/portal-client";
import { CREDENTIALS_KEY, loadCredentials, MAX_CREDENTIALS, rememberCredential, validateCredential } from "../../../modules/core/portal/wifi-credentials";
import { MAX_NETWORKS, tidyNetworks } from "../../../modules/core/portal/wifi-scan";
import { MemoryStore } from "../../fakes/store";

test("opening Wi-Fi starts one scan; the page polls /api/scan, then lists networks strongest first", () => {
  const rig = portalRig();
  const first = rig.get("/wifi");
  assert.equal(rig.wifi.scans, 1);
  assert.match(first.body, /<p id=scan-status>Scanning…<\/p>/);
  assert.match(first.body, /fetch\('\/api\/scan'/);
  rig.get("/wifi");
  assert.equal(rig.wifi.scans, 1, "no second scan while one runs");
  assert.deepEqual(JSON.parse(rig.get("/api/scan").body), { state: "scanning" });
  rig.wifi.finishScans([
    { ssid: "weak", rssi: -85, secure: true },
    { ssid: "cafe", rssi: -50, secure: false },
    { ssid: "", rssi: -40, secure: true },
    { ssid: "weak", rssi: -70, secure: true },
  ]);
  const api = JSON.parse(rig.get("/api/scan").body);
  assert.equal(api.state, "ready");
  assert.deepEqual(api.networks.map((n: { ssid: string }) => n.ssid), ["cafe", "weak"]);
  const page = rig.get("/wifi?cached=1").body;
  assert.equal(rig.wifi.scans, 1, "?cached=1 shows the last scan");
  assert.ok(page.indexOf(">cafe ") < page.indexOf(">weak "), "strongest first");
  assert.match(page, /href="\/wifi\?cached=1&amp;ssid=cafe"/);
  assert.match(page, /-70 dBm 🔒/);
  assert.doesNotMatch(page, /fetch\(/);
});

test("a scan that never reports may be restarted after the timeout; a stale answer is ignored", () => {
  const rig = portalRig();
  rig.get("/wifi");
  rig.clock.advance(14000);
  assert.equal(JSON.parse(rig.get("/api/scan").body).state, "scanning");
  rig.clock.advance(2000);
  assert.deepEqual(JSON.parse(rig.get("/api/scan").body), { state: "ready", networks: [] }, "the page stops waiting");
  assert.match(rig.get("/wifi?cached=1").body, /No networks found\./);
  rig.get("/wifi");
  assert.equal(rig.wifi.scans, 2);
  rig.wifi.finishScans([{ ssid: "x", rssi: -60, secure: true }]);
  assert.equal(JSON.parse(rig.get("/api/scan").body).state, "ready");
});

test("a radio that answers the scan synchronously still ends ready", () => {
  const rig = portalRig();
  rig.wifi.synchronousScan = true;
  rig.wifi.networks = [{ ssid: "now", rssi: -60, secure: true }];
  assert.match(rig.get("/wifi").body, />now </);
});

test("choosing a scanned network pre-fills the connect form", () => {
  const rig = portalRig();
  const page = rig.get("/wifi?cached=1&ssid=My%20Caf%C3%A9").body;
  assert.match(page, /<input type=text id=ssid name=ssid maxlength=32 value="My Café"/);
});

test("connect stores the credentials, joins, and the stored list offers connect and forget", () => {
  const rig = portalRig();
  const r = rig.post("/wifi/connect", { ssid: "home net", password: "correct horse" });
  assert.equal(r.status, 200);
  assert.deepEqual(rig.wifi.connects, [{ ssid: "home net", password: "correct horse" }]);
  assert.match(r.body, /<p id=message class=ok>Joining home net…<\/p>/);
  assert.ok(r.body.includes(`var S="home net"`), "the page watches /api/status for the join");
  assert.deepEqual(loadCredentials(rig.store), [{ ssid: "home net", password: "correct horse" }]);
  const page = rig.get("/wifi?cached=1").body;
  assert.match(page, /<ul class=list id=stored><li><span class=name>home net<\/span>/);
  assert.doesNotMatch(page, /correct horse/, "stored passwords never reach a page");
  rig.post("/wifi/connect", { ssid: "home net", stored: "1" });
  assert.deepEqual(rig.wifi.connects[1], { ssid: "home net", password: "correct horse" });
  const forgot = rig.post("/wifi/forget", { ssid: "home net" });
  assert.match(forgot.body, /Forgot home net\./);
  assert.equal(rig.store.get(CREDENTIALS_KEY), undefined);
  assert.equal(rig.post("/wifi/forget", { ssid: "home net" }).status, 404);
});

test("connect refuses bad credentials without joining or storing", () => {
  const rig = portalRig();
  for (const [fields, message] of [
    [{ ssid: "", password: "" }, /Enter the network name/],
    [{ ssid: "x".repeat(33), password: "" }, /longer than 32 bytes/],
    [{ ssid: "net", password: "short" }, /8 to 63 characters/],
    [{ ssid: "net", stored: "1" }, /not stored/],
  ] as const) {
    const r = rig.post("/wifi/connect", fields);
    assert.equal(r.status, 400);
    assert.match(r.body, message);
  }
  assert.equal(rig.wifi.connects.length, 0);
  assert.equal(rig.store.get(CREDENTIALS_KEY), undefined);
});

test("credentials: most recent first, capped, open networks and 64-hex keys allowed, damage tolerated", () => {
  const store = new MemoryStore();
  for (let i = 0; i < MAX_CREDENTIALS + 2; i++) assert.equal(rememberCredential(store, { ssid: `n${i}`, password: "password" + i }), undefined);
  const list = loadCredentials(store);
  assert.equal(list.length, MAX_CREDENTIALS);
  assert.equal(list[0].ssid, `n${MAX_CREDENTIALS + 1}`);
  rememberCredential(store, { ssid: "n3", password: "newpassword" });
  assert.deepEqual(loadCredentials(store)[0], { ssid: "n3", password: "newpassword" });
  assert.equal(loadCredentials(store).filter((c) => c.ssid === "n3").length, 1);
  assert.equal(validateCredential("open", ""), undefined);
  assert.equal(validateCredential("psk", "a".repeat(64).replace(/a/g, "f")), undefined);
  assert.match(validateCredential("psk", "g".repeat(64)) ?? "", /8 to 63/);
  // Worst case still fits one NVS value (the fake store throws over 4000 bytes).
  const worst = new MemoryStore();
  for (let i = 0; i < MAX_CREDENTIALS; i++) rememberCredential(worst, { ssid: `"\\${i}`.padEnd(32, "\u0001"), password: "~".repeat(63) });
  assert.equal(loadCredentials(worst).length, MAX_CREDENTIALS);
  store.set(CREDENTIALS_KEY, "{not json");
  assert.deepEqual(loadCredentials(store), []);
});

test("tidyNetworks caps the list", () => {
  const many = Array.from({ length: 50 }, (_, i) => ({ ssid: `n${i}`, rssi: -30 - i, secure: true }));
  const tidy = tidyNetworks(many);
  assert.equal(tidy.length, MAX_NETWORKS);
  assert.equal(tidy[0].ssid, "n0");
});

test("no scan starts while an update runs (the radio would leave the channel)", () => {
  const rig = portalRig();
  rig.updater.state = { phase: "downloading", target: "a.bin", received: 1, total: 2, rate: 0, resumes: 0 };
  const page = rig.get("/wifi").body;
  rig.post("/api/scan", {});
  assert.equal(rig.wifi.scans, 0);
  assert.match(page, /No scan while an update runs/);
  assert.doesNotMatch(page, /fetch\(/);
  rig.updater.state = { ...rig.updater.state, phase: "done" };
  rig.get("/wifi");
  assert.equal(rig.wifi.scans, 1);
});

test("a first visit with ?cached=1 offers a scan instead of waiting forever", () => {
  const rig = portalRig();
  const page = rig.get("/wifi?cached=1").body;
  assert.match(page, /Not scanned yet\.<\/p><a class="btn alt" href="\/wifi">Scan<\/a>/);
  assert.equal(rig.wifi.scans, 0);
});

// Everything from the network, the store or the user is text on every page:
// a firmware, SSID or app named like markup must not become markup.
import { test, assert } from "../../harness/t";
import { portalRig } from "../../fakes/portal-client";
import { fakeDevice } from "../../fakes/device";
import { rememberCredential } from "../../../modules/core/portal/wifi-credentials";

const EVIL = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`;
const ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;";

function assertInert(page: string, where: string): void {
  assert.doesNotMatch(page, /<script>alert|<img src=x/, where);
  assert.ok(page.includes(ESCAPED), `${where}: the text is shown escaped`);
}

test("hostile names are escaped on every page", () => {
  const rig = portalRig({ device: fakeDevice({ appName: EVIL, appVersion: EVIL, runningPartition: EVIL }) });
  rig.wifi.current = { apSsid: EVIL, apAddress: "192.168.4.1", apUp: true, connected: true, stationSsid: EVIL, stationAddress: "192.168.1.57" };
  rig.updater.current = { host: EVIL, port: 8000, path: EVIL };
  rig.updater.catalogState = { state: "ready", entries: [{ name: EVIL, date: EVIL, time: EVIL, size: 10, disabled: undefined }, { name: "b.bin", date: "", time: "", size: 1, disabled: EVIL }] };
  rig.updater.state = { phase: "failed", target: EVIL, received: 1, total: 2, rate: 0, resumes: 0, error: EVIL };
  rememberCredential(rig.store, { ssid: "<b>x</b>", password: "" });
  rig.wifi.synchronousScan = true;
  rig.wifi.networks = [{ ssid: EVIL, rssi: -50, secure: true }];

  assertInert(rig.get("/").body, "home");
  assertInert(rig.get("/update?cached=1").body, "update");
  assertInert(rig.get("/progress").body, "progress");
  const wifi = rig.get("/wifi").body;
  assertInert(wifi, "wifi");
  assert.ok(wifi.includes("&lt;b&gt;x&lt;/b&gt;"), "stored SSID escaped");
  assertInert(rig.get("/wifi?cached=1&ssid=" + encodeURIComponent(EVIL)).body, "wifi with a pre-filled SSID");
  assertInert(rig.get("/nope").body, "404");
  rig.updater.catalogState = { state: "error", error: EVIL };
  assertInert(rig.get("/update?cached=1").body, "catalog error");
  rig.updater.startError = EVIL;
  rig.updater.catalogState = { state: "loading" };
  assertInert(rig.post("/update", { fw: "x" }).body, "start refused");
});

test("the progress page's inline data cannot close its script", () => {
  const rig = portalRig({ device: fakeDevice({ appVersion: "</script><script>alert(1)//" }) });
  rig.updater.state = { phase: "downloading", target: "a", received: 1, total: 2, rate: 0, resumes: 0 };
  const page = rig.get("/progress").body;
  assert.equal(page.split("</script>").length, 2, "exactly one closing tag: the page's own");
});

test("JSON endpoints carry hostile text as JSON strings", () => {
  const rig = portalRig();
  rig.updater.catalogState = { state: "ready", entries: [{ name: EVIL, date: "", time: "", size: 1 }] };
  const r = rig.get("/api/catalog");
  assert.equal(JSON.parse(r.body).entries[0].name, EVIL);
});

test("an SSID that tries to close the join-watch script stays data", () => {
  const rig = portalRig();
  const r = rig.post("/wifi/connect", { ssid: "</script><b>x", password: "" });
  assert.equal(r.status, 200);
  assert.equal(r.body.split("</script>").length, 2, "only the page's own closing tag");
  assert.ok(r.body.includes("&lt;/script&gt;&lt;b&gt;x"), "shown as text in the message");
});

test("text put into page scripts goes in literally: String.replace patterns like $' and $& are not expanded", () => {
  const odd = "net$'$&$`$$";
  const rig = portalRig({ device: fakeDevice({ appVersion: `1.0$'` }) });
  const joined = rig.post("/wifi/connect", { ssid: odd, password: "correct horse" }).body;
  assert.ok(joined.includes(`var S="net$'$\\u0026$\`$$"`), "the Wi-Fi page's script carries the SSID as sent (& as \\u0026)");
  rig.updater.state = { phase: "downloading", target: "fw.bin", received: 1, total: 2, rate: 0, resumes: 0 };
  const progress = rig.get("/progress").body;
  assert.ok(progress.includes(`"version":"1.0$'"`), "the progress page's script carries the version as it is");
  assert.doesNotMatch(progress, /__INIT__|__WORDS__|__POLL__|__MISSES__/);
});

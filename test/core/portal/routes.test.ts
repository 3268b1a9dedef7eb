import { test, assert } from "../../harness/t";
import { header, PORTAL_HOST, portalRig, request } from "../../fakes/portal-client";
import { MAX_FORM_BODY } from "../../../modules/core/portal/portal";
import { fakeDevice } from "../../fakes/device";

test("home shows app, version, partition, AP and station, and the menu", () => {
  const rig = portalRig();
  const r = rig.get("/");
  assert.equal(r.status, 200);
  assert.equal(header(r, "content-type"), "text/html; charset=utf-8");
  assert.match(r.body, /<dd id=app>ota-demo<\/dd>/);
  assert.match(r.body, /<dd id=version>1\.0\.0<\/dd>/);
  assert.match(r.body, /<dd id=partition>ota_0<\/dd>/);
  assert.match(r.body, /id=ap>ota-demo-AP <span class=meta>192\.168\.4\.1<\/span>/);
  assert.match(r.body, /id=station>home <span class=meta>192\.168\.1\.57<\/span>/);
  for (const href of ["/wifi", "/update", "/password"]) assert.ok(r.body.includes(`href="${href}"`), href);
  rig.wifi.current = { apSsid: "ota-demo-AP", apAddress: "192.168.4.1", apUp: true, connected: false };
  assert.match(rig.get("/").body, /id=station><span class=off>not connected/);
});

test("GET /api/status is JSON with the version and a boot id", () => {
  const rig = portalRig();
  const r = rig.get("/api/status");
  assert.equal(header(r, "content-type"), "application/json");
  const s = JSON.parse(r.body);
  assert.equal(s.app, "ota-demo");
  assert.equal(s.version, "1.0.0");
  assert.equal(s.partition, "ota_0");
  assert.equal(s.update, "idle");
  assert.deepEqual(s.station, { connected: true, ssid: "home", address: "192.168.1.57" });
  assert.equal(typeof s.boot, "string");
  assert.equal(JSON.parse(rig.get("/api/status").body).boot, s.boot, "stable within one run");
  assert.notEqual(JSON.parse(portalRig().get("/api/status").body).boot, s.boot, "a new start has a new boot id");
});

test("foreign Host headers are redirected to the portal", () => {
  const rig = portalRig();
  for (const host of ["connectivitycheck.gstatic.com", "captive.apple.com", "www.msftconnecttest.com", "example.com:8080"]) {
    const r = rig.get("/some/page?x=1", { host });
    assert.equal(r.status, 302, host);
    assert.equal(header(r, "location"), `http://${PORTAL_HOST}/`);
  }
  assert.equal(rig.get("/", { host: "192.168.4.1:80" }).status, 200);
  assert.equal(rig.get("/", { host: "192.168.1.57" }).status, 200, "the station address is the portal too");
  assert.equal(rig.get("/", { host: null }).status, 200, "HTTP/1.0 request without Host");
});

test("OS connectivity probes redirect even on the portal host", () => {
  const rig = portalRig();
  for (const path of ["/generate_204", "/gen_204", "/hotspot-detect.html", "/library/test/success.html", "/connecttest.txt", "/ncsi.txt", "/redirect", "/canonical.html", "/success.txt"]) {
    const r = rig.get(path);
    assert.equal(r.status, 302, path);
    assert.equal(header(r, "location"), "http://192.168.4.1/");
    assert.notEqual(r.body, "", "Android wants a body with the redirect");
  }
});

test("unknown paths get a 404 page with a link home; other methods 405", () => {
  const rig = portalRig();
  const r = rig.get("/nope");
  assert.equal(r.status, 404);
  assert.match(r.body, /href="\/"/);
  const put = rig.portal(request("PUT", "/"));
  assert.equal(put.status, 405);
  assert.equal(header(put, "allow"), "GET, HEAD, POST");
  const postHome = rig.post("/", {});
  assert.equal(postHome.status, 405);
  assert.equal(header(postHome, "allow"), "GET, HEAD");
  const getConnect = rig.get("/wifi/connect");
  assert.equal(getConnect.status, 405);
  assert.equal(header(getConnect, "allow"), "POST");
});

test("HEAD answers like GET without a body", () => {
  const rig = portalRig();
  const r = rig.portal(request("HEAD", "/"));
  assert.equal(r.status, 200);
  assert.equal(r.body, "");
  assert.equal(header(r, "content-type"), "text/html; charset=utf-8");
  const missing = rig.portal(request("HEAD", "/nope"));
  assert.equal(missing.status, 404);
  assert.equal(missing.body, "");
});

test("form bodies over the cap get 413, by declared length or by body", () => {
  const rig = portalRig();
  const declared = rig.portal(request("POST", "/wifi/connect", { body: "ssid=x", headers: { "content-length": String(MAX_FORM_BODY + 1) } }));
  assert.equal(declared.status, 413);
  const big = rig.post("/wifi/connect", { ssid: "x", password: "p".repeat(MAX_FORM_BODY) });
  assert.equal(big.status, 413);
  assert.equal(rig.wifi.connects.length, 0, "nothing done with a refused body");
  assert.equal(rig.post("/wifi/connect", { ssid: "x", password: "p".repeat(20) }).status, 200);
});

test("posts from another site's page are refused; the portal's own are accepted", () => {
  const rig = portalRig();
  const evil = rig.post("/wifi/connect", { ssid: "x", password: "" }, { headers: { origin: "http://evil.example" } });
  assert.equal(evil.status, 403);
  assert.equal(rig.wifi.connects.length, 0);
  const own = rig.post("/wifi/connect", { ssid: "x", password: "" }, { headers: { origin: "http://192.168.4.1" } });
  assert.equal(own.status, 200);
  assert.equal(rig.wifi.connects.length, 1);
});

test("a cross-site post carrying only a foreign Referer (no Origin) is refused too", () => {
  const rig = portalRig();
  for (const referer of ["http://evil.example/page", "http://192.168.4.1.evil.example/", "https://192.168.4.1/wifi"]) {
    assert.equal(rig.post("/wifi/connect", { ssid: "x", password: "" }, { headers: { referer } }).status, 403, referer);
  }
  assert.equal(rig.wifi.connects.length, 0);
  assert.equal(rig.post("/wifi/connect", { ssid: "x", password: "" }, { headers: { referer: "http://192.168.4.1/wifi" } }).status, 200, "the portal's own page");
  assert.equal(rig.post("/wifi/connect", { ssid: "x", password: "" }).status, 200, "no Origin, no Referer: a script, not a steered browser");
  assert.equal(rig.wifi.connects.length, 2);
});

test("a throwing port ends in a 500 page with a message, not an exception", () => {
  const rig = portalRig();
  rig.wifi.status = () => {
    throw new Error("radio busy");
  };
  const r = rig.get("/");
  assert.equal(r.status, 500);
  assert.match(r.body, /radio busy/);
});

test("API errors are JSON; page errors are pages", () => {
  const rig = portalRig();
  const api = rig.get("/api/nope");
  assert.equal(api.status, 404);
  assert.equal(header(api, "content-type"), "application/json");
  assert.deepEqual(JSON.parse(api.body), { ok: false, error: "There is no such page on this device." });
  const method = rig.post("/api/status", {});
  assert.equal(method.status, 405);
  assert.equal(JSON.parse(method.body).ok, false);
  rig.post("/password", { new: "pass-word", confirm: "pass-word" });
  const locked = rig.get("/api/progress");
  assert.equal(locked.status, 401);
  assert.equal(header(locked, "content-type"), "application/json");
  assert.ok(header(locked, "www-authenticate"));
  assert.equal(header(rig.get("/nope"), "content-type"), "text/html; charset=utf-8");
});

test("the Basic realm is header-safe whatever the app is called", () => {
  const rig = portalRig({ device: fakeDevice({ appName: 'Über "demo"\r\nX: y' }) });
  rig.post("/password", { new: "pass-word", confirm: "pass-word" });
  assert.equal(header(rig.get("/wifi"), "www-authenticate"), 'Basic realm="ber demoX: y portal", charset="UTF-8"');
});

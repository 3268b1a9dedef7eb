// What the portal says of the access point's lifecycle: /api/status `ap`
// (mode, up, closesInS beside ssid and address) and the home page's line,
// and the Wi-Fi page telling the lifecycle when networks change; the station's
// next rejoin attempt (station.rejoinInS, #station-rejoin) (Node and XS).
import { test, assert } from "../../harness/t";
import { header, portalRig, OPEN_PORTAL } from "../../fakes/portal-client";
import { ApLifecycle } from "../../../modules/core/wifi/ap-lifecycle";
import { rememberCredential } from "../../../modules/core/portal/wifi-credentials";
import { apStateText, duration } from "../../../modules/core/portal/ap-status";
import { StationRejoin } from "../../../modules/core/wifi/station-rejoin";

function apJson(body: string): unknown {
  return JSON.parse(body).ap;
}

function apLine(page: string): string {
  const m = /<p id=ap-state>([^<]*)<\/p>/.exec(page);
  assert.ok(m, "the home page has #ap-state");
  return m[1];
}

test("/api/status ap: the lifecycle's mode, up and closesInS beside the AP's name and address", () => {
  const rig = portalRig();
  const ap = new ApLifecycle({ wifi: rig.wifi, clock: rig.clock, store: rig.store }, { mode: "fallback", fallbackAfterMs: 60_000, lingerMs: 300_000 });
  rig.deps.ap = ap;
  rig.wifi.current = { ...rig.wifi.current, apUp: false, connected: false };
  ap.start();
  assert.deepEqual(apJson(rig.get("/api/status").body), { ssid: "ota-demo-AP", address: "192.168.4.1", mode: "fallback", up: true, closesInS: null });
  assert.equal(apLine(rig.get("/").body), "Up (fallback mode): it closes a while after the station joins a network.");

  rememberCredential(rig.store, { ssid: "home", password: "password1" });
  ap.networksChanged();
  rig.wifi.station("joined");
  rig.clock.advance(55_000);
  assert.deepEqual(apJson(rig.get("/api/status").body), { ssid: "ota-demo-AP", address: "192.168.4.1", mode: "fallback", up: true, closesInS: 245 });
  assert.equal(apLine(rig.get("/").body), "Up (fallback mode): closes in 4 min 5 s; the portal stays on the station&#39;s address.");

  rig.clock.advance(245_000);
  const status = JSON.parse(rig.get("/api/status").body);
  assert.deepEqual(status.ap, { ssid: "ota-demo-AP", address: "192.168.4.1", mode: "fallback", up: false, closesInS: null });
  assert.deepEqual(status.station, { connected: true, ssid: "home", address: "192.168.1.57" }, "the other fields are as before");
  assert.equal(apLine(rig.get("/").body), "Off (fallback mode): it opens again when the station cannot join its network.");
});

test("without a lifecycle the AP counts as always up, as the radio says", () => {
  const rig = portalRig();
  assert.deepEqual(apJson(rig.get("/api/status").body), { ssid: "ota-demo-AP", address: "192.168.4.1", mode: "always", up: true, closesInS: null });
  assert.equal(apLine(rig.get("/").body), "Up (always mode): it stays up.");
  rig.wifi.current = { ...rig.wifi.current, apUp: false };
  assert.equal((apJson(rig.get("/api/status").body) as { up: boolean }).up, false);
});

test("setup mode's lines", () => {
  assert.equal(apStateText({ mode: "setup", up: true, closesInS: null }), "Up (setup mode): it closes a while after the station joins a network.");
  assert.equal(apStateText({ mode: "setup", up: true, closesInS: 60 }), "Up (setup mode): closes in 1 min; the portal stays on the station's address.");
  assert.equal(apStateText({ mode: "setup", up: false, closesInS: null }), "Off (setup mode): it opens again only when no network is stored.");
  assert.equal(duration(0), "0 s");
  assert.equal(duration(59), "59 s");
  assert.equal(duration(3600), "60 min");
});

test("the Wi-Fi page tells the lifecycle when it stores or forgets a network, not when nothing changed", () => {
  let told = 0;
  const rig = portalRig({ networksChanged: () => told++ });
  rig.post("/wifi/connect", { ssid: "home", password: "password1" });
  assert.equal(told, 1, "stored");
  rig.post("/wifi/connect", { ssid: "x", password: "short" });
  assert.equal(told, 1, "refused: nothing stored");
  rig.post("/wifi/forget", { ssid: "nothing-here" });
  assert.equal(told, 1, "not stored: nothing forgotten");
  rig.post("/wifi/forget", { ssid: "home" });
  assert.equal(told, 2, "forgotten");
});

test("forgetting the last network in the portal reopens a setup-mode AP", () => {
  const rig = portalRig(OPEN_PORTAL); // forgotten from the station's LAN without a password: a bench board
  const ap = new ApLifecycle({ wifi: rig.wifi, clock: rig.clock, store: rig.store }, { mode: "setup", fallbackAfterMs: 60_000, lingerMs: 300_000 });
  rig.deps.ap = ap;
  rig.deps.networksChanged = () => ap.networksChanged();
  rememberCredential(rig.store, { ssid: "home", password: "password1" });
  rig.wifi.current = { ...rig.wifi.current, apUp: false, connected: false };
  ap.start();
  rig.wifi.station("joined");
  rig.clock.advance(300_000);
  assert.equal(ap.status().up, false);
  rig.post("/wifi/forget", { ssid: "home" }, { host: "192.168.1.57" });
  assert.deepEqual(JSON.parse(rig.get("/api/status", { host: "192.168.1.57" }).body).ap.up, true);
});

test("captive redirects go to the AP's address while it is up, to the station's (on the portal's port) once it is down", () => {
  const rig = portalRig({ portalHost: "192.168.4.1:8080" });
  const ap = new ApLifecycle({ wifi: rig.wifi, clock: rig.clock, store: rig.store }, { mode: "fallback", fallbackAfterMs: 60_000, lingerMs: 300_000 });
  rig.deps.ap = ap;
  rig.wifi.current = { ...rig.wifi.current, apUp: false, connected: false };
  ap.start();
  assert.equal(header(rig.get("/generate_204"), "location"), "http://192.168.4.1:8080/");
  assert.equal(header(rig.get("/", { host: "example.com" }), "location"), "http://192.168.4.1:8080/");
  rememberCredential(rig.store, { ssid: "home", password: "password1" });
  ap.networksChanged();
  rig.wifi.station("joined");
  rig.clock.advance(300_000);
  assert.equal(ap.status().up, false);
  assert.equal(header(rig.get("/generate_204", { host: "192.168.1.57" }), "location"), "http://192.168.1.57:8080/");
  assert.equal(header(rig.get("/", { host: "ota-5e7111.local" }), "location"), "http://192.168.1.57:8080/");
  rig.wifi.station("lost");
  assert.equal(header(rig.get("/generate_204", { host: "192.168.4.1" }), "location"), "http://192.168.4.1:8080/", "no station address: the AP's is all there is");
});

test("/api/status station.rejoinInS and the home page's line: when the board tries its stored networks again", () => {
  const rig = portalRig();
  rig.wifi.current = { ...rig.wifi.current, connected: false };
  rig.wifi.joins = false;
  rememberCredential(rig.store, { ssid: "home", password: "password1" });
  assert.deepEqual(JSON.parse(rig.get("/api/status").body).station, { connected: false, rejoinInS: null }, "no rejoin: null");
  assert.doesNotMatch(rig.get("/").body, /id=station-rejoin/);

  const rejoin = new StationRejoin({ wifi: rig.wifi, clock: rig.clock, store: rig.store }, { firstRetryMs: 15_000, maxRetryMs: 300_000 });
  rig.deps.rejoin = rejoin;
  rejoin.start(); // the boot join goes nowhere: the next attempt in 15 s
  rig.clock.advance(5_000);
  assert.deepEqual(JSON.parse(rig.get("/api/status").body).station, { connected: false, rejoinInS: 10 });
  assert.match(rig.get("/").body, /<p id=station-rejoin class=meta>Trying the stored networks again in 10 s\.<\/p>/);
  rig.clock.advance(10_000); // the first rejoin fails: the next in 30 s
  assert.equal(JSON.parse(rig.get("/api/status").body).station.rejoinInS, 30);
  rig.clock.advance(30_000 + 60_000); // two more fail: the next in 120 s
  assert.match(rig.get("/").body, /Trying the stored networks again in 2 min\./);
  assert.equal(rig.wifi.connects.length, 4);
  rig.wifi.station("joined");
  assert.deepEqual(JSON.parse(rig.get("/api/status").body).station, { connected: true, ssid: "home", address: "192.168.1.57" }, "joined: no rejoinInS");
  assert.doesNotMatch(rig.get("/").body, /id=station-rejoin/);
});

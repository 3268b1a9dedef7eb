// The access point's lifecycle (modules/core/wifi/ap-lifecycle.ts) on fakes,
// every transition of each mode with a fake clock (Node and XS).
import { test, assert } from "../../harness/t";
import { AP_SETUP_KEY, ApLifecycle, readApConfig, type ApLifecycleOptions } from "../../../modules/core/wifi/ap-lifecycle";
import { forgetCredential, rememberCredential } from "../../../modules/core/portal/wifi-credentials";
import type { ApMode } from "../../../modules/core/updater-api";
import { FakeClock } from "../../fakes/clock";
import { FakeWifi } from "../../fakes/wifi";
import { MemoryStore } from "../../fakes/store";

const FALLBACK_MS = 60_000;
const LINGER_MS = 300_000;

interface Rig {
  ap: ApLifecycle;
  wifi: FakeWifi;
  clock: FakeClock;
  store: MemoryStore;
  logs: string[];
}

/** A board at power-on: the AP not started, the station not joined; `stored` networks in NVS. */
function rig(mode: ApMode, options: { stored?: boolean; store?: MemoryStore } = {}): Rig {
  const clock = new FakeClock();
  const wifi = new FakeWifi({ apUp: false, connected: false });
  const store = options.store ?? new MemoryStore();
  if (options.stored) rememberCredential(store, { ssid: "home", password: "password1" });
  const logs: string[] = [];
  const settings: ApLifecycleOptions = { mode, fallbackAfterMs: FALLBACK_MS, lingerMs: LINGER_MS };
  const ap = new ApLifecycle({ wifi, clock, store, log: (line) => logs.push(line) }, settings);
  ap.start();
  return { ap, wifi, clock, store, logs };
}

test("fallback, first boot (no network stored): the AP is up and stays up", () => {
  const r = rig("fallback");
  assert.deepEqual(r.ap.status(), { mode: "fallback", up: true, closesInS: null });
  assert.deepEqual(r.wifi.apCalls, ["start"]);
  assert.equal(r.wifi.current.apUp, true);
  r.clock.advance(LINGER_MS * 10);
  assert.deepEqual(r.wifi.apCalls, ["start"], "nothing to join: nothing closes it");
  assert.match(r.logs[0], /access point up \(no network stored\)/);
});

test("fallback, a network stored: the AP stays down while the station joins within apFallbackAfter", () => {
  const r = rig("fallback", { stored: true });
  assert.deepEqual(r.ap.status(), { mode: "fallback", up: false, closesInS: null });
  r.clock.advance(FALLBACK_MS - 1);
  r.wifi.station("joined");
  r.clock.advance(FALLBACK_MS * 5);
  assert.deepEqual(r.wifi.apCalls, [], "joined in time: never opened");
});

test("fallback: the station unable to join for apFallbackAfter brings the AP up, a join closes it after apLinger", () => {
  const r = rig("fallback", { stored: true });
  r.wifi.station("lost"); // failed attempts report "lost"; they must not restart the wait
  r.clock.advance(FALLBACK_MS / 2);
  r.wifi.station("lost");
  assert.equal(r.clock.pending, 1, "one fallback timer, however many failures");
  r.clock.advance(FALLBACK_MS / 2 - 1);
  assert.equal(r.ap.status().up, false);
  r.clock.advance(1);
  assert.deepEqual(r.ap.status(), { mode: "fallback", up: true, closesInS: null });
  assert.match(r.logs.join("\n"), /access point up \(the station could not join for 60 s\)/);

  r.wifi.station("joined");
  assert.deepEqual(r.ap.status(), { mode: "fallback", up: true, closesInS: 300 });
  r.clock.advance(100_500);
  assert.equal(r.ap.status().closesInS, 200, "whole seconds, rounded up");
  r.wifi.station("joined"); // another gotIP (a DHCP renewal) does not push the close back
  assert.equal(r.ap.status().closesInS, 200);
  assert.equal(r.clock.pending, 1);
  r.clock.advance(LINGER_MS - 100_500 - 1);
  assert.equal(r.ap.status().up, true);
  r.clock.advance(1);
  assert.deepEqual(r.ap.status(), { mode: "fallback", up: false, closesInS: null });
  assert.deepEqual(r.wifi.apCalls, ["start", "stop"]);
  assert.equal(r.wifi.current.apUp, false);
});

test("fallback: losing the station during the linger keeps the AP up; a later loss reopens it after apFallbackAfter", () => {
  const r = rig("fallback");
  rememberCredential(r.store, { ssid: "home", password: "password1" });
  r.ap.networksChanged();
  r.wifi.station("joined");
  assert.equal(r.ap.status().closesInS, 300, "stored and joined from the portal: the AP lingers");
  r.clock.advance(10_000);
  r.wifi.station("lost");
  assert.deepEqual(r.ap.status(), { mode: "fallback", up: true, closesInS: null }, "no close while the station is away");
  r.clock.advance(LINGER_MS * 2);
  assert.deepEqual(r.wifi.apCalls, ["start"]);

  r.wifi.station("joined");
  r.clock.advance(LINGER_MS);
  assert.deepEqual(r.wifi.apCalls, ["start", "stop"]);
  r.wifi.station("lost");
  r.clock.advance(FALLBACK_MS - 1);
  assert.equal(r.ap.status().up, false);
  r.clock.advance(1);
  assert.deepEqual(r.wifi.apCalls, ["start", "stop", "start"], "the network failed for apFallbackAfter: back up");
});

test("fallback: forgetting the last network brings the AP up at once", () => {
  const r = rig("fallback", { stored: true });
  r.wifi.station("joined");
  assert.equal(r.ap.status().up, false);
  forgetCredential(r.store, "home");
  r.ap.networksChanged();
  assert.deepEqual(r.ap.status(), { mode: "fallback", up: true, closesInS: null });
});

test("always: up at boot and never closed, whatever the station does", () => {
  const r = rig("always", { stored: true });
  assert.deepEqual(r.ap.status(), { mode: "always", up: true, closesInS: null });
  r.wifi.station("joined");
  assert.equal(r.ap.status().closesInS, null);
  r.clock.advance(LINGER_MS * 10);
  r.wifi.station("lost");
  r.clock.advance(FALLBACK_MS * 10);
  assert.deepEqual(r.wifi.apCalls, ["start"]);
  assert.equal(r.ap.status().up, true);
});

test("setup: up until the first join, down apLinger later and not back when the station is lost", () => {
  const r = rig("setup");
  assert.deepEqual(r.ap.status(), { mode: "setup", up: true, closesInS: null });
  rememberCredential(r.store, { ssid: "home", password: "password1" });
  r.ap.networksChanged();
  assert.equal(r.ap.status().up, true, "stored but not joined yet: still up");
  r.wifi.station("joined");
  assert.equal(r.store.get(AP_SETUP_KEY), "joined", "the first join is remembered across boots");
  assert.equal(r.ap.status().closesInS, 300);
  r.wifi.station("lost"); // unlike fallback, the linger runs on
  r.clock.advance(LINGER_MS);
  assert.deepEqual(r.ap.status(), { mode: "setup", up: false, closesInS: null });
  r.clock.advance(FALLBACK_MS * 10);
  assert.deepEqual(r.wifi.apCalls, ["start", "stop"], "never again");
});

test("setup: after a reboot the AP stays down; a stored network never joined keeps it up", () => {
  const store = new MemoryStore();
  rememberCredential(store, { ssid: "home", password: "password1" });
  const fresh = rig("setup", { store });
  assert.equal(fresh.ap.status().up, true, "never joined (a wrong password, say): the AP is the way back in");
  fresh.wifi.station("joined");
  const again = rig("setup", { store });
  assert.deepEqual(again.ap.status(), { mode: "setup", up: false, closesInS: null });
  again.wifi.station("lost");
  again.clock.advance(FALLBACK_MS * 10);
  assert.deepEqual(again.wifi.apCalls, []);
});

test("setup: removing the stored network reopens the AP and starts setup over", () => {
  const store = new MemoryStore();
  rememberCredential(store, { ssid: "home", password: "password1" });
  store.set(AP_SETUP_KEY, "joined");
  const r = rig("setup", { store });
  r.wifi.station("joined");
  assert.equal(r.ap.status().up, false);
  forgetCredential(store, "home");
  r.ap.networksChanged();
  assert.deepEqual(r.ap.status(), { mode: "setup", up: true, closesInS: null });
  assert.equal(store.get(AP_SETUP_KEY), undefined, "setup starts over");
  rememberCredential(store, { ssid: "other", password: "password2" });
  r.ap.networksChanged();
  r.wifi.station("lost");
  r.wifi.station("joined", "other");
  r.clock.advance(LINGER_MS);
  assert.deepEqual(r.wifi.apCalls, ["start", "stop"]);
});

test("a network forgotten without notice keeps the AP up when the linger ends", () => {
  const r = rig("fallback");
  rememberCredential(r.store, { ssid: "home", password: "password1" });
  r.ap.networksChanged();
  r.wifi.station("joined");
  forgetCredential(r.store, "home");
  r.clock.advance(LINGER_MS);
  assert.deepEqual(r.ap.status(), { mode: "fallback", up: true, closesInS: null });
  assert.deepEqual(r.wifi.apCalls, ["start"]);
});

test("a radio that refuses to start the AP: up stays false and problem() says why", () => {
  const clock = new FakeClock();
  const wifi = new FakeWifi({ apUp: false });
  wifi.apRefuses = "esp_wifi_set_config failed";
  const ap = new ApLifecycle({ wifi, clock, store: new MemoryStore() }, { mode: "always", fallbackAfterMs: FALLBACK_MS, lingerMs: LINGER_MS });
  ap.start();
  assert.equal(ap.status().up, false);
  assert.equal(ap.problem(), "the access point could not start: esp_wifi_set_config failed");
  wifi.apRefuses = undefined;
  wifi.station("joined");
  assert.equal(ap.status().up, true, "tried again at the next event");
  assert.equal(ap.problem(), undefined);
});

test("readApConfig: defaults, seconds as numbers or strings, bad values named", () => {
  assert.deepEqual(readApConfig({}), { options: { mode: "fallback", fallbackAfterMs: 60_000, lingerMs: 300_000 }, problems: [] });
  assert.deepEqual(readApConfig({ apMode: "setup", apFallbackAfter: "5", apLinger: 0 }).options, { mode: "setup", fallbackAfterMs: 5000, lingerMs: 0 });
  const bad = readApConfig({ apMode: "sometimes", apFallbackAfter: "soon", apLinger: -1 });
  assert.deepEqual(bad.options, { mode: "fallback", fallbackAfterMs: 60_000, lingerMs: 300_000 });
  assert.deepEqual(bad.problems, [
    'config.apMode "sometimes" is not one of fallback, always, setup: using fallback',
    'config.apFallbackAfter "soon" is not a number of seconds: using 60',
    'config.apLinger "-1" is not a number of seconds: using 300',
  ]);
});

// The station's rejoin (modules/core/wifi/station-rejoin.ts) on fakes with a
// fake clock (Node and XS): the boot join, the doubling wait after a lost link,
// the turn through stored networks, the reset on a join and on the portal's
// Connect, no attempt during an update, and nothing to do with nothing stored.
import { test, assert } from "../../harness/t";
import { DEFAULT_REJOIN_S, MAX_REJOIN_S, StationRejoin, readRejoinConfig } from "../../../modules/core/wifi/station-rejoin";
import { forgetCredential, rememberCredential } from "../../../modules/core/portal/wifi-credentials";
import { FakeClock } from "../../fakes/clock";
import { FakeWifi } from "../../fakes/wifi";
import { MemoryStore } from "../../fakes/store";

const FIRST_MS = 15_000;
const MAX_MS = 300_000;

interface Rig {
  rejoin: StationRejoin;
  wifi: FakeWifi;
  clock: FakeClock;
  store: MemoryStore;
  logs: string[];
  busy: { now: boolean };
}

/** A board at power-on with `networks` stored (the first most recently used), its station not joined, on networks that are not there. */
function rig(networks: string[], options: { firstRetryMs?: number; start?: boolean } = {}): Rig {
  const clock = new FakeClock();
  const wifi = new FakeWifi({ connected: false });
  wifi.joins = false;
  const store = new MemoryStore();
  for (const ssid of [...networks].reverse()) rememberCredential(store, { ssid, password: `${ssid}-password` });
  const logs: string[] = [];
  const busy = { now: false };
  const rejoin = new StationRejoin({ wifi, clock, store, busy: () => busy.now, log: (line) => logs.push(line) }, { firstRetryMs: options.firstRetryMs ?? FIRST_MS, maxRetryMs: MAX_MS });
  if (options.start !== false) rejoin.start();
  return { rejoin, wifi, clock, store, logs, busy };
}

const tried = (r: Rig) => r.wifi.connects.map((c) => c.ssid);

/** The board's station gets its address on the network it last tried. */
function join(r: Rig): void {
  r.wifi.station("joined", r.wifi.connects.at(-1)?.ssid);
}

test("boot: joins the most recently used stored network at once, with its password", () => {
  const r = rig(["home", "office"]);
  assert.deepEqual(r.wifi.connects, [{ ssid: "home", password: "home-password" }]);
  assert.deepEqual(r.logs, ['wifi: joining "home"']);
});

test("boot: nothing stored, nothing tried, nothing planned", () => {
  const r = rig([]);
  r.wifi.station("lost");
  r.clock.advance(MAX_MS * 4);
  assert.deepEqual(r.wifi.connects, []);
  assert.equal(r.clock.pending, 0);
  assert.equal(r.rejoin.nextInS(), null);
});

test("boot: the station reading as joined does not skip the boot join (the simulator's Net has an address before any join)", () => {
  const clock = new FakeClock();
  const wifi = new FakeWifi({ connected: true, stationAddress: "192.0.2.2" });
  const store = new MemoryStore();
  rememberCredential(store, { ssid: "home", password: "home-password" });
  new StationRejoin({ wifi, clock, store }, { firstRetryMs: FIRST_MS, maxRetryMs: MAX_MS }).start();
  assert.deepEqual(wifi.connects, [{ ssid: "home", password: "home-password" }]);
  assert.equal(clock.pending, 0, "joined: nothing planned");
});

test("boot join that never comes: tried again after the first wait, then twice as long each time, capped", () => {
  const r = rig(["home"]);
  const at: number[] = [];
  const t0 = r.clock.now();
  for (let i = 0; i < 9; i++) {
    const before = r.wifi.connects.length;
    while (r.wifi.connects.length === before) r.clock.advance(1000);
    at.push((r.clock.now() - t0) / 1000);
  }
  // 15, +30, +60, +120, +240, then +300 each
  assert.deepEqual(at, [15, 45, 105, 225, 465, 765, 1065, 1365, 1665]);
  assert.equal(r.logs.filter((l) => l === 'wifi: rejoining "home"').length, 9);
});

test("a lost link after a join: the first attempt after the first wait, not at once", () => {
  const r = rig(["home"]);
  join(r);
  assert.equal(r.clock.pending, 0, "joined: nothing planned");
  r.wifi.station("lost");
  assert.equal(r.rejoin.nextInS(), FIRST_MS / 1000);
  r.clock.advance(FIRST_MS - 1);
  assert.equal(r.wifi.connects.length, 1, "only the boot join so far");
  r.clock.advance(1);
  assert.deepEqual(tried(r), ["home", "home"]);
});

test("the router comes back: the board joins at the next attempt and the wait starts over for the next loss", () => {
  const r = rig(["home"]);
  join(r);
  r.wifi.station("lost");
  r.clock.advance(FIRST_MS); // attempt 1 fails silently
  r.wifi.station("lost"); // the SDK's retries ran out: one timer, however many reports
  assert.equal(r.clock.pending, 1);
  r.clock.advance(FIRST_MS * 2); // attempt 2
  assert.equal(r.wifi.connects.length, 3);
  join(r);
  assert.equal(r.rejoin.nextInS(), null);
  assert.equal(r.clock.pending, 0);
  r.wifi.station("lost");
  assert.equal(r.rejoin.nextInS(), FIRST_MS / 1000, "the wait was reset by the join");
});

test("several stored networks are tried in turn, most recently used first", () => {
  const r = rig(["home", "office", "phone"]);
  r.clock.advance(FIRST_MS + FIRST_MS * 2 + FIRST_MS * 4 + FIRST_MS * 8);
  assert.deepEqual(tried(r), ["home", "office", "phone", "home", "office"]);
  join(r);
  r.wifi.station("lost");
  r.clock.advance(FIRST_MS);
  assert.equal(tried(r).at(-1), "home", "after a join the turn starts again from the first");
});

test("a connect the radio refuses is logged and tried again at the next turn", () => {
  const r = rig(["home"], { start: false });
  r.wifi.connectRefuses = "esp_wifi_connect failed";
  r.rejoin.start();
  assert.ok(r.logs.includes('wifi: cannot join "home": esp_wifi_connect failed'));
  r.wifi.connectRefuses = undefined;
  r.clock.advance(FIRST_MS);
  assert.equal(r.wifi.connects.length, 2);
});

test("no attempt while an update is under way: it waits for the next turn", () => {
  const r = rig(["home"]);
  join(r);
  r.wifi.station("lost");
  r.busy.now = true;
  r.clock.advance(FIRST_MS);
  assert.equal(r.wifi.connects.length, 1, "not during the update");
  assert.ok(r.logs.includes("wifi: rejoin waits: an update is under way"));
  r.busy.now = false;
  r.clock.advance(FIRST_MS * 2);
  assert.equal(r.wifi.connects.length, 2);
});

test("the portal's Connect goes first: the planned attempt is dropped and the wait starts over", () => {
  const r = rig(["home"]);
  r.clock.advance(FIRST_MS + FIRST_MS * 2); // two failed rejoins: the next wait is 60 s
  assert.equal(r.rejoin.nextInS(), (FIRST_MS * 4) / 1000);
  rememberCredential(r.store, { ssid: "new", password: "new-password" });
  r.wifi.connect("new", "new-password"); // what the Wi-Fi page does, after storing it
  r.rejoin.networksChanged();
  assert.equal(r.rejoin.nextInS(), FIRST_MS / 1000);
  r.clock.advance(FIRST_MS);
  assert.deepEqual(tried(r).slice(-2), ["new", "new"], "then the stored list from its first (the new one)");
});

test("the last stored network forgotten: no more attempts", () => {
  const r = rig(["home"]);
  forgetCredential(r.store, "home");
  r.rejoin.networksChanged();
  r.clock.advance(MAX_MS * 4);
  assert.equal(r.wifi.connects.length, 1);
  assert.equal(r.clock.pending, 0);
});

test("wifiRejoin 0: the boot join only, never again by itself", () => {
  const r = rig(["home"], { firstRetryMs: 0 });
  join(r);
  r.wifi.station("lost");
  r.clock.advance(MAX_MS * 4);
  assert.equal(r.wifi.connects.length, 1);
  assert.equal(r.clock.pending, 0);
});

test("readRejoinConfig: default, seconds as mcconfig passes them, 0 off, a bad value named", () => {
  assert.deepEqual(readRejoinConfig(undefined), { options: { firstRetryMs: DEFAULT_REJOIN_S * 1000, maxRetryMs: MAX_REJOIN_S * 1000 } });
  assert.deepEqual(readRejoinConfig("30"), { options: { firstRetryMs: 30_000, maxRetryMs: MAX_REJOIN_S * 1000 } });
  assert.deepEqual(readRejoinConfig(600), { options: { firstRetryMs: 600_000, maxRetryMs: 600_000 } }, "a first wait longer than the cap raises the cap");
  assert.equal(readRejoinConfig("0").options.firstRetryMs, 0);
  const bad = readRejoinConfig("soon");
  assert.equal(bad.options.firstRetryMs, DEFAULT_REJOIN_S * 1000);
  assert.equal(bad.problem, 'config.wifiRejoin "soon" is not a number of seconds: using 15');
  assert.equal(readRejoinConfig(-5).problem, 'config.wifiRejoin "-5" is not a number of seconds: using 15');
});

// The twin's simulated radio (twin/adapters/wifi.ts): the AP up and down
// without touching the station, station events through the event loop, and a
// network a test takes off the air and brings back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SimulatedWifi } from "../../twin/adapters/wifi";
import { FakeClock } from "../fakes/clock";
import type { StationEvent } from "../../modules/core/ports";

function radio(down: string[] = []) {
  const clock = new FakeClock();
  const wifi = new SimulatedWifi(clock, { down });
  const events: StationEvent[] = [];
  wifi.onStation((e) => events.push(e));
  return { clock, wifi, events };
}

test("the AP is down until started, and stopping it leaves the station joined", () => {
  const { clock, wifi } = radio();
  assert.equal(wifi.status().apUp, false);
  wifi.startAccessPoint();
  wifi.connect("TwinLAN", "twinlan-2026");
  clock.advance(0);
  assert.equal(wifi.status().apUp, true);
  wifi.stopAccessPoint();
  assert.deepEqual([wifi.status().apUp, wifi.status().connected, wifi.status().stationSsid], [false, true, "TwinLAN"]);
  wifi.startAccessPoint();
  assert.equal(wifi.status().apUp, true);
});

test("station events come through the event loop, never inside connect()", () => {
  const { clock, wifi, events } = radio();
  wifi.connect("TwinLAN", "twinlan-2026");
  assert.deepEqual(events, [], "not inside the call");
  assert.equal(wifi.status().connected, true);
  clock.advance(0);
  assert.deepEqual(events, ["joined"]);
  wifi.connect("TwinLAN", "short");
  clock.advance(0);
  assert.deepEqual(events, ["joined", "lost"], "a refused join reports lost");
  assert.equal(wifi.status().connected, false);
});

test("a dropped network: the station loses its link, joins fail and scans miss it until it is restored", () => {
  const { clock, wifi, events } = radio();
  const seen: string[][] = [];
  wifi.connect("TwinLAN", "twinlan-2026");
  clock.advance(0);
  wifi.dropNetwork("TwinLAN");
  assert.equal(wifi.status().connected, false);
  clock.advance(0);
  assert.deepEqual(events, ["joined", "lost"]);
  wifi.connect("TwinLAN", "twinlan-2026");
  clock.advance(0);
  assert.deepEqual(events, ["joined", "lost", "lost"]);
  assert.equal(wifi.status().connected, false);
  wifi.scan((networks) => seen.push(networks.map((n) => n.ssid)));
  clock.advance(1000);
  assert.deepEqual(seen, [["Workshop-2.4G", "Cafe Guest"]]);

  wifi.restoreNetwork("TwinLAN");
  clock.advance(60_000);
  assert.equal(wifi.status().connected, false, "no join by itself (xs6wifi.c retries only a join under way)");
  wifi.connect("TwinLAN", "twinlan-2026");
  clock.advance(0);
  assert.equal(wifi.status().stationSsid, "TwinLAN");
  assert.deepEqual(events, ["joined", "lost", "lost", "joined"]);
});

test("dropping another network leaves the station alone; a network down from the start cannot be joined", () => {
  const { clock, wifi, events } = radio(["Cafe Guest"]);
  wifi.connect("Cafe Guest", "");
  clock.advance(0);
  assert.deepEqual(events, ["lost"]);
  wifi.connect("TwinLAN", "twinlan-2026");
  wifi.dropNetwork("Workshop-2.4G");
  clock.advance(0);
  assert.deepEqual(events, ["lost", "joined"]);
  assert.equal(wifi.status().connected, true);
});

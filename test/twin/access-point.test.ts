// The access point's lifecycle on the twin, over HTTP (short timings): fallback
// keeps it down while TwinLAN is joined, brings it up when the network is gone
// for apFallbackAfter and down apLinger after the next join (pressed Connect, or
// the board's own rejoin once the router is back); setup mode keeps
// it down across a reboot once joined; always never closes it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startStack } from "../support/stack";
import { status, waitForStatus } from "../support/portal-client";
import { TWIN_NETWORK } from "../../twin/device";

const FALLBACK_MS = 400;
const LINGER_MS = 800;

async function connectStored(base: string): Promise<number> {
  const host = new URL(base).host;
  const body = `ssid=${TWIN_NETWORK.ssid}&stored=1`;
  const answer = await fetch(new URL("/wifi/connect", base), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: `http://${host}` }, body });
  return answer.status;
}

test("fallback: down while joined, up after the network is gone for apFallbackAfter, down again apLinger after the next join", async () => {
  const s = await startStack({ twin: { ap: { mode: "fallback", fallbackAfterMs: FALLBACK_MS, lingerMs: LINGER_MS } } });
  try {
    const base = s.twin.url;
    const joined = await waitForStatus(base, (x) => x.station.connected, "joined TwinLAN");
    assert.deepEqual(joined.ap, { ssid: "esp32-twin", address: "192.168.4.1", mode: "fallback", up: false, closesInS: null });
    assert.equal(s.twin.wifi.status().apUp, false, "never started: a network is stored");

    s.twin.dropNetwork(TWIN_NETWORK.ssid);
    const fallen = await waitForStatus(base, (x) => x.ap.up, "AP back after the fallback");
    assert.deepEqual([fallen.station.connected, fallen.ap.closesInS], [false, null]);
    assert.equal(await connectStored(base), 200);
    assert.equal(s.twin.wifi.status().connected, false, "the network is still off the air");

    s.twin.restoreNetwork(TWIN_NETWORK.ssid);
    assert.equal(await connectStored(base), 200);
    const lingering = await waitForStatus(base, (x) => x.station.connected && x.ap.closesInS !== null, "AP closing after the join");
    assert.equal(lingering.ap.up, true);
    assert.ok(lingering.ap.closesInS !== null && lingering.ap.closesInS <= 1, `closes within the linger: ${lingering.ap.closesInS}`);
    const closed = await waitForStatus(base, (x) => !x.ap.up, "AP down after the linger");
    assert.deepEqual(closed.ap, { ssid: "esp32-twin", address: "192.168.4.1", mode: "fallback", up: false, closesInS: null });
    assert.equal(s.twin.wifi.status().apUp, false);
  } finally {
    await s.stop();
  }
});

test("fallback, a router restart: the board rejoins by itself once its network is back, and the AP closes after the linger", async () => {
  const logs: string[] = [];
  const s = await startStack({ twin: { ap: { mode: "fallback", fallbackAfterMs: FALLBACK_MS, lingerMs: LINGER_MS }, rejoin: { firstRetryMs: 200, maxRetryMs: 400 }, log: (line) => logs.push(line) } });
  try {
    const base = s.twin.url;
    await waitForStatus(base, (x) => x.station.connected, "joined TwinLAN");
    s.twin.dropNetwork(TWIN_NETWORK.ssid);
    const away = await waitForStatus(base, (x) => x.ap.up && !x.station.connected, "AP back after the fallback");
    assert.ok(typeof away.station.rejoinInS === "number" && away.station.rejoinInS <= 1, `the next attempt is planned: ${away.station.rejoinInS}`);
    const tries = logs.filter((l) => l === `twin: wifi: rejoining "${TWIN_NETWORK.ssid}"`).length;
    assert.ok(tries >= 1, "tried while the network was away");
    s.twin.restoreNetwork(TWIN_NETWORK.ssid); // nobody presses Connect
    const back = await waitForStatus(base, (x) => x.station.connected, "rejoined by itself");
    assert.equal(back.station.ssid, TWIN_NETWORK.ssid);
    await waitForStatus(base, (x) => !x.ap.up, "AP down after the linger");
    assert.ok(logs.filter((l) => l === `twin: wifi: rejoining "${TWIN_NETWORK.ssid}"`).length > tries, "the join came from a rejoin attempt");
  } finally {
    await s.stop();
  }
});

test("setup: up until the first join, down after the linger, and still down after a reboot", async () => {
  const s = await startStack({ twin: { ap: { mode: "setup", fallbackAfterMs: FALLBACK_MS, lingerMs: LINGER_MS }, joinMs: 300 } });
  try {
    const base = s.twin.url;
    await waitForStatus(base, (x) => x.ap.closesInS !== null, "closing after the first join");
    await waitForStatus(base, (x) => !x.ap.up, "down after the linger");
    assert.equal(s.twin.store.get("ap.setup"), "joined");
    s.twin.restart();
    await s.twin.booted(2);
    const after = await status(base);
    assert.deepEqual(after.ap, { ssid: "esp32-twin", address: "192.168.4.1", mode: "setup", up: false, closesInS: null });
    s.twin.dropNetwork(TWIN_NETWORK.ssid);
    await new Promise((r) => setTimeout(r, FALLBACK_MS * 3));
    assert.equal((await status(base)).ap.up, false, "setup mode: a lost network does not reopen it");
  } finally {
    await s.stop();
  }
});

test("always: up at boot and still up long after the join", async () => {
  const s = await startStack({ twin: { ap: { mode: "always", fallbackAfterMs: FALLBACK_MS, lingerMs: LINGER_MS } } });
  try {
    const base = s.twin.url;
    await waitForStatus(base, (x) => x.station.connected, "joined");
    await new Promise((r) => setTimeout(r, LINGER_MS * 2));
    assert.deepEqual((await status(base)).ap, { ssid: "esp32-twin", address: "192.168.4.1", mode: "always", up: true, closesInS: null });
  } finally {
    await s.stop();
  }
});

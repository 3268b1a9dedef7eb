// ModdableWifi (modules/moddable/wifi-control.ts) over the SDK's own simulator
// `wifi` module (modules/network/wifi/sim/wifi.js, from $MODDABLE, bundled with
// esbuild; `net` answers no addresses, `timer` runs on Node's timers): the AP
// goes down and up again and the station joins in any order the lifecycle asks,
// without the mode errors wifi.js throws, and its notifications reach onStation.
// Skips when MODDABLE is not set.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { build } from "esbuild";
import { sdk, skipWithoutSdk } from "../support/moddable-sdk";
import type { StationEvent } from "../../modules/core/ports";

const skip = { skip: skipWithoutSdk };

interface WifiAdapter {
  powerOn(): void;
  startAccessPoint(): void;
  stopAccessPoint(): void;
  connect(ssid: string, password: string): void;
  onStation(listener: (event: StationEvent) => void): void;
  status(): { apUp: boolean; connected: boolean };
  close(): void;
}
type WifiAdapterClass = new (settings: { ssid: string; password?: string }) => WifiAdapter;

const TIMER = `export default {
  set(callback, ms = 0, repeat) { const id = { t: setTimeout(function tick() { if (repeat) id.t = setTimeout(tick, repeat); callback(id); }, ms) }; return id; },
  repeat(callback, ms) { const id = { callback, ms }; id.t = setInterval(() => callback(id), ms); return id; },
  schedule(id, ms, repeat) { clearInterval(id.t); clearTimeout(id.t); id.t = setTimeout(() => { id.callback(id); if (repeat) id.t = setInterval(() => id.callback(id), repeat); }, ms); },
  clear(id) { if (id) { clearTimeout(id.t); clearInterval(id.t); } },
};`;

let instances = 0;

/** The adapter bundled with the simulator's wifi.js: a fresh module instance (wifi.js allows one WiFi object per module). */
async function load(): Promise<WifiAdapterClass> {
  (globalThis as { trace?: (s: string) => void }).trace ??= () => undefined;
  const result = await build({
    entryPoints: [join(import.meta.dirname, "..", "..", "modules", "moddable", "wifi-control.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    write: false,
    plugins: [
      {
        name: "moddable-sim",
        setup(b) {
          b.onResolve({ filter: /^wifi$/ }, () => ({ path: join(sdk!, "modules", "network", "wifi", "sim", "wifi.js") }));
          b.onResolve({ filter: /^(timer|net)$/ }, (a) => ({ path: a.path, namespace: "moddable" }));
          b.onLoad({ filter: /.*/, namespace: "moddable" }, (a) => ({ contents: a.path === "timer" ? TIMER : "export default { get() { return undefined; } };", loader: "js" }));
        },
      },
    ],
  });
  const code = `${result.outputFiles[0].text}\n// instance ${++instances}`; // another URL: a module not in the import cache
  const module = (await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`)) as { ModdableWifi: WifiAdapterClass };
  return module.ModdableWifi;
}

function nextEvent(events: StationEvent[], count: number, timeoutMs = 8000): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const look = () => {
      if (events.length >= count) return resolve();
      if (Date.now() > until) return reject(new Error(`no station event ${count} within ${timeoutMs} ms: ${events.join(", ")}`));
      setTimeout(look, 50);
    };
    look();
  });
}

test("fallback order on the simulator: station first, the AP later, down again, then a rejoin; notifications reach onStation", skip, async () => {
  const ModdableWifi = await load();
  const wifi = new ModdableWifi({ ssid: "ota-5E7111" });
  const events: StationEvent[] = [];
  wifi.onStation((e) => events.push(e));
  try {
    wifi.powerOn();
    assert.equal(wifi.status().apUp, false);
    wifi.connect("home", "password1");
    await nextEvent(events, 1);
    assert.deepEqual(events, ["joined"]);
    assert.equal(wifi.status().connected, true);
    wifi.startAccessPoint(); // wifi.js refuses accessPoint() in station mode: the adapter sets mode 3 first
    assert.equal(wifi.status().apUp, true);
    wifi.stopAccessPoint();
    assert.equal(wifi.status().apUp, false);
    wifi.connect("home", "invalid!"); // wifi.js's refused password
    await nextEvent(events, 2);
    assert.deepEqual(events, ["joined", "lost"]);
    assert.equal(wifi.status().connected, false);
    wifi.startAccessPoint();
    wifi.connect("home", "password1");
    await nextEvent(events, 3);
    assert.deepEqual(events, ["joined", "lost", "joined"]);
  } finally {
    wifi.close();
  }
});

test("setup order on the simulator: the AP first (Wi-Fi not started), then the station", skip, async () => {
  const ModdableWifi = await load();
  const wifi = new ModdableWifi({ ssid: "ota-5E7111", password: "" });
  const events: StationEvent[] = [];
  wifi.onStation((e) => events.push(e));
  try {
    wifi.powerOn();
    wifi.startAccessPoint();
    wifi.connect("home", "password1");
    await nextEvent(events, 1);
    wifi.stopAccessPoint();
    assert.deepEqual([wifi.status().apUp, wifi.status().connected], [false, true]);
  } finally {
    wifi.close();
  }
});

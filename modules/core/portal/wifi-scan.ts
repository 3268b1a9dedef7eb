// Wi-Fi scanning for the portal. A scan takes seconds and the portal handler is
// synchronous, so one request starts it and the page polls its state.
import type { Clock, WifiControl, WifiNetwork } from "../ports";

/** Networks kept from one scan (strongest first): bounds memory and keeps the Wi-Fi page under 8 KB. */
export const MAX_NETWORKS = 15;
/** A scan that has not reported after this long counts as finished with nothing found. */
export const SCAN_TIMEOUT_MS = 15000;

export type ScanState = { state: "idle" } | { state: "scanning" } | { state: "ready"; networks: WifiNetwork[] };

export interface Scanner {
  /** Starts a scan unless one is under way. */
  start(): void;
  state(): ScanState;
}

/** Drops hidden networks, keeps the strongest entry per SSID, strongest first. */
export function tidyNetworks(networks: readonly WifiNetwork[]): WifiNetwork[] {
  const best = new Map<string, WifiNetwork>();
  for (const n of networks) {
    if (typeof n.ssid !== "string" || n.ssid === "") continue;
    const seen = best.get(n.ssid);
    if (!seen || n.rssi > seen.rssi) best.set(n.ssid, { ssid: n.ssid, rssi: n.rssi, secure: !!n.secure });
  }
  return Array.from(best.values())
    .sort((a, b) => b.rssi - a.rssi)
    .slice(0, MAX_NETWORKS);
}

export function createScanner(wifi: WifiControl, clock: Clock): Scanner {
  let current: ScanState = { state: "idle" };
  let generation = 0;
  let startedAt = 0;
  return {
    start() {
      if (this.state().state === "scanning") return;
      const mine = ++generation;
      current = { state: "scanning" };
      startedAt = clock.now();
      try {
        wifi.scan((networks) => {
          if (mine === generation) current = { state: "ready", networks: tidyNetworks(networks) };
        });
      } catch {
        // The radio refused (e.g. busy connecting): report an empty list rather than spin.
        if (mine === generation) current = { state: "ready", networks: [] };
      }
    },
    state() {
      // A radio that never reports must not leave the page polling forever.
      if (current.state === "scanning" && clock.now() - startedAt >= SCAN_TIMEOUT_MS) current = { state: "ready", networks: [] };
      return current;
    },
  };
}

// What the home page and /api/status say of the access point's lifecycle
// (modules/core/wifi/ap-lifecycle.ts): its mode, whether it is up, when it closes.
import type { WifiStatus } from "../ports";
import type { ApStatus, ApView } from "../updater-api";
import { hostName } from "./captive";

/** The lifecycle's status; without one the AP is as the radio says and never closes (today's "always"). */
export function apStatus(ap: ApView | undefined, wifi: WifiStatus): ApStatus {
  return ap ? ap.status() : { mode: "always", up: wifi.apUp, closesInS: null };
}

/** "4 min 5 s", "45 s". */
export function duration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  if (m === 0) return `${s} s`;
  return s === 0 ? `${m} min` : `${m} min ${s} s`;
}

/** One sentence for the home page. */
export function apStateText(status: ApStatus): string {
  const mode = `${status.mode} mode`;
  if (!status.up) {
    if (status.mode === "setup") return `Off (${mode}): it opens again only when no network is stored.`;
    return `Off (${mode}): it opens again when the station cannot join its network.`;
  }
  if (status.closesInS !== null) return `Up (${mode}): closes in ${duration(status.closesInS)}; the portal stays on the station's address.`;
  if (status.mode === "always") return `Up (${mode}): it stays up.`;
  return `Up (${mode}): it closes a while after the station joins a network.`;
}

/**
 * Where captive redirects send a browser: the portal host (the AP's address), or, while the
 * lifecycle keeps the AP down, the station's address on the portal's port (the AP's is off the air).
 */
export function portalHome(portalHost: string, ap: ApView | undefined, wifi: WifiStatus): string {
  if (!ap || ap.status().up || !wifi.stationAddress) return `http://${portalHost}/`;
  const port = portalHost.slice(hostName(portalHost).length);
  return `http://${wifi.stationAddress}${port}/`;
}

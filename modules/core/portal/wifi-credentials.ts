// Stored station credentials. main.ts joins the first of them at boot; the
// portal's Wi-Fi page adds, uses and forgets them.
//
// Store key (NVS: <= 15 chars): "wifi.creds" = JSON array of {ssid, pass},
// most recently used first, at most MAX_CREDENTIALS entries (well under the
// 4000-byte value limit: 5 x (32-byte SSID + 64-byte key) plus JSON).
import type { KeyValueStore } from "../ports";
import { utf8Length } from "./form";

export const CREDENTIALS_KEY = "wifi.creds";
export const MAX_CREDENTIALS = 5;

export interface WifiCredential {
  ssid: string;
  password: string;
}

/** Checks 802.11 limits: SSID 1-32 bytes; key empty (open), 8-63 chars, or 64 hex digits. */
export function validateCredential(ssid: string, password: string): string | undefined {
  const ssidBytes = utf8Length(ssid);
  if (ssidBytes === 0) return "Enter the network name (SSID).";
  if (ssidBytes > 32) return "The network name is longer than 32 bytes.";
  if (password === "") return undefined;
  if (/^[0-9a-fA-F]{64}$/.test(password)) return undefined;
  if (!/^[\x20-\x7e]*$/.test(password)) return "The password may only use printable ASCII characters.";
  if (password.length < 8 || password.length > 63) return "A WPA password has 8 to 63 characters.";
  return undefined;
}

/** The stored list; a damaged value reads as empty rather than breaking the portal. */
export function loadCredentials(store: KeyValueStore): WifiCredential[] {
  const text = store.get(CREDENTIALS_KEY);
  if (!text) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) return [];
    const out: WifiCredential[] = [];
    for (const item of parsed) {
      if (item && typeof item.ssid === "string" && typeof item.pass === "string") out.push({ ssid: item.ssid, password: item.pass });
    }
    return out.slice(0, MAX_CREDENTIALS);
  } catch {
    return [];
  }
}

function save(store: KeyValueStore, list: readonly WifiCredential[]): void {
  if (list.length === 0) store.delete(CREDENTIALS_KEY);
  else store.set(CREDENTIALS_KEY, JSON.stringify(list.map((c) => ({ ssid: c.ssid, pass: c.password }))));
}

/** Puts the credential first (replacing one with the same SSID), dropping the oldest beyond the cap. */
export function rememberCredential(store: KeyValueStore, credential: WifiCredential): string | undefined {
  const error = validateCredential(credential.ssid, credential.password);
  if (error) return error;
  const rest = loadCredentials(store).filter((c) => c.ssid !== credential.ssid);
  save(store, [credential, ...rest].slice(0, MAX_CREDENTIALS));
  return undefined;
}

export function forgetCredential(store: KeyValueStore, ssid: string): boolean {
  const list = loadCredentials(store);
  const rest = list.filter((c) => c.ssid !== ssid);
  if (rest.length === list.length) return false;
  save(store, rest);
  return true;
}

// Update-server settings, validated and kept in the key-value store (NVS:
// keys of at most 15 characters).
import type { KeyValueStore } from "../ports";
import type { ServerSettings } from "../updater-api";

export const SETTINGS_KEYS = { host: "ota.host", port: "ota.port", path: "ota.path" } as const;

/** Error text for unusable settings, undefined when fine. */
export function validateSettings(s: ServerSettings): string | undefined {
  if (typeof s.host !== "string" || s.host.length === 0) return "Enter the update server's host name or address";
  if (s.host.length > 253 || !/^[A-Za-z0-9.-]+$/.test(s.host)) return `Not a host name or address: ${s.host.slice(0, 40)}`;
  if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) return "Port must be a number from 1 to 65535";
  if (typeof s.path !== "string" || s.path.length > 128) return "Catalog path is too long (128 characters at most)";
  if (/[\s?#%\\]/.test(s.path)) return "Catalog path may not contain spaces, ?, #, % or \\";
  if (s.path.split("/").includes("..")) return "Catalog path may not contain ..";
  return undefined;
}

/** "" and "/" mean the catalog root, which AutoConnect calls ".". */
export function normalizePath(path: string): string {
  const trimmed = path.trim().replace(/^\/+|\/+$/g, "");
  return trimmed === "" ? "." : trimmed;
}

export function loadSettings(store: KeyValueStore, defaults: ServerSettings): ServerSettings {
  const host = store.get(SETTINGS_KEYS.host);
  const port = Number(store.get(SETTINGS_KEYS.port));
  const path = store.get(SETTINGS_KEYS.path);
  const loaded: ServerSettings = {
    host: host ?? defaults.host,
    port: Number.isInteger(port) && port > 0 ? port : defaults.port,
    path: path ?? defaults.path,
  };
  return validateSettings(loaded) === undefined ? loaded : { ...defaults };
}

/** Validates, normalizes and stores; returns the stored settings or an error text. */
export function saveSettings(store: KeyValueStore, input: ServerSettings): ServerSettings | { error: string } {
  const s: ServerSettings = { host: String(input.host ?? "").trim(), port: Number(input.port), path: normalizePath(String(input.path ?? "")) };
  const error = validateSettings(s);
  if (error) return { error };
  store.set(SETTINGS_KEYS.host, s.host);
  store.set(SETTINGS_KEYS.port, String(s.port));
  store.set(SETTINGS_KEYS.path, s.path);
  return s;
}

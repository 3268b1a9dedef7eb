// Optional portal password (HTTP Basic). When a password is stored, the Wi-Fi
// and UPDATE pages and their APIs ask for it; home and /api/status stay open.
//
// Store key (NVS: <= 15 chars): "portal.pass" = the password, plain text as
// AutoConnect keeps it; absent = no password.
import { utf8Decode, utf8Encode } from "../bytes";
import { base64Decode, base64Encode } from "../base64";
import type { KeyValueStore } from "../ports";

export const PASSWORD_KEY = "portal.pass";
/** The user name the portal expects with the password. */
export const PORTAL_USER = "admin";
/** Longest password accepted, in UTF-8 bytes (the form body cap leaves room). */
export const MAX_PASSWORD = 64;

export interface Credentials {
  user: string;
  password: string;
}

/** Parses an Authorization header value ("Basic dXNlcjpwYXNz"); undefined if not Basic or malformed. */
export function parseBasic(header: string | undefined): Credentials | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const bytes = base64Decode(m[1]);
  if (!bytes) return undefined;
  const text = utf8Decode(bytes);
  const colon = text.indexOf(":");
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** Builds an Authorization header value (tests, host tools). */
export function basicHeader(user: string, password: string): string {
  return "Basic " + base64Encode(utf8Encode(`${user}:${password}`));
}

/** Compares without stopping at the first difference, so timing says little about the password. */
function sameText(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}

export function storedPassword(store: KeyValueStore): string | undefined {
  const value = store.get(PASSWORD_KEY);
  return value === undefined || value === "" ? undefined : value;
}

/** True when no password is set, or the header carries PORTAL_USER and the password. */
export function authorized(store: KeyValueStore, authorization: string | undefined): boolean {
  const password = storedPassword(store);
  if (password === undefined) return true;
  const given = parseBasic(authorization);
  if (!given) return false;
  return sameText(given.user, PORTAL_USER) && sameText(given.password, password);
}

/** Marks that a build-time password (config.portalPassword) was applied once, so removing it in the portal sticks. */
export const SEEDED_KEY = "portal.seeded";

/** Applies a build-time password once per board (main.ts, the twin); an error text when it cannot be used. */
export function seedPassword(store: KeyValueStore, initial: string): string | undefined {
  if (store.get(SEEDED_KEY) !== undefined) return undefined;
  const problem = initial !== "" && storedPassword(store) === undefined ? setPassword(store, initial) : undefined;
  store.set(SEEDED_KEY, "1");
  return problem;
}

/** Stores a new password ("" removes it); returns an error text or undefined. */
export function setPassword(store: KeyValueStore, password: string): string | undefined {
  if (password === "") {
    store.delete(PASSWORD_KEY);
    return undefined;
  }
  if (utf8Encode(password).length > MAX_PASSWORD) return `The password is longer than ${MAX_PASSWORD} bytes.`;
  store.set(PASSWORD_KEY, password);
  return undefined;
}

// Board credentials on check-ins: with a fleet secret in the board's config,
// each check-in carries `x-Ota-Auth: v1 <ms> <hmac>`, the HMAC-SHA256 (RFC 2104)
// under the secret of the board's own headers and the time it was sent, so the
// update server can tell the board's reports from anyone's (server/fleet/board-auth.ts).
// The server refuses a time outside its window or not after the board's last
// one, so a captured check-in cannot be replayed. Computed through the
// DigestFactory port (the board's own SHA-256), one header at a time: memory
// stays two 64-byte pads and the digest's state, whatever the headers.
import type { DigestFactory } from "../ports";
import { toHex, utf8Encode } from "../bytes";

export const AUTH_HEADER = "x-Ota-Auth";
export const AUTH_VERSION = "v1";
const BLOCK = 64;

/** The headers the HMAC covers: the board's HTTPUpdate headers and a mod host's. */
export function isSignedHeader(name: string): boolean {
  return /^x-(esp8266|esp32)-|^x-ota-mod/i.test(name);
}

/**
 * The signed text, as pieces: "ota-checkin-v1\n<ms>\n" then, for each signed
 * header in order of its lower-cased name, "<name>:<value>\n" (value trimmed,
 * as HTTP parsers hand it over).
 */
export function authPieces(headers: ReadonlyArray<readonly [string, string]>, at: number): string[] {
  const signed = headers
    .filter(([name]) => isSignedHeader(name))
    .map(([name, value]) => [name.toLowerCase(), value.trim()] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return [`ota-checkin-${AUTH_VERSION}\n${at}\n`, ...signed.map(([name, value]) => `${name}:${value}\n`)];
}

/** HMAC-SHA256 of the pieces, each fed to the digest as it comes. */
export function hmacSha256(digest: DigestFactory, secret: string, pieces: readonly string[]): Uint8Array {
  let key = utf8Encode(secret);
  if (key.length > BLOCK) {
    const d = digest("SHA256");
    d.write(key);
    key = d.close();
  }
  const pad = new Uint8Array(BLOCK);
  const inner = digest("SHA256");
  for (let i = 0; i < BLOCK; i++) pad[i] = (key[i] ?? 0) ^ 0x36;
  inner.write(pad);
  for (const piece of pieces) inner.write(utf8Encode(piece));
  const innerHash = inner.close();
  const outer = digest("SHA256");
  for (let i = 0; i < BLOCK; i++) pad[i] = (key[i] ?? 0) ^ 0x5c;
  outer.write(pad);
  outer.write(innerHash);
  return outer.close();
}

/** The x-Ota-Auth header for a check-in with these headers, sent at `at` (wall-clock ms). */
export function checkInAuthHeader(digest: DigestFactory, secret: string, headers: ReadonlyArray<readonly [string, string]>, at: number): readonly [string, string] {
  const t = Math.floor(at);
  return [AUTH_HEADER, `${AUTH_VERSION} ${t} ${toHex(hmacSha256(digest, secret, authPieces(headers, t)))}`];
}

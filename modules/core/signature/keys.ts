// The owner's public keys, as a board is configured with them (manifest config,
// one entry per key, several for rotation). A key is given as the PEM file
// `ota-server keys new` writes, or as its base64 body on one line (the
// SubjectPublicKeyInfo, DER), which fits a JSON string.
//
// Key id: SHA-256 of the SPKI's DER bytes, the same as
//   openssl pkey -pubin -in owner.pub -outform DER | sha256sum
// Fingerprint shown to people: its first 16 hex digits in groups of four.
import type { DigestFactory } from "../ports";
import { base64Decode, base64Encode } from "../base64";
import { toHex } from "../bytes";
import { isP256Point, pointFromSpki } from "./p256";

export interface TrustedKey {
  /** Uncompressed point 0x04 || X || Y (65 bytes), what a verifier takes. */
  point: Uint8Array;
  /** SubjectPublicKeyInfo, DER. */
  spki: Uint8Array;
  /** SHA-256 of `spki`, lowercase hex (the `key:` line of a .sig file). */
  id: string;
  /** "1a2b 3c4d 5e6f 7081": the first 16 hex digits of the id. */
  fingerprint: string;
}

export class KeyFormatError extends Error {
  override name = "KeyFormatError";
}

const PEM_BEGIN = "-----BEGIN PUBLIC KEY-----";
const PEM_END = "-----END PUBLIC KEY-----";
/** A PEM of a P-256 key is about 180 characters; anything far larger is not one. */
const MAX_KEY_TEXT = 1024;

export function fingerprintOf(id: string): string {
  return `${id.slice(0, 4)} ${id.slice(4, 8)} ${id.slice(8, 12)} ${id.slice(12, 16)}`;
}

/** Parses one public key (PEM or one-line base64 SPKI); throws KeyFormatError with the reason. */
export function parsePublicKey(text: string, digest: DigestFactory): TrustedKey {
  if (text.length > MAX_KEY_TEXT) throw new KeyFormatError("public key text is too long");
  let body = text.trim();
  if (body.startsWith("-----BEGIN ")) {
    if (!body.startsWith(PEM_BEGIN)) throw new KeyFormatError(`expected "${PEM_BEGIN}" (a private key must never be given to a board)`);
    const end = body.indexOf(PEM_END);
    if (end < 0) throw new KeyFormatError(`missing "${PEM_END}"`);
    body = body.slice(PEM_BEGIN.length, end);
  }
  body = body.replace(/\s+/g, "");
  const spki = base64Decode(body);
  if (!spki || body.length === 0) throw new KeyFormatError("public key is not base64");
  const point = pointFromSpki(spki);
  if (!point) throw new KeyFormatError("not an ECDSA P-256 public key (SubjectPublicKeyInfo with an uncompressed prime256v1 point)");
  if (!isP256Point(point)) throw new KeyFormatError("public key is not a point on the P-256 curve");
  const hash = digest("SHA256");
  hash.write(spki);
  const id = toHex(hash.close());
  return { point, spki: spki.slice(), id, fingerprint: fingerprintOf(id) };
}

/** One-line base64 of a key's SPKI: what goes into the manifest config. */
export function keyConfigText(spki: Uint8Array): string {
  return base64Encode(spki);
}

export interface KeyList {
  keys: TrustedKey[];
  /** One line per entry that was not a usable key ("key 2: ..."). */
  errors: string[];
}

/**
 * The key entries of the manifest's `config.signingKeys`: a list, or the
 * string mcconfig's command line makes of `signingKeys=MFkw...` (one key, or
 * several separated by commas). Any other value that is set becomes one entry
 * (reported unusable): a board someone meant to lock never ends up unlocked.
 */
export function signingKeyEntries(value: unknown): string[] {
  if (value === undefined || value === null || value === "") return [];
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === "string") return value.split(",").map((k) => k.trim()).filter((k) => k !== "");
  return [String(value)];
}

/**
 * Parses the configured keys. A board with any configured key takes only
 * signed images, even when some entries are unusable (they are reported, never
 * silently dropped into "signatures off").
 */
export function parseTrustedKeys(entries: readonly string[], digest: DigestFactory): KeyList {
  const keys: TrustedKey[] = [];
  const errors: string[] = [];
  entries.forEach((entry, i) => {
    try {
      const key = parsePublicKey(entry, digest);
      if (!keys.some((k) => k.id === key.id)) keys.push(key);
    } catch (error) {
      errors.push(`key ${i + 1}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  return { keys, errors };
}

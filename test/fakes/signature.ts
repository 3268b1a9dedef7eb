// Signing and verification in pure JS (@noble/curves P-256), so the same fakes
// run in core tests on Node and inside XS (xsnap has none of Moddable's native
// crypto). `nobleVerifier` is also the reference the bench measures.
import { p256 } from "@noble/curves/nist.js";
import type { SignatureVerifier } from "../../modules/core/ports";
import { formatSignatureFile } from "../../modules/core/signature/sig-file";
import { spkiFromPoint } from "../../modules/core/signature/p256";
import { statementBytes, type Claim } from "../../modules/core/signature/statement";
import { base64Encode } from "../../modules/core/base64";
import { sha256Hex } from "./digest";
import { sha256 } from "@noble/hashes/sha2.js";
import { readImageFacts } from "../../modules/core/signature/statement";

/** ECDSA P-256 / SHA-256 check; high-S accepted, as OpenSSL signs either way. */
export const nobleVerifier: SignatureVerifier = {
  verifyP256(message, signature, publicKey) {
    try {
      return p256.verify(signature, message, publicKey, { lowS: false, format: "compact" });
    } catch {
      return false;
    }
  },
};

export interface TestKey {
  secret: Uint8Array;
  point: Uint8Array;
  /** One-line base64 SPKI, as the manifest config holds it. */
  config: string;
  /** PEM, as `ota-server keys new` writes owner.pub. */
  pem: string;
  /** SHA-256 of the SPKI, hex. */
  id: string;
}

/** A key from a fixed 32-byte secret (XS has no random source; tests need none). */
export function testKey(seed: number): TestKey {
  const secret = new Uint8Array(32);
  for (let i = 0; i < 32; i++) secret[i] = (seed * 97 + i * 13 + 1) & 0xff;
  const point = p256.getPublicKey(secret, false);
  const spki = spkiFromPoint(point);
  const config = base64Encode(spki);
  const pem = `-----BEGIN PUBLIC KEY-----\n${config.slice(0, 64)}\n${config.slice(64)}\n-----END PUBLIC KEY-----\n`;
  return { secret, point, config, pem, id: sha256Hex(spki) };
}

/** The claim our signer makes for an image: its SHA-256, size and its own facts. */
export function claimFor(image: Uint8Array): Claim {
  const facts = readImageFacts(image);
  if (!facts) throw new Error("image has no app descriptor");
  return { sha256: sha256Hex(image), size: image.length, ...facts };
}

/** Signs a claim as `ota-server sign` does (deterministic RFC 6979 nonce here). */
export function signClaim(claim: Claim, key: TestKey): string {
  const signature = p256.sign(statementBytes(claim), key.secret, { lowS: false, format: "compact" });
  return formatSignatureFile({ claim, keyId: key.id, signature });
}

export function signImage(image: Uint8Array, key: TestKey): string {
  return signClaim(claimFor(image), key);
}

export const sha256Bytes = (bytes: Uint8Array): Uint8Array => sha256(bytes);

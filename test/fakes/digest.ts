// DigestFactory over @noble/hashes: pure JS, so the same fake runs on Node and in XS.
import { md5 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { Digest, DigestAlgorithm, DigestFactory } from "../../modules/core/ports";
import { toHex } from "../../modules/core/bytes";

export const nobleDigest: DigestFactory = (algorithm: DigestAlgorithm): Digest => {
  // Strict as crypt's Digest: an algorithm it does not know is an error, not SHA-256.
  if (algorithm !== "MD5" && algorithm !== "SHA256") throw new Error(`Digest: unsupported algorithm ${String(algorithm)}`);
  const hash = algorithm === "MD5" ? md5.create() : sha256.create();
  return {
    write(chunk) {
      hash.update(chunk);
    },
    close() {
      return hash.digest();
    },
  };
};

export function md5Hex(bytes: Uint8Array): string {
  return toHex(md5(bytes));
}

export function sha256Hex(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}

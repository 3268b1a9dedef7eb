// DigestFactory over `crypt` Digest (modules/crypt/digest/crypt.js, modCrypt.c).
// write() takes a typed array view directly (xsmcGetBufferReadable), so chunks
// are hashed in place without a copy.

import { Digest as CryptDigest } from "crypt";
import type { Digest, DigestAlgorithm, DigestFactory } from "../core/ports";

/** What this adapter uses of a crypt Digest (string in the union keeps the SDK's own typings assignable). */
interface NativeDigest {
  write(data: string | ArrayBuffer | ArrayBufferView): void;
  close(): ArrayBuffer;
}

export class CryptDigestAdapter implements Digest {
  #digest: NativeDigest;

  constructor(algorithm: DigestAlgorithm) {
    this.#digest = new CryptDigest(algorithm);
  }

  write(chunk: Uint8Array): void {
    this.#digest.write(chunk);
  }

  close(): Uint8Array {
    return new Uint8Array(this.#digest.close());
  }
}

export const cryptDigest: DigestFactory = (algorithm) => new CryptDigestAdapter(algorithm);

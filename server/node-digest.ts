// DigestFactory over node:crypto: the core's digests on Node (the server's key
// ids, the twin's update engine).
import { createHash } from "node:crypto";
import type { Digest, DigestAlgorithm, DigestFactory } from "../modules/core/ports";

const NAMES: Record<DigestAlgorithm, string> = { MD5: "md5", SHA256: "sha256" };

export const nodeDigest: DigestFactory = (algorithm: DigestAlgorithm): Digest => {
  const hash = createHash(NAMES[algorithm]);
  return {
    write: (chunk) => void hash.update(chunk),
    close: () => new Uint8Array(hash.digest()),
  };
};

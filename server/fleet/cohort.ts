// Which boards a rollout stage covers: a board's bucket is a hash of its MAC
// (0..9999), and a stage of p percent covers buckets below p * 100. The hash
// depends on nothing else, so a board in at 10 % is still in at 50 %, and the
// same boards go first in every rollout: a stable canary group.
import { createHash } from "node:crypto";

export const BUCKETS = 10_000;

/** `mac` normalized "AA:BB:CC:DD:EE:FF" (device-headers.ts normalizeMac). */
export function bucketOf(mac: string): number {
  return createHash("sha256").update(mac).digest().readUInt32BE(0) % BUCKETS;
}

export function inStage(bucket: number, percent: number): boolean {
  return bucket < Math.round(percent * (BUCKETS / 100));
}

/** Index of the first stage that covers the bucket, or -1. */
export function firstStage(bucket: number, stages: readonly number[]): number {
  return stages.findIndex((p) => inStage(bucket, p));
}

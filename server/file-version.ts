// A file version is what a descriptor or a path shows at one moment: device,
// inode, size, mtime and ctime. ctime changes on every write, truncate, rename
// and link change and cannot be set back by utimes(), so a same-size rewrite
// that restores mtime (`cp -p`, `rsync --inplace -t`) is still a new version.
// Cached bytes, digests and image facts are keyed by it, and anything served
// from a descriptor is checked against it again before its last byte leaves.
import type { BigIntStats } from "node:fs";
import { fstat, statSync } from "node:fs";

export interface FileVersion {
  /** dev:ino:size:mtime:ctime (nanoseconds). */
  key: string;
  size: number;
  mtimeMs: number;
  /** Last change of contents or metadata, for the racy-read check (image-store.ts). */
  ctimeMs: number;
}

export function fileVersion(st: BigIntStats): FileVersion {
  return {
    key: `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`,
    size: Number(st.size),
    mtimeMs: Number(st.mtimeNs / 1_000_000n),
    ctimeMs: Number(st.ctimeNs / 1_000_000n),
  };
}

export function fstatVersion(fd: number): Promise<FileVersion> {
  return new Promise((resolve, reject) => fstat(fd, { bigint: true }, (error, st) => (error ? reject(error) : resolve(fileVersion(st)))));
}

/**
 * The version a path shows now (symlinks followed), or undefined when it is no
 * regular file. Synchronous on purpose: one stat of a path whose folders the kernel has
 * cached is a few microseconds, where a round trip through the I/O threads
 * costs tens (measured under load on the download path, bench/). Used once per
 * request for a file already held in memory; listings never stat on the event loop.
 */
export function statVersionNow(path: string): FileVersion | undefined {
  const st = statSync(path, { bigint: true, throwIfNoEntry: false });
  return st?.isFile() ? fileVersion(st) : undefined;
}

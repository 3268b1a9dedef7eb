// A file version is what a descriptor or a path shows at one moment: device,
// inode, size, mtime and ctime. ctime changes on every write, truncate, rename
// and link change and cannot be set back by utimes(), so a same-size rewrite
// that restores mtime (`cp -p`, `rsync --inplace -t`) is still a new version.
// Cached bytes, digests and image facts are keyed by it, and anything served
// from a descriptor is checked against it again before its last byte leaves.
import type { BigIntStats } from "node:fs";
import { fstat, stat } from "node:fs";

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

/** The version a path shows now (symlinks followed), or undefined when it is no regular file. */
export function statVersion(path: string): Promise<FileVersion | undefined> {
  return new Promise((resolve) => stat(path, { bigint: true }, (error, st) => resolve(error || !st.isFile() ? undefined : fileVersion(st))));
}

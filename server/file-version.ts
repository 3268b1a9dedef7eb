// A file version is what an open descriptor reads: same inode, size and
// modification times. Hashes are cached per version, and a download checks
// the version again before its last bytes leave (see file-stream.ts).
import type { BigIntStats } from "node:fs";
import { fstat } from "node:fs";

export interface FileVersion {
  /** Cache key: dev, inode, size, mtime and ctime. */
  key: string;
  /**
   * Same without ctime, for checks across a transfer: an atomic replace
   * (rename over the name) unlinks the old inode, which bumps its ctime
   * although its bytes never change.
   */
  contentKey: string;
  size: number;
  mtimeMs: number;
}

export function fileVersion(st: BigIntStats): FileVersion {
  // ctime changes on every write and cannot be set back by utimes(), so an
  // in-place rewrite that restores mtime is still a new version.
  const contentKey = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
  return { key: `${contentKey}:${st.ctimeNs}`, contentKey, size: Number(st.size), mtimeMs: Number(st.mtimeNs / 1_000_000n) };
}

export function fstatVersion(fd: number): Promise<FileVersion> {
  return new Promise((resolve, reject) =>
    fstat(fd, { bigint: true }, (error, st) => (error ? reject(error) : resolve(fileVersion(st)))),
  );
}

// MD5 and SHA-256 of a file, computed once per file version (inode, size,
// mtime, ctime) by reading through the caller's descriptor, so the digest
// always describes the bytes that descriptor serves. Streams in 256 KB reads.
import { createHash } from "node:crypto";
import { read } from "node:fs";
import { fstatVersion, type FileVersion } from "./file-version";

export interface FileDigests {
  md5: string; // lowercase hex
  sha256: string; // lowercase hex
}

/** Thrown when the file was written to while it was being hashed. */
export class FileChangedError extends Error {
  constructor() {
    super("file changed while it was read");
  }
}

const CHUNK = 256 * 1024;

function readAt(fd: number, buffer: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, buffer, 0, buffer.length, position, (error, n) => (error ? reject(error) : resolve(n))),
  );
}

/** Hashes bytes [0, version.size) of fd, then checks the version still holds. */
export async function hashDescriptor(fd: number, version: FileVersion): Promise<FileDigests> {
  const md5 = createHash("md5");
  const sha = createHash("sha256");
  const buffer = Buffer.allocUnsafe(CHUNK);
  let position = 0;
  while (position < version.size) {
    const n = await readAt(fd, buffer, position);
    if (n === 0) throw new FileChangedError(); // truncated under us
    const chunk = buffer.subarray(0, Math.min(n, version.size - position));
    md5.update(chunk);
    sha.update(chunk);
    position += chunk.length;
  }
  if ((await fstatVersion(fd)).contentKey !== version.contentKey) throw new FileChangedError();
  return { md5: md5.digest("hex"), sha256: sha.digest("hex") };
}

export class DigestCache {
  private readonly done = new Map<string, FileDigests>();
  private readonly running = new Map<string, Promise<FileDigests>>();
  /** Number of files actually hashed (tests use it to prove the cache works). */
  computed = 0;

  constructor(private readonly maxEntries = 4096) {}

  /**
   * Digests of the version `fd` shows; concurrent callers share one computation.
   * Every caller must keep its descriptor open until this settles: the shared
   * job reads through the first caller's descriptor.
   */
  async get(fd: number, version: FileVersion): Promise<FileDigests> {
    const hit = this.done.get(version.key);
    if (hit) return hit;
    const pending = this.running.get(version.key);
    if (pending) return pending;
    const job = hashDescriptor(fd, version).then(
      (digests) => {
        this.running.delete(version.key);
        this.computed++;
        if (this.done.size >= this.maxEntries) this.done.delete(this.done.keys().next().value as string);
        this.done.set(version.key, digests);
        return digests;
      },
      (error: unknown) => {
        this.running.delete(version.key);
        throw error;
      },
    );
    this.running.set(version.key, job);
    return job;
  }
}

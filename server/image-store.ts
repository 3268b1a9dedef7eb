// Firmware files as the server sends them: per file version, the MD5 and
// SHA-256, the image facts of the first bytes, and (for files up to
// `maxFileBytes`, i.e. any real firmware) the bytes themselves, held in a
// bounded LRU. A response then sends exactly the buffer that was hashed, so
// x-MD5 can never disagree with the body, whatever happens to the file.
//
// A file is read through the request's descriptor, then fstat'ed again: a
// version that changed while it was read (any write moves ctime) is read
// again. One case fstat cannot see: a write that lands while we read, within
// the same filesystem timestamp tick as the change before it (coarse clocks
// tick every 1-10 ms). So a read that starts within `settleMs` of the file's
// last change is not trusted: it is retried once the file has been quiet for
// that long. Files that keep changing get "busy" (the caller answers 503).
import { createHash } from "node:crypto";
import { read } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { fstatVersion, type FileVersion } from "./file-version";
import { classifyImage, HEAD_BYTES, type ImageFacts } from "./image-facts";
import { ModReader, type ModCheck } from "./mod-facts";

export interface FileDigests {
  md5: string; // lowercase hex
  sha256: string; // lowercase hex
}

export interface ImageEntry {
  version: FileVersion;
  digests: FileDigests;
  /** What the first bytes say (chip, app descriptor). */
  facts: ImageFacts;
  /** The file read as a Moddable mod (mod-facts.ts): its facts, or why it is none. Consulted for .xsa names only. */
  mod?: ModCheck;
  /** The whole file, when it fits in memory; otherwise it is streamed (file-sender.ts). */
  bytes?: Buffer;
}

export interface ImageStoreOptions {
  /** Bytes of file contents held in memory at most. */
  maxBytes: number;
  /** Larger files are hashed, not held, and streamed from their descriptor. */
  maxFileBytes: number;
  /** A read must start this long after the file's last change to be trusted. */
  settleMs: number;
  /** Called before each chunk is read (tests stage writes during a read with it). */
  beforeChunk?: (position: number) => Promise<void> | void;
}

export type LoadOutcome = { ok: true; entry: ImageEntry } | { ok: false; busy: true };

const ATTEMPTS = 4;
const READ_CHUNK = 1024 * 1024;
const MAX_ENTRIES = 4096;

function readAt(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buffer, offset, length, position, (error, n) => (error ? reject(error) : resolve(n))));
}

/** True when a read started at `startedMs` cannot overlap an unseen write (see the header comment). */
export function settled(version: FileVersion, startedMs: number, settleMs: number): boolean {
  return Math.abs(startedMs - version.ctimeMs) > settleMs;
}

class Hasher {
  private readonly md5 = createHash("md5");
  private readonly sha = createHash("sha256");
  update(chunk: Uint8Array): void {
    this.md5.update(chunk);
    this.sha.update(chunk);
  }
  digests(): FileDigests {
    return { md5: this.md5.digest("hex"), sha256: this.sha.digest("hex") };
  }
}

export class ImageStore {
  private readonly entries = new Map<string, ImageEntry>(); // LRU: oldest first
  private readonly running = new Map<string, Promise<LoadOutcome>>();
  /** Bytes of file contents held now. */
  held = 0;
  /** Files read from disk (tests use it to prove the cache works). */
  loads = 0;

  constructor(readonly options: ImageStoreOptions) {}

  /** The entry of this version, if known. */
  get(key: string): ImageEntry | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  /**
   * The digests of this version if it was already read (for a download or
   * /api/firmware), else undefined: one Map lookup, no I/O, and unlike get()
   * it leaves the LRU order alone, so listing a folder keeps no image alive.
   */
  digestsOf(key: string): FileDigests | undefined {
    return this.entries.get(key)?.digests;
  }

  /**
   * The entry for the version `fd` shows (`version`, from its fstat); concurrent
   * callers share one read. Every caller keeps its descriptor open until this
   * settles: the shared read goes through the first caller's descriptor.
   * A version that changes under the read is followed through `fd` (its new
   * version is what the entry then describes).
   */
  load(fd: number, version: FileVersion): Promise<LoadOutcome> {
    const hit = this.get(version.key);
    if (hit) return Promise.resolve({ ok: true, entry: hit });
    const pending = this.running.get(version.key);
    if (pending) return pending;
    const job = this.readSettled(fd, version).finally(() => this.running.delete(version.key));
    this.running.set(version.key, job);
    return job;
  }

  private async readSettled(fd: number, first: FileVersion): Promise<LoadOutcome> {
    let version = first;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const startedMs = Date.now();
      if (!settled(version, startedMs, this.options.settleMs)) {
        await sleep(this.options.settleMs + 1);
        version = await fstatVersion(fd);
        continue;
      }
      const hit = this.get(version.key);
      if (hit) return { ok: true, entry: hit };
      const entry = await this.readOnce(fd, version);
      if (entry) {
        this.loads++;
        this.remember(entry);
        return { ok: true, entry };
      }
      version = await fstatVersion(fd); // changed while read: look at what it is now
    }
    return { ok: false, busy: true };
  }

  /** Reads and hashes bytes [0, size); undefined when the file changed meanwhile. */
  private async readOnce(fd: number, version: FileVersion): Promise<ImageEntry | undefined> {
    const keep = version.size <= Math.min(this.options.maxFileBytes, this.options.maxBytes);
    const hasher = new Hasher();
    const mod = new ModReader(); // gives up at the first bytes of anything that is no XS archive
    const buffer = Buffer.allocUnsafeSlow(keep ? version.size : Math.min(READ_CHUNK, version.size));
    const head = Buffer.alloc(Math.min(HEAD_BYTES, version.size));
    let position = 0;
    while (position < version.size) {
      await this.options.beforeChunk?.(position);
      const offset = keep ? position : 0;
      const n = await readAt(fd, buffer, offset, Math.min(READ_CHUNK, version.size - position, buffer.length - offset), position);
      if (n === 0) return undefined; // truncated under us
      const chunk = buffer.subarray(offset, offset + n);
      hasher.update(chunk); // at most 1 MB per turn of the event loop
      mod.write(chunk);
      if (position < head.length) chunk.copy(head, position, 0, Math.min(n, head.length - position));
      position += n;
    }
    if ((await fstatVersion(fd)).key !== version.key) return undefined;
    return { version, digests: hasher.digests(), facts: classifyImage(head), mod: mod.end(), ...(keep ? { bytes: buffer } : {}) };
  }

  private remember(entry: ImageEntry): void {
    const size = entry.bytes?.length ?? 0;
    while (this.entries.size >= MAX_ENTRIES || (entry.bytes && this.held + size > this.options.maxBytes)) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.forget(oldest.value);
    }
    this.entries.set(entry.version.key, entry);
    this.held += entry.bytes?.length ?? 0;
  }

  private forget(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.held -= entry.bytes?.length ?? 0;
  }
}

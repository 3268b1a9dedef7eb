// X-Accel-Redirect mode: nginx in front of ota-server sends the bytes (with
// sendfile), ota-server keeps the gate, the rules, pre-flight and the headers.
//
// nginx must send exactly the bytes whose x-MD5 went out, even if the catalog
// file is rewritten meanwhile, so it is never pointed at the catalog itself:
// each version ota-server serves is written once into a snapshot folder,
// named by its SHA-256 and never modified after the rename that publishes it,
// and the answer redirects to `<prefix><sha256>.bin`, which an nginx
// `internal` location maps onto that folder (see docs/architecture.md).
// HEAD, Range requests and files too large to hold in memory (image-store.ts)
// are answered by ota-server itself.
import { chmod, mkdir, rename, stat, unlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyRequest } from "fastify";
import type { ServedFile } from "./served-file";

export interface AccelOptions {
  /** URI prefix of nginx's internal location, e.g. "/_ota_accel/". */
  prefix: string;
  /** Folder nginx's internal location aliases; ota-server writes snapshots there. */
  dir: string;
  /** Snapshot bytes kept before the least recently used ones are deleted. */
  maxBytes?: number;
  /** How often a known snapshot is looked for on disk again (someone may delete it). */
  recheckMs?: number;
}

interface Snapshot {
  size: number;
  lastUsed: number;
  /** Last time its presence on disk was checked. */
  checked: number;
}


/** A snapshot used within this long is never deleted: nginx may not have opened it yet. */
const GRACE_MS = 5 * 60_000;

export class AccelStore {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly writing = new Map<string, Promise<void>>();
  private held = 0;
  /** Snapshots written (tests read it). */
  written = 0;

  private constructor(
    readonly prefix: string,
    readonly dir: string,
    private readonly maxBytes: number,
    private readonly recheckMs: number,
  ) {}

  static async open(options: AccelOptions): Promise<AccelStore> {
    if (!/^\/([^/?#\s]+\/)*$/.test(options.prefix)) throw new Error(`accel prefix must be a path starting and ending with "/": ${options.prefix}`);
    await mkdir(options.dir, { recursive: true });
    return new AccelStore(options.prefix, options.dir, options.maxBytes ?? 512 * 1024 * 1024, options.recheckMs ?? 1000);
  }

  /** Where nginx should take the body from, or undefined when ota-server sends it. */
  async redirectFor(file: ServedFile, request: FastifyRequest): Promise<string | undefined> {
    const bytes = file.entry.bytes;
    if (request.method !== "GET" || request.headers.range !== undefined || !bytes) return undefined;
    const name = `${file.entry.digests.sha256}.bin`;
    await this.ensure(name, bytes, file.version.mtimeMs);
    return this.prefix + name;
  }

  private async ensure(name: string, bytes: Buffer, mtimeMs: number): Promise<void> {
    const known = this.snapshots.get(name);
    if (known) {
      const now = Date.now();
      known.lastUsed = now;
      if (now - known.checked < this.recheckMs) return;
      // deleted by someone else? write it again
      const st = await stat(join(this.dir, name)).catch(() => undefined);
      known.checked = now;
      if (st?.size === known.size) return;
      this.snapshots.delete(name);
      this.held -= known.size;
    }
    let job = this.writing.get(name);
    if (!job) {
      job = this.write(name, bytes, mtimeMs).finally(() => this.writing.delete(name));
      this.writing.set(name, job);
    }
    await job;
  }

  private async write(name: string, bytes: Buffer, mtimeMs: number): Promise<void> {
    const tmp = join(this.dir, `.${name}.${process.pid}.tmp`);
    await writeFile(tmp, bytes);
    await chmod(tmp, 0o644); // nginx workers may run as another user
    const mtime = new Date(mtimeMs);
    await utimes(tmp, mtime, mtime); // nginx's Last-Modified is then the catalog file's, as ours
    await rename(tmp, join(this.dir, name));
    this.written++;
    this.snapshots.set(name, { size: bytes.length, lastUsed: Date.now(), checked: Date.now() });
    this.held += bytes.length;
    await this.prune();
  }

  private async prune(): Promise<void> {
    const old = Date.now() - GRACE_MS;
    for (const [name, s] of [...this.snapshots].sort((a, b) => a[1].lastUsed - b[1].lastUsed)) {
      if (this.held <= this.maxBytes || s.lastUsed > old) break;
      this.snapshots.delete(name);
      this.held -= s.size;
      await unlink(join(this.dir, name)).catch(() => undefined);
    }
  }
}

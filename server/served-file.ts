// Finding the catalog file a request names, with everything a response needs:
// its version, digests and image facts (image-store.ts), and either its bytes
// in memory or an open descriptor to stream from.
//
// The first request for a path runs every containment guard (catalog-root.ts)
// and opens the file. Later requests for the same path whose one stat() shows
// the very version already held in memory are answered from memory without
// opening anything: the same inode, unchanged, that was checked before.
import type { FileHandle } from "node:fs/promises";
import { basename } from "node:path";
import type { CatalogRoot, Refusal } from "./catalog-root";
import { fileVersion, statVersionNow, type FileVersion } from "./file-version";
import type { ImageEntry, ImageStore } from "./image-store";

export interface ServedFile {
  /** Base name of the real file (Content-Disposition). */
  name: string;
  /** Catalog-relative path of the real file. */
  relative: string;
  /** Catalog-relative path as the client named it (a symlink's own path), where a .sig beside it is looked for first. */
  requested: string;
  version: FileVersion;
  entry: ImageEntry;
  /** Open only when the bytes are not in memory (entry.bytes absent): the caller streams and closes it. */
  handle?: FileHandle;
}

export type OpenOutcome = { ok: true; file: ServedFile } | { ok: false; status: 403 | 404 | 503; reason: string; detail: string };

interface Known {
  name: string;
  relative: string;
  requested: string;
  key: string;
}

const KNOWN_MAX = 4096;

function refused(r: Refusal): OpenOutcome {
  return r.reason === "forbidden"
    ? { ok: false, status: 403, reason: "Forbidden", detail: r.detail }
    : { ok: false, status: 404, reason: "Not Found", detail: r.detail };
}

export class FileFinder {
  /** Lexical path -> what it led to last time. */
  private readonly known = new Map<string, Known>();
  /** Requests answered without open() (tests read it). */
  fastHits = 0;

  constructor(
    private readonly root: CatalogRoot,
    private readonly images: ImageStore,
  ) {}

  /** The file `clientPath` names (percent-decoded; `leadingSlash` for URL paths). */
  async open(clientPath: string, leadingSlash: boolean): Promise<OpenOutcome> {
    const lexical = this.root.lexical(clientPath, leadingSlash);
    if (!lexical.ok) return refused(lexical);
    const fast = this.fromMemory(lexical.path);
    if (fast) return { ok: true, file: fast };

    const resolved = await this.root.resolve(clientPath, leadingSlash);
    if (!resolved.ok) return refused(resolved);
    const opened = await this.root.openFile(resolved);
    if (!opened.ok) return refused(opened);
    const { handle } = opened;
    try {
      const loaded = await this.images.load(handle.fd, fileVersion(opened.stat));
      if (!loaded.ok) {
        await handle.close();
        return { ok: false, status: 503, reason: "File is being written, retry", detail: "file kept changing while read" };
      }
      const { entry } = loaded;
      const file: ServedFile = { name: basename(resolved.path), relative: resolved.relative, requested: lexical.relative, version: entry.version, entry };
      if (entry.bytes) {
        await handle.close();
        this.remember(lexical.path, { name: file.name, relative: file.relative, requested: file.requested, key: entry.version.key });
      } else file.handle = handle;
      return { ok: true, file };
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }

  private fromMemory(lexicalPath: string): ServedFile | undefined {
    const known = this.known.get(lexicalPath);
    if (!known) return undefined;
    let now: FileVersion | undefined;
    try {
      now = statVersionNow(lexicalPath);
    } catch {
      now = undefined; // ENOTDIR, EACCES...: take the full path
    }
    const entry = now?.key === known.key ? this.images.get(known.key) : undefined;
    if (!entry?.bytes) {
      this.known.delete(lexicalPath);
      return undefined;
    }
    this.fastHits++;
    return { name: known.name, relative: known.relative, requested: known.requested, version: entry.version, entry };
  }

  private remember(lexicalPath: string, known: Known): void {
    if (this.known.size >= KNOWN_MAX) this.known.delete(this.known.keys().next().value as string);
    this.known.set(lexicalPath, known);
  }
}

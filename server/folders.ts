// Catalog folders as /_catalog and /api/catalog list them, built once and
// cached per folder until something in it changes.
//
// Building a listing: the folder passes the containment guards and is opened
// (catalog-root.ts); its entries are read and stat'ed through that descriptor
// (/proc/self/fd/N/name), so a folder swapped for a symlink meanwhile cannot
// put foreign names, sizes or dates in it; its identity is compared once more
// at the end. Everything runs on the I/O threads, never as a synchronous stat
// on the event loop. Hidden entries (".x") are left out.
//
// Dropping it: an inotify watch on the folder (and on the folders of symlink
// targets) drops the listing on any event; a request also compares the
// folder's own identity and times (one stat), which catches entries added,
// removed or renamed even before the event is read. Where a watch cannot be
// set up, listings are not cached.
import { constants, lstat, realpath, stat, watch, type BigIntStats, type Dirent, type FSWatcher } from "node:fs";
import { open, readdir, type FileHandle } from "node:fs/promises";
import { dirname, relative } from "node:path";
import type { CatalogRoot, Refusal } from "./catalog-root";
import { isHiddenName, throughDescriptor } from "./catalog-root";
import { fileVersion } from "./file-version";
import { classifyImage, HEAD_BYTES } from "./image-facts";
import type { ImageStore } from "./image-store";
import { isModName, MAX_MOD_FILE_BYTES } from "./mod-facts";
import type { ArchiveFacts } from "../modules/core/mods/archive";
import { isSignatureName, readSignature, signerOf, SIGNATURE_SUFFIX, type SignatureInfo } from "./signature-files";

export interface CatalogEntry {
  name: string;
  type: "bin" | "directory" | "file";
  date?: string;
  time?: string;
  size?: number;
}

/** What our /api/catalog adds for a `bin` entry, from its first bytes. */
export interface ImageFacts {
  chip?: string;
  chipId?: number;
  version?: string;
  /** esp_app_desc_t.project_name. */
  projectName?: string;
  /** A .sig beside it parses (signature-files.ts); false when there is none or it does not. */
  signed?: boolean;
  /** Its key's first 16 hex digits. */
  signer?: string;
}

/** What our /api/catalog says of a `.xsa` entry (a Moddable mod), read whole through the image store. */
export interface ModEntryFacts {
  size: number;
  /** The archive's facts; absent when it is no valid mod (then `error` says why). */
  facts?: ArchiveFacts;
  md5?: string;
  sha256?: string;
  error?: string;
  /** As ImageFacts: a .sig beside it parses, and its key's first 16 hex digits. */
  signed?: boolean;
  signer?: string;
}

export interface FolderView {
  /** Real path of the folder. */
  dir: string;
  entries: CatalogEntry[];
  /** Facts of each `bin` entry, by name. */
  facts: Map<string, ImageFacts>;
  /** Facts of each `.xsa` file entry, by name. */
  mods: Map<string, ModEntryFacts>;
  /** File version key (file-version.ts) of each `bin` entry as listed, by name: finds its digests in the image store. */
  versions: Map<string, string>;
  /** Encoded answers by kind, made on first use, with the stamp they were made for (see rendered()). */
  rendered: Map<string, { stamp: string; body: Buffer }>;
}

export type ViewOutcome = { ok: true; view: FolderView } | { ok: false; status: 403 | 404; reason: string; detail: string };

interface Cached {
  view: FolderView;
  /** dev:ino:mtime:ctime of the folder when it was listed. */
  stamp: string;
  watchers: FSWatcher[];
}

const IMAGE_MAGIC = 0xe9;
const BATCH = 64;
const MAX_FOLDERS = 256;
const MAX_EXTRA_WATCHES = 16;
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Python's os.path.splitext(name)[1] == ".bin" (leading dots do not start an extension). */
export function hasBinExtension(name: string): boolean {
  const stem = name.replace(/^\.+/, "");
  const dot = stem.lastIndexOf(".");
  return dot >= 0 && stem.slice(dot) === ".bin";
}

/** C-locale strftime %x and %X in server local time: MM/DD/YY and HH:MM:SS. */
export function catalogDateTime(mtimeMs: number): { date: string; time: string } {
  const d = new Date(mtimeMs);
  const two = (n: number) => String(n).padStart(2, "0");
  return {
    date: `${two(d.getMonth() + 1)}/${two(d.getDate())}/${two(d.getFullYear() % 100)}`,
    time: `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`,
  };
}

const lstatBig = (path: string) => new Promise<BigIntStats | undefined>((resolve) => lstat(path, { bigint: true }, (e, st) => resolve(e ? undefined : st)));
const statBig = (path: string) => new Promise<BigIntStats | undefined>((resolve) => stat(path, { bigint: true }, (e, st) => resolve(e ? undefined : st)));
const realpathOf = (path: string) => new Promise<string | undefined>((resolve) => realpath(path, (e, p) => resolve(e ? undefined : p)));
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function stampOf(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.mtimeNs}:${st.ctimeNs}`;
}

interface Described {
  entry: CatalogEntry;
  facts?: ImageFacts;
  /** A `<image>.sig` entry's contents, read through the same guards as an image head. */
  signature?: SignatureInfo;
  /** File version key of a `bin` entry. */
  version?: string;
  mod?: ModEntryFacts;
  /** What was read may change in a moment (a mod still being written): do not cache the listing. */
  volatile?: boolean;
  /** A folder outside this one whose changes this entry depends on (symlink target). */
  watch?: string;
}

// First bytes of each *.bin, per file version: a rebuilt listing reads only new images.
const headCache = new Map<string, { magic: boolean; facts: ImageFacts }>();
const HEAD_CACHE_MAX = 8192;

/**
 * Opens a catalog entry for a listing read (O_NONBLOCK: a FIFO named *.bin must not hang the
 * listing; O_NOFOLLOW: no symlink swapped in), checks where the descriptor points when asked,
 * and hands `read` the handle and its stats. undefined when it cannot be opened, points
 * elsewhere or the read fails; the handle is closed in every case.
 */
export async function readEntry<T>(path: string, root: CatalogRoot, checkDescriptor: boolean, read: (handle: FileHandle, st: BigIntStats) => Promise<T | undefined>): Promise<T | undefined> {
  const handle = await open(path, FILE_FLAGS).catch(() => undefined);
  if (!handle) return undefined;
  try {
    if (checkDescriptor && !root.holdsDescriptor(handle.fd)) return undefined;
    return await read(handle, await handle.stat({ bigint: true }));
  } catch {
    return undefined;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function imageHead(path: string, root: CatalogRoot, checkDescriptor: boolean): Promise<{ st: BigIntStats; key: string; magic: boolean; facts: ImageFacts } | undefined> {
  return readEntry(path, root, checkDescriptor, async (handle, st) => {
    const key = fileVersion(st).key;
    if (!st.isFile()) return { st, key, magic: false, facts: {} };
    const hit = headCache.get(key);
    if (hit) return { st, key, ...hit };
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(HEAD_BYTES), 0, HEAD_BYTES, 0);
    const head = buffer.subarray(0, bytesRead);
    const image = classifyImage(head);
    const facts: ImageFacts = {};
    if (image.header) {
      facts.chip = image.header.chipName;
      facts.chipId = image.header.chipId;
    }
    if (image.app && image.app.version !== "") facts.version = image.app.version;
    if (image.app && image.app.projectName !== "") facts.projectName = image.app.projectName;
    const found = { magic: head[0] === IMAGE_MAGIC, facts };
    if (headCache.size >= HEAD_CACHE_MAX) headCache.delete(headCache.keys().next().value as string);
    headCache.set(key, found);
    return { st, key, ...found };
  });
}

// .sig files per file version, as headCache.
const sigCache = new Map<string, SignatureInfo | undefined>();

/** A .sig beside an image, opened like imageHead opens an image (no FIFO hang, no symlink swapped in, a regular file). */
function signatureAt(path: string, root: CatalogRoot, checkDescriptor: boolean): Promise<SignatureInfo | undefined> {
  return readEntry(path, root, checkDescriptor, async (handle, st) => {
    if (!st.isFile()) return undefined;
    const version = fileVersion(st);
    if (sigCache.has(version.key)) return sigCache.get(version.key);
    const info = await readSignature(handle, version);
    if (sigCache.size >= HEAD_CACHE_MAX) sigCache.delete(sigCache.keys().next().value as string);
    sigCache.set(version.key, info);
    return info;
  });
}

/** A .xsa read whole (it is a few KB) through the image store, which keeps its digests, mod facts and bytes per file version. */
function modAt(path: string, root: CatalogRoot, checkDescriptor: boolean, images: ImageStore): Promise<{ mod: ModEntryFacts; volatile?: boolean } | undefined> {
  return readEntry(path, root, checkDescriptor, async (handle, st) => {
    if (!st.isFile()) return undefined;
    const size = Number(st.size);
    if (size > MAX_MOD_FILE_BYTES) return { mod: { size, error: `Mod file too large: ${size} bytes (at most ${MAX_MOD_FILE_BYTES})` } };
    const loaded = await images.load(handle.fd, fileVersion(st));
    if (!loaded.ok) return { mod: { size, error: "File is being written, retry" }, volatile: true };
    const { entry } = loaded;
    const check = entry.mod ?? { ok: false, error: "not read" };
    const base = { size: entry.version.size, md5: entry.digests.md5, sha256: entry.digests.sha256 };
    return { mod: check.ok ? { ...base, facts: check.facts } : { ...base, error: check.error } };
  });
}

function fileEntry(name: string, st: BigIntStats, magic: boolean): CatalogEntry {
  if (!magic) return { name, type: "file" };
  return { name, type: "bin", ...catalogDateTime(Number(st.mtimeNs / 1_000_000n)), size: Number(st.size) };
}

async function describe(root: CatalogRoot, images: ImageStore | undefined, base: string, entry: Dirent): Promise<Described | undefined> {
  const name = entry.name;
  if (isHiddenName(name)) return undefined;
  const path = `${base}/${name}`;
  const st = await lstatBig(path);
  if (!st) return undefined; // vanished meanwhile
  if (st.isSymbolicLink()) return describeLink(root, images, name, path);
  if (st.isDirectory()) return { entry: { name, type: "directory" } };
  if (st.isFile() && isSignatureName(name)) return { entry: { name, type: "file" }, signature: await signatureAt(path, root, false) };
  // A mod is a "file" row of /_catalog, as updateserver.py lists any file that is no .bin image.
  if (st.isFile() && images && isModName(name)) return { entry: { name, type: "file" }, ...(await modAt(path, root, false, images)) };
  if (!st.isFile() || !hasBinExtension(name)) return { entry: { name, type: "file" } };
  const head = await imageHead(path, root, false);
  if (!head) return undefined;
  return { entry: fileEntry(name, head.st, head.magic), ...(head.magic ? { facts: head.facts, version: head.key } : {}) };
}

/** A symlink is listed only when its target is inside the catalog and not hidden; its facts come through the target's own descriptor. */
async function describeLink(root: CatalogRoot, images: ImageStore | undefined, name: string, path: string): Promise<Described | undefined> {
  const real = await realpathOf(path);
  if (!real || root.contains(real)) return undefined; // dangling, outside or hidden
  const st = await statBig(real);
  if (!st) return undefined;
  if (st.isDirectory()) return { entry: { name, type: "directory" } };
  if (st.isFile() && isSignatureName(name)) return { entry: { name, type: "file" }, signature: await signatureAt(real, root, true), watch: dirname(real) };
  if (st.isFile() && images && isModName(name)) return { entry: { name, type: "file" }, ...(await modAt(real, root, true, images)), watch: dirname(real) };
  if (!st.isFile() || !hasBinExtension(name)) return { entry: { name, type: "file" }, watch: dirname(real) };
  const head = await imageHead(real, root, true);
  if (!head) return undefined;
  return { entry: fileEntry(name, head.st, head.magic), ...(head.magic ? { facts: head.facts, version: head.key } : {}), watch: dirname(real) };
}

export class FolderCache {
  private readonly cache = new Map<string, Cached>(); // by lexical path
  private readonly building = new Map<string, Promise<ViewOutcome>>();
  /** Listings built (tests use it to prove the cache works). */
  builds = 0;
  private warned = false;

  constructor(
    private readonly root: CatalogRoot,
    private readonly onWatchError: (error: Error) => void = () => undefined,
    /** Reads `.xsa` files for their mod facts (without it, listings carry none). */
    private readonly images?: ImageStore,
  ) {}

  /** The listing of a client's folder path ("" or absent = the root); refusals name no path. */
  async view(clientPath: string | undefined): Promise<ViewOutcome> {
    const lexical = this.root.lexical(clientPath || ".");
    if (!lexical.ok) return refused(lexical);
    const cached = this.cache.get(lexical.path);
    if (cached) {
      const st = await statBig(lexical.path);
      await nextTurn(); // watch events already queued are handled before we trust the cache
      if (st && stampOf(st) === cached.stamp && this.cache.get(lexical.path) === cached) return { ok: true, view: cached.view };
      this.drop(lexical.path);
    }
    const pending = this.building.get(lexical.path);
    if (pending) return pending;
    const job = this.build(clientPath || ".", lexical.path).finally(() => this.building.delete(lexical.path));
    this.building.set(lexical.path, job);
    return job;
  }

  /** Drops every cached listing (and closes the watches). */
  close(): void {
    for (const path of [...this.cache.keys()]) this.drop(path);
  }

  private drop(path: string): void {
    const cached = this.cache.get(path);
    if (!cached) return;
    this.cache.delete(path);
    for (const w of cached.watchers) w.close();
  }

  private watchFolder(path: string, onChange: () => void): FSWatcher | undefined {
    try {
      const w = watch(path, { persistent: false }, onChange);
      w.on("error", onChange);
      return w;
    } catch (error) {
      if (!this.warned) {
        this.warned = true;
        this.onWatchError(error as Error);
      }
      return undefined;
    }
  }

  private async build(clientPath: string, lexicalPath: string): Promise<ViewOutcome> {
    const resolved = await this.root.resolve(clientPath);
    if (!resolved.ok) return refused(resolved);
    const opened = await this.root.openFolder(resolved);
    if (!opened.ok) return refused(opened);
    this.builds++;
    let changed = false;
    const watchers: FSWatcher[] = [];
    const onChange = () => {
      changed = true;
      this.drop(lexicalPath);
    };
    try {
      // Watch before reading, so a change during the listing is not missed.
      const own = this.watchFolder(resolved.path, onChange);
      if (own) watchers.push(own);
      else changed = true;
      const base = throughDescriptor(opened.handle.fd, resolved.path);
      const dirents = (await readdir(base, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const described: (Described | undefined)[] = [];
      for (let i = 0; i < dirents.length; i += BATCH)
        described.push(...(await Promise.all(dirents.slice(i, i + BATCH).map((d) => describe(this.root, this.images, base, d)))));
      const view: FolderView = { dir: resolved.path, entries: [], facts: new Map(), mods: new Map(), versions: new Map(), rendered: new Map() };
      const extra = new Set<string>();
      const signatures = new Map<string, SignatureInfo>();
      for (const d of described) {
        if (!d) continue;
        view.entries.push(d.entry);
        if (d.facts) view.facts.set(d.entry.name, d.facts);
        if (d.signature) signatures.set(d.entry.name, d.signature);
        if (d.version) view.versions.set(d.entry.name, d.version);
        if (d.mod) view.mods.set(d.entry.name, d.mod);
        if (d.volatile) changed = true;
        if (d.watch && relative(d.watch, resolved.path) !== "") extra.add(d.watch);
      }
      // Each image says whether a .sig beside it parses, and which key made it (the facts are copied: cached heads are shared).
      for (const [name, facts] of view.facts) {
        const signature = signatures.get(`${name}${SIGNATURE_SUFFIX}`);
        const signer = signerOf(signature);
        view.facts.set(name, { ...facts, signed: signature?.signed === true, ...(signer ? { signer } : {}) });
      }
      // Mods the same way: the .sig beside a .xsa, as beside an image.
      for (const [name, mod] of view.mods) {
        const signature = signatures.get(`${name}${SIGNATURE_SUFFIX}`);
        const signer = signerOf(signature);
        view.mods.set(name, { ...mod, signed: signature?.signed === true, ...(signer ? { signer } : {}) });
      }
      if (extra.size > MAX_EXTRA_WATCHES) changed = true;
      else
        for (const dir of extra) {
          const w = this.watchFolder(dir, onChange);
          if (w) watchers.push(w);
          else changed = true;
        }
      // Still the folder that was checked and opened? (Without /proc the listing went by path.)
      const now = await statBig(lexicalPath);
      const stamp = now ? stampOf(now) : "";
      if (stamp !== stampOf(opened.stat)) changed = true;
      if (!changed) {
        if (this.cache.size >= MAX_FOLDERS) this.drop(this.cache.keys().next().value as string);
        this.cache.set(lexicalPath, { view, stamp, watchers });
      } else for (const w of watchers) w.close();
      return { ok: true, view };
    } catch (error) {
      for (const w of watchers) w.close();
      // ENOTDIR (a file), or gone since it was resolved
      return { ok: false, status: 404, reason: "Not Found", detail: (error as NodeJS.ErrnoException).code ?? "listing failed" };
    } finally {
      await opened.handle.close().catch(() => undefined);
    }
  }
}

function refused(r: Refusal): ViewOutcome {
  return r.reason === "forbidden"
    ? { ok: false, status: 403, reason: "Forbidden", detail: r.detail }
    : { ok: false, status: 404, reason: "Not Found", detail: r.detail };
}

/**
 * An answer rendered once per cached listing, and again only when `stamp`
 * (what else the answer depends on, e.g. the digests known) changes.
 */
export function rendered(view: FolderView, kind: string, render: (view: FolderView) => string, stamp = ""): Buffer {
  const cached = view.rendered.get(kind);
  if (cached?.stamp === stamp) return cached.body;
  const body = Buffer.from(render(view), "utf8");
  view.rendered.set(kind, { stamp, body });
  return body;
}

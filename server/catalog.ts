// GET /_catalog?op=list&path=P: AutoConnect's catalog, byte-compatible with
// updateserver.py's answer (same keys, key order and JSON spacing), minus its
// bugs: folders are "directory" wherever the server was started, a missing
// folder is a JSON 404, paths are contained, and the order is stable (sorted).
import { constants, realpathSync, statSync, type Dirent, type Stats } from "node:fs";
import { open, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyPluginAsync } from "fastify";
import { isInside } from "./catalog-root";
import { refuse, sendJsonText } from "./responses";
import type { ServerContext } from "./context";

export interface CatalogEntry {
  name: string;
  type: "bin" | "directory" | "file";
  date?: string;
  time?: string;
  size?: number;
}

const IMAGE_MAGIC = 0xe9;

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

/** json.dumps() with Python's defaults: ", " and ": " separators, ensure_ascii. */
export function pythonJson(value: unknown): string {
  if (typeof value === "string") {
    // JSON.stringify escapes quotes, backslashes, controls and lone surrogates
    // as Python does; ensure_ascii also escapes every other non-ASCII unit.
    const text = JSON.stringify(value);
    return /[\u0080-\uffff]/.test(text) ? text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`) : text;
  }
  if (typeof value === "number") return String(value);
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    let out = "";
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out += `${out ? ", " : ""}${pythonJson(k)}: ${pythonJson(v)}`;
    return `{${out}}`;
  }
  return "null";
}

async function firstByte(path: string): Promise<number | undefined> {
  // O_NONBLOCK: a FIFO named *.bin must not hang the listing.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW).catch(() => undefined);
  if (!handle) return undefined;
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(1), 0, 1, 0);
    return bytesRead === 1 ? buffer[0] : undefined;
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

// First byte of each *.bin, per file version: a listing then costs one stat
// per entry, not an open/read/close per image.
const magicCache = new Map<string, boolean>();
const MAGIC_CACHE_MAX = 8192;

async function isImage(path: string, st: Stats): Promise<boolean> {
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  const hit = magicCache.get(key);
  if (hit !== undefined) return hit;
  const image = (await firstByte(path)) === IMAGE_MAGIC;
  if (magicCache.size >= MAGIC_CACHE_MAX) magicCache.delete(magicCache.keys().next().value as string);
  magicCache.set(key, image);
  return image;
}

// Entry metadata is read with synchronous stat calls: on a local catalog each
// is a few microseconds, where a promise round trip through the I/O threads
// costs more than the call itself (the catalog bench went from ~1,000 to the
// figure in the README). Image sniffing (open/read) stays asynchronous and is
// cached per file version.
async function describeEntry(root: string, dir: string, entry: Dirent): Promise<CatalogEntry | undefined> {
  const name = entry.name;
  let path = join(dir, name);
  // `dir` is a real path inside the root, so only a symlink can lead out.
  if (entry.isSymbolicLink()) {
    try {
      path = realpathSync(path);
    } catch {
      return undefined; // dangling
    }
    if (!isInside(root, path)) return undefined;
  }
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return undefined; // vanished meanwhile
  if (st.isDirectory()) return { name, type: "directory" };
  if (st.isFile() && hasBinExtension(name) && (await isImage(path, st))) return { name, type: "bin", ...catalogDateTime(st.mtimeMs), size: st.size };
  return { name, type: "file" };
}

/** One listing, in name order; entries whose real path leaves the root are left out. */
export async function listDirectory(root: string, dir: string): Promise<CatalogEntry[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: (CatalogEntry | undefined)[] = [];
  const BATCH = 64; // bounded parallelism for huge folders
  for (let i = 0; i < entries.length; i += BATCH)
    out.push(...(await Promise.all(entries.slice(i, i + BATCH).map((e) => describeEntry(root, dir, e)))));
  return out.filter((e): e is CatalogEntry => e !== undefined);
}

/** A query parameter's first value. */
export function first(value: unknown): string | undefined {
  if (Array.isArray(value)) return typeof value[0] === "string" ? value[0] : undefined;
  return typeof value === "string" ? value : undefined;
}

export type Listing =
  | { ok: true; dir: string; entries: CatalogEntry[] }
  | { ok: false; status: 403 | 404; reason: string; detail: string };

/** A client's folder path ("" or absent = the root) resolved in the catalog and listed; refusals name no path. */
export async function listFolder(context: ServerContext, clientPath: string | undefined): Promise<Listing> {
  const resolved = await context.root.resolve(clientPath || ".");
  if (!resolved.ok) {
    return resolved.reason === "forbidden"
      ? { ok: false, status: 403, reason: "Forbidden", detail: resolved.detail }
      : { ok: false, status: 404, reason: "Not Found", detail: resolved.detail };
  }
  try {
    return { ok: true, dir: resolved.path, entries: await listDirectory(context.root.path, resolved.path) };
  } catch (error) {
    // ENOTDIR (a file), or gone since it was resolved
    return { ok: false, status: 404, reason: "Not Found", detail: (error as NodeJS.ErrnoException).code ?? "listing failed" };
  }
}

export const catalogPlugin: FastifyPluginAsync<{ context: ServerContext }> = async (app, { context }) => {
  app.get("/_catalog", async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const op = first(query.op);
    if (op === undefined || op === "") return refuse(reply, 403, "Invalid catalog request");
    if (op !== "list") return refuse(reply, 403, "Unknown operation");
    const listing = await listFolder(context, first(query.path));
    if (!listing.ok) {
      request.log.info({ detail: listing.detail }, "catalog path refused");
      return refuse(reply, listing.status, listing.reason);
    }
    return sendJsonText(reply, pythonJson(listing.entries));
  });
};

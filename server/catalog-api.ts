// GET /api/catalog?path=P: the chip and version of each `bin` entry of a
// catalog folder, in /_catalog's order, for devices that want to disable
// images built for another chip. The compatibility catalog cannot carry them
// (AutoConnect parses each entry into a 256-byte buffer), so this is one extra
// small request. Same containment and error answers as /_catalog.
import { constants, type BigIntStats } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyPluginAsync } from "fastify";
import { first, listFolder } from "./catalog";
import type { ServerContext } from "./context";
import { fileVersion } from "./file-version";
import { classifyImage, readHead } from "./image-facts";
import { refuse, sendJsonText } from "./responses";

export interface ImageRow {
  name: string;
  chip?: string;
  chipId?: number;
  version?: string;
}

/** Keeps each row small enough for a device to buffer (it reads one row at a time). */
export const MAX_ROW_BYTES = 200;

const BATCH = 64;
const CACHE_MAX = 8192;

// Per file version (dev, inode, size, mtime, ctime): a listing costs one open
// and fstat per image, not a read of its head.
type Facts = Omit<ImageRow, "name">;
const factsCache = new Map<string, Facts>();

async function imageFacts(context: ServerContext, path: string): Promise<Facts> {
  // O_NONBLOCK: a FIFO swapped in after the listing must not hang the request.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined);
  if (!handle) return {};
  try {
    // A symlink swapped in after the listing must not lead out of the catalog.
    if (!context.root.holdsDescriptor(handle.fd)) return {};
    const st: BigIntStats = await handle.stat({ bigint: true });
    if (!st.isFile()) return {};
    const version = fileVersion(st);
    const hit = factsCache.get(version.key);
    if (hit) return hit;
    const facts = classifyImage(await readHead(handle.fd, version.size));
    const out: Facts = {};
    if (facts.header) {
      out.chip = facts.header.chipName;
      out.chipId = facts.header.chipId;
    }
    if (facts.app && facts.app.version !== "") out.version = facts.app.version;
    if (factsCache.size >= CACHE_MAX) factsCache.delete(factsCache.keys().next().value as string);
    factsCache.set(version.key, out);
    return out;
  } catch {
    return {};
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** The row as sent; without its version if that makes it too long; undefined if even the name is. */
export function rowText(row: ImageRow): string | undefined {
  const full = JSON.stringify(row);
  if (Buffer.byteLength(full) < MAX_ROW_BYTES) return full;
  const short = JSON.stringify({ ...row, version: undefined });
  return Buffer.byteLength(short) < MAX_ROW_BYTES ? short : undefined;
}

export const catalogApiPlugin: FastifyPluginAsync<{ context: ServerContext }> = async (app, { context }) => {
  app.get("/api/catalog", async (request, reply) => {
    const listing = await listFolder(context, first((request.query as Record<string, unknown>).path));
    if (!listing.ok) {
      request.log.info({ detail: listing.detail }, "catalog path refused");
      return refuse(reply, listing.status, listing.reason);
    }
    const bins = listing.entries.filter((e) => e.type === "bin");
    const rows: (string | undefined)[] = [];
    for (let i = 0; i < bins.length; i += BATCH)
      rows.push(
        ...(await Promise.all(
          bins.slice(i, i + BATCH).map(async (e) => rowText({ name: e.name, ...(await imageFacts(context, join(listing.dir, e.name))) })),
        )),
      );
    return sendJsonText(reply, `[${rows.filter((r) => r !== undefined).join(",")}]`);
  });
};

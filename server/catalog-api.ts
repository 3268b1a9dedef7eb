// GET /api/catalog?path=P: the chip, version and signature (`signed`, and the
// signing key's first 16 hex digits as `signer`) of each `bin` entry of a
// catalog folder, in /_catalog's order, for devices that want to disable
// images built for another chip. The compatibility catalog cannot carry them
// (AutoConnect parses each entry into a 256-byte buffer), so this is one extra
// small request. Same listing, containment and error answers as /_catalog.
import type { FastifyPluginAsync } from "fastify";
import type { ServerContext } from "./context";
import { rendered, type FolderView } from "./folders";
import { refuse, sendJsonBody } from "./responses";
import { folderQuerySchema, type FolderQuery } from "./schemas";

export interface ImageRow {
  name: string;
  chip?: string;
  chipId?: number;
  version?: string;
  signed?: boolean;
  signer?: string;
}

/** Keeps each row small enough for a device to buffer (it reads one row at a time). */
export const MAX_ROW_BYTES = 200;

/** The row as sent; without its version, then its signer, if that makes it too long; undefined if even the name is. */
export function rowText(row: ImageRow): string | undefined {
  for (const candidate of [row, { ...row, version: undefined }, { ...row, version: undefined, signer: undefined }]) {
    const text = JSON.stringify(candidate);
    if (Buffer.byteLength(text) < MAX_ROW_BYTES) return text;
  }
  return undefined;
}

function rows(view: FolderView): string {
  const out: string[] = [];
  for (const e of view.entries) {
    if (e.type !== "bin") continue;
    const text = rowText({ name: e.name, ...view.facts.get(e.name) });
    if (text !== undefined) out.push(text);
  }
  return `[${out.join(",")}]`;
}

export const catalogApiPlugin: FastifyPluginAsync<{ context: ServerContext }> = async (app, { context }) => {
  app.get<{ Querystring: FolderQuery }>("/api/catalog", { schema: { querystring: folderQuerySchema } }, async (request, reply) => {
    const listing = await context.folders.view(request.query.path);
    if (!listing.ok) {
      request.log.info({ detail: listing.detail }, "catalog path refused");
      return refuse(reply, listing.status, listing.reason);
    }
    return sendJsonBody(reply, rendered(listing.view, "api", rows));
  });
};

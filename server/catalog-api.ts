// GET /api/catalog?path=P: what each `bin` entry of a catalog folder is (chip,
// version, project name, whether a signature sits beside it (`signed`, and
// the signing key's first 16 hex digits as `signer`) and, when known, MD5),
// in /_catalog's order, for devices that disable images built for another
// chip or not signed by their owner, and mark the one they run. The
// compatibility catalog cannot carry them (AutoConnect parses each entry into
// a 256-byte buffer), so this is one extra small request. Same listing,
// containment and error answers as /_catalog.
import type { FastifyPluginAsync } from "fastify";
import type { ServerContext } from "./context";
import { rendered, type FolderView } from "./folders";
import type { ImageStore } from "./image-store";
import { refuse, sendJsonBody } from "./responses";
import { folderQuerySchema, type FolderQuery } from "./schemas";

export interface ImageRow {
  name: string;
  chip?: string;
  chipId?: number;
  version?: string;
  signed?: boolean;
  signer?: string;
  /** esp_app_desc_t.project_name. */
  projectName?: string;
  /** MD5 of the whole file (lowercase hex), the x-MD5 a download of it carries. */
  md5?: string;
}

/** Keeps each row small enough for a device to buffer (it reads one row at a time). */
export const MAX_ROW_BYTES = 200;

/**
 * The row as sent; when too long it drops its MD5, then its signer, then its
 * project name, then its version (the board checks each of them again after
 * the download); undefined if even the name is too long.
 */
export function rowText(row: ImageRow): string | undefined {
  const tries = [
    row,
    { ...row, md5: undefined },
    { ...row, md5: undefined, signer: undefined },
    { ...row, md5: undefined, signer: undefined, projectName: undefined },
    { ...row, md5: undefined, signer: undefined, projectName: undefined, version: undefined },
  ];
  for (const attempt of tries) {
    const text = JSON.stringify(attempt);
    if (Buffer.byteLength(text) < MAX_ROW_BYTES) return text;
  }
  return undefined;
}

/**
 * The MD5 of each `bin` entry the image store already holds. Cost: one Map
 * lookup per row and no I/O; an image gets there once it has been hashed for
 * a download or /api/firmware. Hashing here instead would read every image
 * of the folder in full (a few MB each) whenever a listing is rebuilt.
 */
function knownDigests(view: FolderView, images: ImageStore): (string | undefined)[] {
  return view.entries.map((e) => {
    const key = e.type === "bin" ? view.versions.get(e.name) : undefined;
    return key === undefined ? undefined : images.digestsOf(key)?.md5;
  });
}

function rows(view: FolderView, md5s: readonly (string | undefined)[]): string {
  const out: string[] = [];
  view.entries.forEach((e, i) => {
    if (e.type !== "bin") return;
    const md5 = md5s[i];
    const text = rowText({ name: e.name, ...view.facts.get(e.name), ...(md5 === undefined ? {} : { md5 }) });
    if (text !== undefined) out.push(text);
  });
  return `[${out.join(",")}]`;
}

/** The answer; rendered again only when a digest has come (or gone) since the last one. */
export function catalogApiBody(view: FolderView, images: ImageStore): Buffer {
  const md5s = knownDigests(view, images);
  return rendered(view, "api", (v) => rows(v, md5s), md5s.join(","));
}

export const catalogApiPlugin: FastifyPluginAsync<{ context: ServerContext }> = async (app, { context }) => {
  app.get<{ Querystring: FolderQuery }>("/api/catalog", { schema: { querystring: folderQuerySchema } }, async (request, reply) => {
    const listing = await context.folders.view(request.query.path);
    if (!listing.ok) {
      request.log.info({ detail: listing.detail }, "catalog path refused");
      return refuse(reply, listing.status, listing.reason);
    }
    return sendJsonBody(reply, catalogApiBody(listing.view, context.images));
  });
};

// GET /api/catalog?path=P: what each `bin` entry of a catalog folder is (chip,
// version, project name, whether a signature sits beside it (`signed`, and
// the signing key's first 16 hex digits as `signer`) and, when known, MD5),
// and each `.xsa` file (a Moddable mod: `kind: "mod"`, its name, version, the
// XS version it needs, size, digests, signature; or why it is no mod),
// in /_catalog's order, for devices that disable images built for another
// chip or not signed by their owner, and mark the one they run. The
// compatibility catalog cannot carry them (AutoConnect parses each entry into
// a 256-byte buffer), so this is one extra small request. Same listing,
// containment and error answers as /_catalog.
import type { FastifyPluginAsync } from "fastify";
import type { ServerContext } from "./context";
import { rendered, type FolderView, type ModEntryFacts } from "./folders";
import { xsMajorMinor } from "./mod-facts";
import type { ImageStore } from "./image-store";
import { refuse, sendJsonBody } from "./responses";
import { folderQuerySchema, type FolderQuery } from "./schemas";

export interface ImageRow {
  name: string;
  /** "firmware"; sent only when the row has room for it (absent means firmware, as from older servers). */
  kind?: "firmware";
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
 * Mod rows carry both digests and may be longer, still under the 256 bytes a
 * board buffers per row (modules/core/engine/catalog-facts.ts FACTS_LIMITS).
 */
export const MAX_MOD_ROW_BYTES = 250;

/** A `.xsa` entry's row. `name` is the file's name (as every row: it is how a board pairs rows with /_catalog's entries). */
export interface ModRow {
  name: string;
  kind: "mod";
  /** The mod's name (ota-mod.json's, else the archive's NAME). */
  modName?: string;
  /** ota-mod.json's version, else "". */
  version?: string;
  /** XS major.minor the mod needs: a host of another XS refuses it. */
  xs?: string;
  size: number;
  signed?: boolean;
  signer?: string;
  md5?: string;
  sha256?: string;
  /** Not a valid mod: why (the board shows it disabled). */
  error?: string;
}

const fits = (text: string, max: number) => Buffer.byteLength(text) < max;

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
  const { kind } = row;
  for (const attempt of tries) {
    const { kind: _k, name, ...rest } = attempt;
    const text = JSON.stringify({ name, ...rest });
    if (!fits(text, MAX_ROW_BYTES)) continue;
    // `kind` only where it fits on top of what the row would hold without it: never at the cost of a field.
    if (kind === undefined) return text;
    const withKind = JSON.stringify({ name, kind, ...rest });
    return fits(withKind, MAX_ROW_BYTES) ? withKind : text;
  }
  return undefined;
}

/**
 * A mod row as sent; when too long it drops its SHA-256 (the download
 * carries x-SHA256), then its MD5, signer, mod name and version; an error is
 * cut to fit; undefined if even name, kind, xs and size do not fit.
 */
export function modRowText(row: ModRow): string | undefined {
  const error = row.error === undefined ? undefined : row.error.slice(0, 96);
  const base = { ...row, error };
  const tries = [
    base,
    { ...base, sha256: undefined },
    { ...base, sha256: undefined, md5: undefined },
    { ...base, sha256: undefined, md5: undefined, signer: undefined },
    { ...base, sha256: undefined, md5: undefined, signer: undefined, modName: undefined },
    { ...base, sha256: undefined, md5: undefined, signer: undefined, modName: undefined, version: undefined },
    { ...base, sha256: undefined, md5: undefined, signer: undefined, modName: undefined, version: undefined, error: error?.slice(0, 32) },
  ];
  for (const attempt of tries) {
    const text = JSON.stringify(attempt);
    if (fits(text, MAX_MOD_ROW_BYTES)) return text;
  }
  return undefined;
}

export function modRow(name: string, mod: ModEntryFacts): ModRow {
  const sig = { signed: mod.signed === true, ...(mod.signer ? { signer: mod.signer } : {}) };
  const digests = { ...(mod.md5 ? { md5: mod.md5 } : {}), ...(mod.sha256 ? { sha256: mod.sha256 } : {}) };
  if (!mod.facts) return { name, kind: "mod", size: mod.size, ...sig, error: mod.error ?? "Not a mod" };
  const f = mod.facts;
  return { name, kind: "mod", modName: f.name, version: f.version, xs: xsMajorMinor(f), size: mod.size, ...sig, ...digests };
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
    const mod = e.type === "file" ? view.mods.get(e.name) : undefined;
    if (mod) {
      const text = modRowText(modRow(e.name, mod));
      if (text !== undefined) out.push(text);
      return;
    }
    if (e.type !== "bin") return;
    const md5 = md5s[i];
    const text = rowText({ name: e.name, kind: "firmware", ...view.facts.get(e.name), ...(md5 === undefined ? {} : { md5 }) });
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

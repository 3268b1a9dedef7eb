// Firmware images in the catalog: their facts (read from the image header, with
// the same parser the device uses), the list the dashboard offers, and uploads.
// An upload streams into a temporary file beside its final name (same folder,
// so the same filesystem), hashed and checked on the way; only a complete,
// valid image is renamed into place, atomically, so a board or a catalog
// listing never sees half a file.
import { createHash, randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { link, mkdir, open, readdir, realpath, rename, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join, relative, sep } from "node:path";
import type { Readable } from "node:stream";
import { isInside, type CatalogRoot } from "../catalog-root";
import { classifyImage, HEAD_BYTES, type ImageFacts } from "../image-facts";
import type { Db } from "./db";
import { FleetError } from "./rollouts";
import { isModName, MAX_MOD_FILE_BYTES, modIdentity, ModReader } from "../mod-facts";

export interface ImageInfo {
  path: string;
  size: number;
  /** "mod": a Moddable mod (.xsa); then `version` is its name@version (as x-Ota-Mod says it) and `project` its name. */
  family: ImageFacts["family"] | "mod";
  chip: string | null;
  version: string | null;
  project: string | null;
}

export interface UploadedImage extends ImageInfo {
  md5: string;
  sha256: string;
}

function describe(path: string, size: number, facts: ImageFacts): ImageInfo {
  return {
    path,
    size,
    family: facts.family,
    chip: facts.header?.chipName ?? (facts.family === "esp8266" ? "ESP8266" : null),
    version: facts.app?.version || null,
    project: facts.app?.projectName || null,
  };
}

/** Facts of a catalog file, or a FleetError (404 missing, 400 outside or not an ESP image). */
export async function catalogImage(root: CatalogRoot, path: string): Promise<ImageInfo> {
  if (typeof path !== "string" || path.trim() === "") throw new FleetError(400, "image: expected a catalog path such as fw/app-1.2.0.bin");
  const resolved = await root.resolve(path.trim());
  if (!resolved.ok) throw new FleetError(resolved.reason === "forbidden" ? 400 : 404, resolved.reason === "forbidden" ? "image: outside the catalog" : `image: no ${path} in the catalog`);
  // O_NONBLOCK first, then fstat: a FIFO named *.bin must not hang a thread-pool worker.
  const handle = await open(resolved.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => undefined);
  if (!handle) throw new FleetError(404, `image: cannot open ${path}`);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new FleetError(400, `image: ${path} is not a file`);
    const relativePath = resolved.relative.split(sep).join("/");
    if (isModName(relativePath)) return await catalogMod(handle, relativePath, st.size);
    const head = Buffer.alloc(Math.min(HEAD_BYTES, st.size));
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const facts = classifyImage(head.subarray(0, bytesRead));
    if (facts.family === "none") throw new FleetError(400, `image: ${path} is not an ESP app image`);
    return describe(resolved.relative.split(sep).join("/"), st.size, facts);
  } finally {
    await handle.close();
  }
}

/** A .xsa, read whole (mods are a few KB) through the core's archive check. */
async function catalogMod(handle: FileHandle, path: string, size: number): Promise<ImageInfo> {
  if (size > MAX_MOD_FILE_BYTES) throw new FleetError(400, `image: ${path} is too large for a mod (${size} bytes)`);
  const bytes = Buffer.alloc(size);
  let at = 0;
  while (at < size) {
    const { bytesRead } = await handle.read(bytes, at, size - at, at);
    if (bytesRead === 0) break;
    at += bytesRead;
  }
  const reader = new ModReader();
  reader.write(bytes.subarray(0, at));
  const check = reader.end();
  if (!check.ok) throw new FleetError(400, `image: ${path} is no valid mod: ${check.error}`);
  return { path, size: at, family: "mod", chip: null, version: modIdentity(check.facts), project: check.facts.name };
}

/** `.bin` (and `.xsa`: mods) files of the catalog (up to `depth` folders down, at most `max`), for the dashboard's choices. */
export async function catalogBins(root: CatalogRoot, depth = 3, max = 500): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, level: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (found.length >= max || e.name.startsWith(".")) continue;
      const p = join(dir, e.name);
      if (e.isDirectory() && level < depth) await walk(p, level + 1);
      else if (e.isFile() && (e.name.toLowerCase().endsWith(".bin") || isModName(e.name))) found.push(relative(root.path, p).split(sep).join("/"));
    }
  };
  await walk(root.path, 0);
  return found;
}

export interface UploadOptions {
  maxBytes: number;
  /** Replace an existing file of that name (atomically). Default: refuse with 409. */
  overwrite?: boolean;
  /** Content-Length the client announced. */
  declaredLength?: number;
  /** An x-MD5 the client sent: the upload is refused when the bytes differ. */
  expectedMd5?: string;
}

/** Where an upload may go: a catalog-relative .bin path without hidden segments. */
export function uploadTarget(root: CatalogRoot, name: string): string {
  // A backslash is no separator here: sub\..\x.bin would become one literal, misleading file name.
  if ([...name].some((c) => c === "\\" || c < " " || c === "\x7f")) throw new FleetError(400, "name: no backslashes or control characters");
  // Said first, in words: the catalog root refuses hidden names too, but only as "not inside".
  if (name.split("/").some((s) => s.startsWith("."))) throw new FleetError(400, "name: a .bin file name (folders allowed, no hidden segments)");
  const lexical = root.lexical(name);
  if (!lexical.ok || lexical.relative === "") throw new FleetError(400, "name: a catalog path inside the catalog");
  const segments = lexical.relative.split("/");
  if (segments.some((s) => s.startsWith(".") || s.length > 128) || !/\.bin$/i.test(lexical.relative) || segments.length > 4)
    throw new FleetError(400, "name: a .bin file name (folders allowed, no hidden segments)");
  return lexical.relative;
}

export async function receiveImage(root: CatalogRoot, db: Db, name: string, body: Readable, options: UploadOptions): Promise<UploadedImage> {
  const rel = uploadTarget(root, name);
  if (options.declaredLength !== undefined && options.declaredLength > options.maxBytes)
    throw new UploadTooLarge(options.maxBytes);
  const parent = join(root.path, dirname(rel));
  await mkdir(parent, { recursive: true });
  if (!isInside(root.path, await realpath(parent))) throw new FleetError(400, "name: a folder that leaves the catalog");
  const final = join(await realpath(parent), basename(rel));
  const temp = join(dirname(final), `.${basename(rel)}.${randomBytes(6).toString("hex")}.upload`);
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  let placed = false;
  try {
    const md5 = createHash("md5");
    const sha256 = createHash("sha256");
    const head = Buffer.alloc(HEAD_BYTES);
    let size = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (size + chunk.length > options.maxBytes) throw new UploadTooLarge(options.maxBytes);
      if (size < HEAD_BYTES) chunk.copy(head, size, 0, Math.min(chunk.length, HEAD_BYTES - size));
      md5.update(chunk);
      sha256.update(chunk);
      await handle.write(chunk);
      size += chunk.length;
    }
    if (options.declaredLength !== undefined && size !== options.declaredLength) throw new FleetError(400, `upload ended after ${size} of ${options.declaredLength} bytes`);
    const facts = classifyImage(head.subarray(0, Math.min(size, HEAD_BYTES)));
    if (facts.family === "none") throw new FleetError(400, "not an ESP app image (the first byte must be 0xE9, or 0x1F for a gzip ESP8266 image)");
    const digests = { md5: md5.digest("hex"), sha256: sha256.digest("hex") };
    if (options.expectedMd5 !== undefined && options.expectedMd5.toLowerCase() !== digests.md5)
      throw new FleetError(400, `x-MD5 ${options.expectedMd5} does not match the bytes received (${digests.md5})`);
    await handle.sync();
    await handle.close();
    if (options.overwrite) await rename(temp, final);
    else {
      // link() fails if the name exists: no window where another upload is overwritten.
      try {
        await link(temp, final);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new FleetError(409, `${rel} exists: send overwrite=1 to replace it`);
        throw error;
      }
      await unlink(temp);
    }
    placed = true;
    const info: UploadedImage = { ...describe(rel, size, facts), ...digests };
    await db.run(
      `INSERT INTO images (path, size, md5, sha256, family, chip, version, project, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (path) DO UPDATE SET size = excluded.size, md5 = excluded.md5, sha256 = excluded.sha256, family = excluded.family,
         chip = excluded.chip, version = excluded.version, project = excluded.project, uploaded_at = excluded.uploaded_at`,
      [info.path, info.size, info.md5, info.sha256, info.family, info.chip, info.version, info.project, Date.now()],
    );
    return info;
  } finally {
    await handle.close().catch(() => undefined);
    if (!placed) await unlink(temp).catch(() => undefined);
  }
}

export class UploadTooLarge extends FleetError {
  constructor(readonly limit: number) {
    super(413, `image larger than the upload limit (${limit} bytes)`);
  }
}

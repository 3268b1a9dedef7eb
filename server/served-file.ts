// Opening a catalog file for sending: containment, one descriptor opened at
// request start, its version (fstat) and the digests of exactly that version.
import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { basename } from "node:path";
import type { CatalogRoot } from "./catalog-root";
import { FileChangedError, type DigestCache, type FileDigests } from "./digests";
import { fileVersion, type FileVersion } from "./file-version";

export interface ServedFile {
  handle: FileHandle;
  name: string;
  version: FileVersion;
  digests: FileDigests;
}

export type OpenOutcome = { ok: true; file: ServedFile } | { ok: false; status: 403 | 404 | 503; reason: string; detail: string };

const NOT_FOUND = { ok: false, status: 404, reason: "Not Found" } as const;
const ATTEMPTS = 3;

export async function openServedFile(root: CatalogRoot, digests: DigestCache, clientPath: string, leadingSlash: boolean): Promise<OpenOutcome> {
  const resolved = await root.resolve(clientPath, leadingSlash);
  if (!resolved.ok) {
    return resolved.reason === "forbidden"
      ? { ok: false, status: 403, reason: "Forbidden", detail: resolved.detail }
      : { ...NOT_FOUND, detail: resolved.detail };
  }
  let handle: FileHandle;
  try {
    handle = await open(resolved.path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    return { ...NOT_FOUND, detail: (error as NodeJS.ErrnoException).code ?? "open failed" };
  }
  try {
    if (!root.holdsDescriptor(handle.fd)) {
      await handle.close();
      return { ok: false, status: 403, reason: "Forbidden", detail: "descriptor outside the catalog" };
    }
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const st = await handle.stat({ bigint: true });
      if (!st.isFile()) {
        await handle.close();
        return { ...NOT_FOUND, detail: "not a regular file" };
      }
      const version = fileVersion(st);
      try {
        const d = await digests.get(handle.fd, version);
        return { ok: true, file: { handle, name: basename(resolved.path), version, digests: d } };
      } catch (error) {
        if (!(error instanceof FileChangedError)) throw error;
        // written in place while hashed: look again at the new version
      }
    }
    await handle.close();
    return { ok: false, status: 503, reason: "File is being written, retry", detail: "file kept changing while hashed" };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/** For `.catch()`: closes the file's descriptor, then rethrows. */
export function closing(file: ServedFile): (error: unknown) => Promise<never> {
  return async (error) => {
    await file.handle.close().catch(() => undefined);
    throw error;
  };
}

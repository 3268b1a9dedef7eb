// Containment of every client-supplied path in the catalog root. Each guard is
// its own function so each can be tested alone (test/server/catalog-root.test.ts):
//   1. lexical(): no NUL, no absolute path, no "..", no hidden segment (".x");
//   2. resolve(): the real path (symlinks followed) is inside the root and not hidden;
//   3. open with O_NOFOLLOW | O_NONBLOCK: a final symlink swapped in after resolve()
//      is refused, and a FIFO or device never blocks the open;
//   4. holdsDescriptor(): where the opened descriptor really points (/proc), so an
//      intermediate folder swapped for a symlink after resolve() is caught;
//   5. the descriptor's fstat says what it is (regular file, folder).
// Answers never carry a server path.
import { constants, readlinkSync, type BigIntStats } from "node:fs";
import { open, realpath, stat, type FileHandle } from "node:fs/promises";
import { isAbsolute, join, relative, sep } from "node:path";

export type Refusal = { ok: false; reason: "forbidden" | "not-found"; detail: string };
export type Resolved = { ok: true; path: string; relative: string } | Refusal;
export type Opened = { ok: true; handle: FileHandle; stat: BigIntStats; relative: string } | Refusal;

const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const DIR_FLAGS = FILE_FLAGS | constants.O_DIRECTORY;

/** True when `candidate` (a resolved absolute path) is `root` or lies under it. */
export function isInside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  if (rel === "") return true;
  if (isAbsolute(rel)) return false;
  return rel.split(sep)[0] !== "..";
}

/** A dot file or dot folder (".env", ".git"): never listed, never served. */
export function isHiddenName(name: string): boolean {
  return name.startsWith(".") && name !== ".";
}

/** Any segment of a root-relative path is hidden. */
export function hasHiddenSegment(rel: string): boolean {
  return rel.split(sep).some(isHiddenName);
}

export class CatalogRoot {
  private constructor(readonly path: string) {}

  /** Resolves the root once (relative paths against the working directory). */
  static async open(dir: string): Promise<CatalogRoot> {
    const real = await realpath(dir);
    if (!(await stat(real)).isDirectory()) throw new Error(`catalog is not a directory: ${dir}`);
    return new CatalogRoot(real);
  }

  /** Guard 1, lexical checks only (no filesystem access). `leadingSlash` strips one "/" (URL paths). */
  lexical(clientPath: string, leadingSlash = false): Resolved {
    let p = clientPath;
    if (leadingSlash && p.startsWith("/")) p = p.slice(1);
    if (p.includes("\0")) return { ok: false, reason: "forbidden", detail: "NUL in path" };
    if (p.startsWith("/") || isAbsolute(p)) return { ok: false, reason: "forbidden", detail: "absolute path" };
    const segments = p.split("/").filter((s) => s !== "" && s !== ".");
    if (segments.includes("..")) return { ok: false, reason: "forbidden", detail: "parent segment" };
    if (segments.some(isHiddenName)) return { ok: false, reason: "not-found", detail: "hidden segment" };
    const path = segments.length === 0 ? this.path : join(this.path, ...segments);
    if (!isInside(this.path, path)) return { ok: false, reason: "forbidden", detail: "outside the catalog" };
    return { ok: true, path, relative: segments.join("/") };
  }

  /** Guard 2 on an absolute path: inside the root and not hidden below it. */
  contains(real: string): Refusal | undefined {
    if (!isInside(this.path, real)) return { ok: false, reason: "forbidden", detail: "resolves outside the catalog" };
    if (hasHiddenSegment(relative(this.path, real))) return { ok: false, reason: "not-found", detail: "resolves to a hidden file" };
    return undefined;
  }

  /** Guards 1 and 2: maps a client path (already percent-decoded) to a real path inside the root. */
  async resolve(clientPath: string, leadingSlash = false): Promise<Resolved> {
    const lexical = this.lexical(clientPath, leadingSlash);
    if (!lexical.ok) return lexical;
    let real: string;
    try {
      real = await realpath(lexical.path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return { ok: false, reason: "not-found", detail: code };
      return { ok: false, reason: "forbidden", detail: code ?? "realpath failed" };
    }
    return this.contains(real) ?? { ok: true, path: real, relative: relative(this.path, real) };
  }

  /**
   * Guard 4, after open(): where the descriptor really points (Linux /proc), so
   * a folder swapped for a symlink between resolve() and open() is still caught.
   */
  holdsDescriptor(fd: number): boolean {
    const target = descriptorPath(fd);
    if (target === undefined) return true; // no /proc (not Linux): resolve() + O_NOFOLLOW is the check
    return this.contains(target) === undefined;
  }

  /** Guards 3 to 5 on a resolved path: the open descriptor of a regular file, or a refusal. */
  openFile(resolved: { path: string; relative: string }): Promise<Opened> {
    return this.openChecked(resolved, FILE_FLAGS, (st) => st.isFile(), "not a regular file");
  }

  /** Guards 3 to 5 for a folder: the listing is then read through this descriptor. */
  openFolder(resolved: { path: string; relative: string }): Promise<Opened> {
    return this.openChecked(resolved, DIR_FLAGS, (st) => st.isDirectory(), "not a folder");
  }

  private async openChecked(resolved: { path: string; relative: string }, flags: number, kind: (st: BigIntStats) => boolean, notKind: string): Promise<Opened> {
    let handle: FileHandle;
    try {
      handle = await open(resolved.path, flags);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "open failed";
      // ELOOP: the last component became a symlink since resolve()
      return { ok: false, reason: code === "ELOOP" ? "forbidden" : "not-found", detail: code };
    }
    try {
      if (!this.holdsDescriptor(handle.fd)) {
        await handle.close();
        return { ok: false, reason: "forbidden", detail: "descriptor outside the catalog" };
      }
      const st = await handle.stat({ bigint: true });
      if (!kind(st)) {
        await handle.close();
        return { ok: false, reason: "not-found", detail: notKind };
      }
      return { ok: true, handle, stat: st, relative: resolved.relative };
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }
}

/** The path an open descriptor refers to, or undefined where /proc is missing. */
export function descriptorPath(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** A path that reaches `name` inside the folder open as `fd`, whatever its path now leads to. */
export function throughDescriptor(fd: number, folderPath: string, name?: string): string {
  const base = descriptorPath(fd) === undefined ? folderPath : `/proc/self/fd/${fd}`;
  return name === undefined ? base : `${base}/${name}`;
}

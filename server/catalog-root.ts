// Containment of every client-supplied path in the catalog root. Checks are
// made on resolved paths (realpath), segment by segment, so a sibling that
// shares the root's prefix ("/srv/fw-old" vs "/srv/fw"), "..", absolute paths,
// encoded dots (decoded before we see them) and symlinks that leave the root
// are all refused. Answers never carry a server path.
import { realpath, stat } from "node:fs/promises";
import { readlinkSync } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";

export type Resolved =
  | { ok: true; path: string; relative: string }
  | { ok: false; reason: "forbidden" | "not-found"; detail: string };

/** True when `candidate` (a resolved absolute path) is `root` or lies under it. */
export function isInside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  if (rel === "") return true;
  if (isAbsolute(rel)) return false;
  return rel.split(sep)[0] !== "..";
}

export class CatalogRoot {
  private constructor(readonly path: string) {}

  /** Resolves the root once (relative paths against the working directory). */
  static async open(dir: string): Promise<CatalogRoot> {
    const real = await realpath(dir);
    if (!(await stat(real)).isDirectory()) throw new Error(`catalog is not a directory: ${dir}`);
    return new CatalogRoot(real);
  }

  /**
   * Maps a client path (catalog-relative, "/" separated, already percent-decoded)
   * to a real path inside the root. `leadingSlash` strips one "/" (URL paths).
   */
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
    if (!isInside(this.path, real)) return { ok: false, reason: "forbidden", detail: "resolves outside the catalog" };
    return { ok: true, path: real, relative: relative(this.path, real) };
  }

  /** Lexical checks only: no filesystem access. */
  lexical(clientPath: string, leadingSlash = false): Resolved {
    let p = clientPath;
    if (leadingSlash && p.startsWith("/")) p = p.slice(1);
    if (p.includes("\0")) return { ok: false, reason: "forbidden", detail: "NUL in path" };
    if (p.startsWith("/") || isAbsolute(p)) return { ok: false, reason: "forbidden", detail: "absolute path" };
    const segments = p.split("/").filter((s) => s !== "" && s !== ".");
    if (segments.includes("..")) return { ok: false, reason: "forbidden", detail: "parent segment" };
    const path = segments.length === 0 ? this.path : join(this.path, ...segments);
    if (!isInside(this.path, path)) return { ok: false, reason: "forbidden", detail: "outside the catalog" };
    return { ok: true, path, relative: segments.join("/") };
  }

  /**
   * After open(): where the descriptor really points (Linux /proc), so a
   * symlink swapped in between resolve() and open() is still caught.
   */
  holdsDescriptor(fd: number): boolean {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return true; // no /proc (not Linux): resolve() + O_NOFOLLOW is the check
    }
    return isInside(this.path, target);
  }
}

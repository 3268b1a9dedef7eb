// GET /_catalog?op=list&path=P: AutoConnect's catalog, byte-compatible with
// updateserver.py's answer (same keys, key order and JSON spacing), minus its
// bugs: folders are "directory" wherever the server was started, a missing
// folder is a JSON 404, paths are contained, and the order is stable (sorted).
import { constants } from "node:fs";
import { open, readdir, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyPluginAsync } from "fastify";
import { isInside } from "./catalog-root";
import { refuse } from "./responses";
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
    // eslint-disable-next-line no-control-regex -- control characters are exactly what json.dumps escapes
    return `"${value.replace(/[\u0000-\u001f"\\\u0080-\uffff]/g, (c) => {
      const short: Record<string, string> = { '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f" };
      return short[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
    })}"`;
  }
  if (typeof value === "number") return String(value);
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  if (typeof value === "object" && value !== null)
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${pythonJson(k)}: ${pythonJson(v)}`)
      .join(", ")}}`;
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

/** One listing; entries whose real path leaves the root are left out. */
export async function listDirectory(root: string, dir: string): Promise<CatalogEntry[]> {
  const names = (await readdir(dir)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const entries: CatalogEntry[] = [];
  for (const name of names) {
    const full = join(dir, name);
    let real: string;
    try {
      real = await realpath(full);
    } catch {
      continue; // dangling symlink or vanished meanwhile
    }
    if (!isInside(root, real)) continue;
    const st = await stat(real).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory()) {
      entries.push({ name, type: "directory" });
      continue;
    }
    if (st.isFile() && hasBinExtension(name) && (await firstByte(real)) === IMAGE_MAGIC) {
      entries.push({ name, type: "bin", ...catalogDateTime(st.mtimeMs), size: st.size });
      continue;
    }
    entries.push({ name, type: "file" });
  }
  return entries;
}

function first(value: unknown): string | undefined {
  if (Array.isArray(value)) return typeof value[0] === "string" ? value[0] : undefined;
  return typeof value === "string" ? value : undefined;
}

export const catalogPlugin: FastifyPluginAsync<{ context: ServerContext }> = async (app, { context }) => {
  app.get("/_catalog", async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const op = first(query.op);
    if (op === undefined || op === "") return refuse(reply, 403, "Invalid catalog request");
    if (op !== "list") return refuse(reply, 403, "Unknown operation");
    const path = first(query.path) || ".";
    const resolved = await context.root.resolve(path);
    if (!resolved.ok) {
      request.log.info({ detail: resolved.detail }, "catalog path refused");
      return resolved.reason === "forbidden" ? refuse(reply, 403, "Forbidden") : refuse(reply, 404, "Not Found");
    }
    const st = await stat(resolved.path).catch(() => undefined);
    if (!st?.isDirectory()) return refuse(reply, 404, "Not Found");
    let entries: CatalogEntry[];
    try {
      entries = await listDirectory(context.root.path, resolved.path);
    } catch (error) {
      request.log.warn({ code: (error as NodeJS.ErrnoException).code }, "catalog listing failed");
      return refuse(reply, 404, "Not Found");
    }
    const body = Buffer.from(pythonJson(entries), "utf8");
    return reply.type("application/json").header("content-length", String(body.length)).send(body);
  });
};

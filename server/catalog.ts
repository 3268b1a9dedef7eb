// GET /_catalog?op=list&path=P: AutoConnect's catalog, byte-compatible with
// updateserver.py's answer (same keys, key order and JSON spacing), minus its
// bugs: folders are "directory" wherever the server was started, a missing
// folder is a JSON 404, paths are contained, hidden files are left out, and the
// order is stable (sorted). Listings come from the folder cache (folders.ts).
import type { FastifyPluginAsync } from "fastify";
import type { ServerContext } from "./context";
import { rendered } from "./folders";
import { refuse, sendJsonBody } from "./responses";
import { catalogQuerySchema, type CatalogQuery } from "./schemas";

/** json.dumps() with Python's defaults: ", " and ": " separators, ensure_ascii. */
export function pythonJson(value: unknown): string {
  if (typeof value === "string") {
    // JSON.stringify escapes quotes, backslashes, controls and lone surrogates
    // as Python does; ensure_ascii escapes every unit outside " ".."~" as
    // \uxxxx (lower-case hex): DEL and each UTF-16 unit of non-ASCII (so an
    // astral character becomes its surrogate pair, as in Python).
    const text = JSON.stringify(value);
    return /[\u007f-\uffff]/.test(text) ? text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`) : text;
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

export const catalogPlugin: FastifyPluginAsync<{ context: ServerContext }> = async (app, { context }) => {
  app.get<{ Querystring: CatalogQuery }>("/_catalog", { schema: { querystring: catalogQuerySchema } }, async (request, reply) => {
    const { op, path } = request.query;
    if (op === undefined || op === "") return refuse(reply, 403, "Invalid catalog request");
    if (op !== "list") return refuse(reply, 403, "Unknown operation");
    const listing = await context.folders.view(path);
    if (!listing.ok) {
      request.log.info({ detail: listing.detail }, "catalog path refused");
      return refuse(reply, listing.status, listing.reason);
    }
    return sendJsonBody(reply, rendered(listing.view, "catalog", (view) => pythonJson(view.entries)));
  });
};

// Small shared answers. Reason phrases carry the why for HTTPUpdate clients
// (they log the status line); bodies are short JSON; no server path ever.
import type { FastifyReply } from "fastify";

/** Sends `status` with a custom reason phrase and {"error": reason}. */
export function refuse(reply: FastifyReply, status: number, reason: string): FastifyReply {
  // Reason phrases must be visible ASCII and spaces (Node throws otherwise).
  reply.raw.statusMessage = reason.replace(/[^\x20-\x7e]/g, "?");
  return reply.code(status).type("application/json").send({ error: reason });
}

/** RFC 6266 Content-Disposition; plain `filename=name` like the reference for simple names. */
export function contentDisposition(name: string): string {
  if (/^[A-Za-z0-9._+-]+$/.test(name)) return `attachment; filename=${name}`;
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** A JSON body with an explicit Content-Length (devices do not decode chunked bodies). */
export function sendJsonBody(reply: FastifyReply, body: Buffer): FastifyReply {
  return reply.type("application/json").header("content-length", String(body.length)).send(body);
}

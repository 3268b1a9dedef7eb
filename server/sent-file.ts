// What sendFile decided to send for a request, kept beside the request so the
// fleet records a download from the server's own facts (which file, status,
// range, body length, firmware or mod) rather than reading its response
// headers back.
import type { FastifyRequest } from "fastify";

export interface SentFile {
  /** Catalog-relative path as the client named it. */
  path: string;
  status: 200 | 206;
  /** First byte of a 206. */
  rangeStart?: number;
  /** Body bytes this server writes (0 when nginx sends them: X-Accel-Redirect). */
  length: number;
  kind: "firmware" | "mod";
}

const sent = new WeakMap<object, SentFile>();

export function noteSent(request: FastifyRequest, facts: SentFile): void {
  sent.set(request.raw, facts);
}

export function sentFile(request: FastifyRequest): SentFile | undefined {
  return sent.get(request.raw);
}

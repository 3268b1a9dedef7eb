// Sends an opened catalog file: the headers HTTPUpdate needs (explicit
// Content-Length, lowercase x-MD5), x-SHA256, a strong ETag, HEAD, and single
// byte ranges with If-Range. The body streams from the descriptor opened at
// request start, so a concurrent replace never mixes versions.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { BufferPool } from "./buffer-pool";
import { sendFileRange, TransferCut } from "./file-sender";
import { decideRange } from "./range";
import { contentDisposition, refuse } from "./responses";
import type { ServedFile } from "./served-file";

export function sendFile(request: FastifyRequest, reply: FastifyReply, file: ServedFile, allowRange: boolean, pool: BufferPool): FastifyReply {
  const { size } = file.version;
  const etag = `"${file.digests.sha256}"`;
  const lastModified = new Date(file.version.mtimeMs).toUTCString();
  reply
    .type("application/octet-stream")
    .header("content-disposition", contentDisposition(file.name))
    .header("etag", etag)
    .header("last-modified", lastModified)
    .header("cache-control", "no-cache");
  // Set on the raw response so the names keep the reference's spelling
  // (Fastify lower-cases its own; clients match either way).
  reply.raw.setHeader("x-MD5", file.digests.md5);
  reply.raw.setHeader("x-SHA256", file.digests.sha256);
  if (allowRange) reply.header("accept-ranges", "bytes");

  const header = (name: string) => {
    const v = request.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const decision = allowRange ? decideRange(size, header("range"), header("if-range"), etag, lastModified) : { kind: "full" as const };
  if (decision.kind === "unsatisfiable") {
    void file.handle.close();
    reply.header("content-range", `bytes */${size}`);
    return refuse(reply, 416, "Range Not Satisfiable");
  }
  const [start, end] = decision.kind === "partial" ? [decision.start, decision.end] : [0, size - 1];
  if (decision.kind === "partial") reply.code(206).header("content-range", `bytes ${start}-${end}/${size}`);
  reply.header("content-length", String(end - start + 1));
  if (request.method === "HEAD" || end < start) {
    void file.handle.close();
    return reply.send();
  }
  // The body bypasses Fastify's stream piping: pooled buffers need the
  // socket's write callbacks (file-sender.ts).
  reply.hijack();
  const headers = reply.getHeaders() as Record<string, string>;
  delete headers["x-md5"]; // already on the raw response, in the reference's spelling
  delete headers["x-sha256"];
  reply.raw.writeHead(reply.statusCode, headers);
  sendFileRange(reply.raw, file.handle, file.version, start, end, pool).catch((error: Error) => {
    const quiet = error instanceof TransferCut && error.message === "client went away";
    request.log[quiet ? "info" : "warn"]({ file: file.name, err: error.message }, "download cut short");
  });
  return reply;
}

// Sends a found catalog file: the headers HTTPUpdate needs (explicit
// Content-Length, lowercase x-MD5), x-SHA256, a strong ETag, HEAD, and single
// byte ranges with If-Range. A file held in memory goes out as one write of
// the very buffer that was hashed; a larger one streams from the descriptor
// opened for this request, cut short if the file changes (file-sender.ts).
import type { ServerResponse } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { BufferPool } from "./buffer-pool";
import { sendFileRange, TransferCut } from "./file-sender";
import { decideRange } from "./range";
import { noteSent } from "./sent-file";
import { contentDisposition, refuse } from "./responses";
import type { ServedFile } from "./served-file";
import { SIGNATURE_HEADER } from "../modules/core/signature/header";

export interface SendOptions {
  allowRange: boolean;
  pool: BufferPool;
  /** Headers to add (X-Accel-Redirect mode). The body is then left out: nginx sends it. */
  accelRedirect?: string;
  /** x-Firmware-Signature: the .sig beside the image, base64 (signature-files.ts). */
  signature?: string;
  /** More response headers, name and value (x-Ota-Kind for a mod). */
  extraHeaders?: ReadonlyArray<readonly [string, string]>;
  /** What the body is, for the fleet's download record. Default firmware. */
  kind?: "firmware" | "mod";
}

function single(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function close(file: ServedFile): void {
  void file.handle?.close().catch(() => undefined);
}

export function sendFile(request: FastifyRequest, reply: FastifyReply, file: ServedFile, options: SendOptions): FastifyReply {
  const { size } = file.version;
  const { md5, sha256 } = file.entry.digests;
  const etag = `"${sha256}"`;
  const lastModified = new Date(file.version.mtimeMs).toUTCString();
  const decision = options.allowRange ? decideRange(size, single(request, "range"), single(request, "if-range"), etag, lastModified) : { kind: "full" as const };
  if (decision.kind === "unsatisfiable") {
    close(file);
    reply.header("content-range", `bytes */${size}`);
    return refuse(reply, 416, "Range Not Satisfiable");
  }
  const [start, end] = decision.kind === "partial" ? [decision.start, decision.end] : [0, size - 1];
  const status = decision.kind === "partial" ? 206 : 200;
  const accel = options.accelRedirect !== undefined && status === 200 && request.method === "GET";
  // Names keep the reference's spelling (x-MD5): raw headers, not Fastify's lower-cased ones.
  const headers: string[] = [
    "Content-Type", "application/octet-stream",
    "Content-Disposition", contentDisposition(file.name),
    "Content-Length", String(accel ? 0 : end - start + 1),
    "x-MD5", md5,
    "x-SHA256", sha256,
    "ETag", etag,
    "Last-Modified", lastModified,
    "Cache-Control", "no-cache",
  ];
  if (options.allowRange && !accel) headers.push("Accept-Ranges", "bytes"); // nginx adds its own
  if (status === 206) headers.push("Content-Range", `bytes ${start}-${end}/${size}`);
  if (options.signature !== undefined) headers.push(SIGNATURE_HEADER, options.signature);
  for (const [name, value] of options.extraHeaders ?? []) headers.push(name, value);
  if (accel) headers.push("X-Accel-Redirect", options.accelRedirect!);

  if (request.method === "GET") noteSent(request, { path: file.requested, status, ...(status === 206 ? { rangeStart: start } : {}), length: accel ? 0 : end - start + 1, kind: options.kind ?? "firmware" });
  reply.hijack(); // the body is ours to write (Fastify would copy or pipe it)
  const res: ServerResponse = reply.raw;
  // setHeader keeps each name's spelling on the wire.
  for (let i = 0; i < headers.length; i += 2) res.setHeader(headers[i], headers[i + 1]);
  res.writeHead(status);
  if (request.method === "HEAD" || end < start || accel) {
    close(file);
    res.end();
    return reply;
  }
  const { bytes } = file.entry;
  if (bytes) {
    // end() only once the kernel has the bytes: until then the response is in
    // flight, so a graceful close waits for it (Node counts an ended response's
    // connection as idle even while its bytes are still queued).
    // A client gone mid-body fails the write: no end(), so the response never counts as finished.
    res.write(start === 0 && end === bytes.length - 1 ? bytes : bytes.subarray(start, end + 1), (error) => {
      if (!error) res.end();
    });
    return reply;
  }
  sendFileRange(res, file.handle!, file.version, start, end, options.pool).catch((error: Error) => {
    const quiet = error instanceof TransferCut && error.message === "client went away";
    request.log[quiet ? "info" : "warn"]({ file: file.name, err: error.message }, "download cut short");
  });
  return reply;
}

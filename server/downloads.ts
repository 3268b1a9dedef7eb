// Binary downloads: GET/HEAD of any other path, with or without a leading
// slash on the wire (request-target.ts restores it). Like updateserver.py, only
// HTTPUpdate clients are served unless the server runs with --open.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { ServerContext } from "./context";
import { isHttpUpdateRequest, parseDeviceHeaders } from "./device-headers";
import { classifyImage, readHead } from "./image-facts";
import { preflight } from "./preflight";
import { refuse } from "./responses";
import { sendFile } from "./send-file";
import { closing, openServedFile } from "./served-file";

export const GATE_REASON = "The request available only from ESP8266 or ESP32 http updater.";

/** The decoded path of a request URL, or undefined when its escapes are malformed. */
export function decodedPath(url: string): string | undefined {
  const q = url.indexOf("?");
  const raw = q < 0 ? url : url.slice(0, q);
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

export const downloadsPlugin: FastifyPluginAsync<{ context: ServerContext }> = async (app, { context }) => {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const parsed = parseDeviceHeaders(request.headers);
    if (parsed.kind === "malformed") {
      request.log.warn({ reason: parsed.reason }, "malformed device headers");
      return refuse(reply, 400, parsed.reason);
    }
    if (!context.open && !isHttpUpdateRequest(parsed, request.headers)) {
      request.log.info({ ua: request.headers["user-agent"] }, "download refused: not an HTTPUpdate client");
      return refuse(reply, 403, GATE_REASON);
    }
    const path = decodedPath(request.url);
    if (path === undefined) return refuse(reply, 400, "Bad Request");
    const opened = await openServedFile(context.root, context.digests, path, true);
    if (!opened.ok) {
      request.log.info({ detail: opened.detail }, "download refused");
      return refuse(reply, opened.status, opened.reason);
    }
    const { file } = opened;
    if (parsed.kind === "device") {
      const facts = classifyImage(await readHead(file.handle.fd, file.version.size).catch(closing(file)));
      const refusal = preflight(parsed.device, file.version.size, facts);
      if (refusal) {
        await file.handle.close();
        request.log.warn({ file: file.name, family: parsed.device.family, reason: refusal.reason }, "download refused by pre-flight");
        return refuse(reply, refusal.status, refusal.reason);
      }
    }
    request.log.info({ file: file.name, size: file.version.size, md5: file.digests.md5 }, "sending firmware");
    return sendFile(request, reply, file, true, context.pool);
  };
  app.route({ method: ["GET", "HEAD"], url: "/*", handler });
};

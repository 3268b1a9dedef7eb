// Binary downloads: GET/HEAD of any other path, with or without a leading
// slash on the wire (request-target.ts restores it), the name raw or escaped
// (request-path.ts). Like updateserver.py, only HTTPUpdate clients are served
// unless the server runs with --open.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { ServerContext } from "./context";
import { isHttpUpdateRequest, parseDeviceHeaders } from "./device-headers";
import { isModName } from "./mod-facts";
import { preflight } from "./preflight";
import { targetCandidates } from "./request-path";
import { refuse } from "./responses";
import { deviceHeadersSchema } from "./schemas";
import { sendFile } from "./send-file";
import type { OpenOutcome, ServedFile } from "./served-file";
import { isSignatureName, type SignatureFiles } from "./signature-files";

/** The x-Firmware-Signature value for a served image: its .sig beside it (as requested, then its real path), if any. */
export async function signatureHeader(signatures: SignatureFiles, file: ServedFile): Promise<string | undefined> {
  if (isSignatureName(file.name)) return undefined;
  return (await signatures.beside(file.requested, file.relative))?.header;
}

export const GATE_REASON = "The request available only from ESP8266 or ESP32 http updater.";

/** The first candidate of `target` that exists; a refusal other than 404 ends the search. */
export async function findTarget(context: ServerContext, target: string): Promise<OpenOutcome> {
  let outcome: OpenOutcome | undefined;
  for (const candidate of targetCandidates(target)) {
    outcome = await context.files.open(candidate, true);
    if (outcome.ok || outcome.status !== 404) break;
  }
  return outcome!;
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
    // originalUrl: the target as it came (app.ts escapes stray "%" for routing only)
    const opened = await findTarget(context, request.originalUrl);
    if (!opened.ok) {
      request.log.info({ detail: opened.detail }, "download refused");
      return refuse(reply, opened.status, opened.reason);
    }
    const { file } = opened;
    // A board that takes only signed images fetches `<image>.sig` when no header came, and a mod host
    // fetches a mod (`.xsa`, its own checks on the board: archive.ts) with its HTTPUpdate headers: not images, no pre-flight.
    if (parsed.kind === "device" && !isSignatureName(file.name) && !isModName(file.name)) {
      const refusal = preflight(parsed.device, file.version.size, file.entry.facts);
      if (refusal) {
        await file.handle?.close();
        request.log.warn({ file: file.name, family: parsed.device.family, reason: refusal.reason }, "download refused by pre-flight");
        return refuse(reply, refusal.status, refusal.reason);
      }
    }
    request.log.info({ file: file.name, size: file.version.size, md5: file.entry.digests.md5 }, "sending firmware");
    const signature = await signatureHeader(context.signatures, file);
    return sendFile(request, reply, file, { allowRange: true, pool: context.pool, accelRedirect: await context.accel?.redirectFor(file, request), signature });
  };
  app.route({ method: ["GET", "HEAD"], url: "/*", schema: { headers: deviceHeadersSchema }, handler });
};

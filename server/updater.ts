// The ESP8266/ESP32 HTTPUpdate "advanced updater": the device asks one URL
// with its x-ESP*-* headers; the rules pick its firmware; 304 when it already
// runs it, a refusal with a reason when the image cannot fit or is for another
// chip, else 200 with the image. `x-ESP8266-mode: version`
// (ESP8266HTTPUpdate::getAvailableVersion) gets 200 with x-version and x-MD5
// and no body, as that function expects (it treats 304 as "Wrong HTTP Code").
// Only HTTPUpdate clients are answered, with or without --open: the rules
// need the device's identity (--open only opens plain downloads).
// A board whose firmware is current and that hosts mods (x-Ota-Mod-Host) may
// instead get its target's mod (docs/mods.md): 200, x-Ota-Kind: mod, the .xsa.
// A board without that header gets exactly the answers above.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { ServerContext } from "./context";
import { isHttpUpdateRequest, parseDeviceHeaders, type DeviceRequest } from "./device-headers";
import { GATE_REASON, signatureHeader } from "./downloads";
import type { ImageFacts } from "./image-facts";
import { preflight } from "./preflight";
import { refuse } from "./responses";
import type { Target } from "./rules";
import { selectTarget } from "./rules";
import { deviceHeadersSchema } from "./schemas";
import { sendFile } from "./send-file";
import type { ServedFile } from "./served-file";
import { readModHeaders, hostText } from "./mod-headers";
import { modIdentity, xsMajorMinor } from "./mod-facts";
import { xsVersionFits } from "../modules/core/mods/archive";

/** The response header that tells a mod from a firmware image in a check-in's 200. */
export const KIND_HEADER = "x-Ota-Kind";

/**
 * The firmware is current (a 304 is due): sends the target's mod when the
 * board hosts mods of its XS version and does not run it yet, and says true;
 * else false (the caller sends its 304), with the reason in the log.
 * (A boolean, not the reply: a FastifyReply is thenable, an async function
 * cannot hand it back.)
 */
async function offerMod(context: ServerContext, request: FastifyRequest, reply: FastifyReply, device: DeviceRequest, target: Target, log: FastifyRequest["log"]): Promise<boolean> {
  if (device.mode !== "sketch" || target.mod === undefined) return false;
  const mod = readModHeaders(request.headers);
  if (mod.ignored.length > 0) log.info({ ignored: mod.ignored }, "updater: unreadable mod headers ignored");
  if (!mod.host) return false; // a board that hosts no mods: today's answer
  const opened = await context.files.open(target.mod, false);
  if (!opened.ok) {
    log.error({ rule: target.source, mod: target.mod, detail: opened.detail }, "updater: rule names an unavailable mod");
    return false;
  }
  const file = opened.file;
  const check = file.entry.mod;
  const skip = (level: "info" | "error", fields: Record<string, unknown>, msg: string) => {
    void file.handle?.close().catch(() => undefined);
    log[level]({ rule: target.source, mod: target.mod, ...fields }, msg);
    return false;
  };
  if (!check?.ok) return skip("error", { error: check?.error }, "updater: rule's mod is no valid mod archive");
  const facts = check.facts;
  if (!xsVersionFits(facts.xs, { ...mod.host, patch: 0 })) // major and minor, as fxMapArchive compares them
    return skip("info", { modXs: xsMajorMinor(facts), hostXs: hostText(mod.host) }, "updater: mod not offered: built for another XS version than the board's");
  const identity = modIdentity(facts);
  if (mod.running === identity) return skip("info", { running: identity }, "updater: device runs its mod");
  log.info({ rule: target.source, mod: target.mod, size: file.version.size, md5: file.entry.digests.md5, to: identity, from: mod.running }, "updater: sending mod");
  const signature = await signatureHeader(context.signatures, file);
  sendFile(request, reply, file, {
    allowRange: false,
    pool: context.pool,
    accelRedirect: await context.accel?.redirectFor(file, request),
    signature,
    extraHeaders: [[KIND_HEADER, "mod"]],
    kind: "mod",
  });
  return true;
}

/** Why the device needs nothing: it already runs the target (by MD5, SHA-256 or version). */
export function alreadyRunning(device: DeviceRequest, file: ServedFile, facts: ImageFacts, target: Target): string | undefined {
  const { md5, sha256 } = file.entry.digests;
  if (device.sketchMd5 !== undefined && device.sketchMd5 === md5) return "md5";
  if (device.sketchSha256 !== undefined && device.sketchSha256 === sha256) return "sha256";
  const version = availableVersion(facts, target);
  if (device.mode === "sketch" && device.version !== undefined && version !== undefined && device.version === version) return "version";
  return undefined;
}

/** The version the target's image has: the rule's, else its esp_app_desc_t's. */
function availableVersion(facts: ImageFacts, target: Target): string | undefined {
  const v = target.version ?? facts.app?.version;
  return v === "" ? undefined : v;
}

export const updaterPlugin: FastifyPluginAsync<{ context: ServerContext }> = async (app, { context }) => {
  const rules = context.rules;
  if (!rules) return;
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const parsed = parseDeviceHeaders(request.headers);
    if (parsed.kind === "malformed") {
      request.log.warn({ reason: parsed.reason }, "updater: malformed device headers");
      return refuse(reply, 400, parsed.reason);
    }
    if (parsed.kind !== "device" || !isHttpUpdateRequest(parsed, request.headers)) {
      request.log.info({ ua: request.headers["user-agent"] }, "updater: not an HTTPUpdate client");
      return refuse(reply, 403, GATE_REASON);
    }
    const device = parsed.device;
    const log = request.log.child({ family: device.family, mac: device.staMac ?? device.baseMac, mode: device.modeName });
    const ruled = selectTarget(rules, device);
    const target = context.chooseTarget ? await context.chooseTarget(device, ruled, request) : ruled;
    if (!target) {
      log.info("updater: no firmware assigned to this device");
      return refuse(reply, 404, "No firmware assigned to this device");
    }
    const image = device.mode === "filesystem" ? target.filesystem : target.firmware;
    if (image === undefined) {
      if (await offerMod(context, request, reply, device, target, log)) return reply;
      log.info({ rule: target.source }, "updater: nothing assigned for this mode");
      reply.raw.statusMessage = "No update for this mode";
      return reply.code(304).send();
    }
    const opened = await context.files.open(image, false);
    if (!opened.ok) {
      log.error({ rule: target.source, image, detail: opened.detail }, "updater: rule names an unavailable file");
      return refuse(reply, opened.status === 503 ? 503 : 404, opened.status === 503 ? opened.reason : "Firmware file missing");
    }
    const file = opened.file;
    const facts = file.entry.facts;
    if (device.mode === "version") {
      await file.handle?.close();
      const version = availableVersion(facts, target);
      log.info({ rule: target.source, image, version, from: device.version }, "updater: version query");
      reply.header("content-length", "0");
      reply.raw.setHeader("x-MD5", file.entry.digests.md5);
      if (version !== undefined) reply.raw.setHeader("x-version", version);
      return reply.code(200).send();
    }
    const same = alreadyRunning(device, file, facts, target);
    if (same) {
      await file.handle?.close();
      if (await offerMod(context, request, reply, device, target, log)) return reply;
      log.info({ rule: target.source, image, by: same }, "updater: device is up to date");
      reply.raw.statusMessage = "Not Modified";
      return reply.code(304).send();
    }
    const refusal = preflight(device, file.version.size, facts, target.chip);
    if (refusal) {
      await file.handle?.close();
      log.warn({ rule: target.source, image, status: refusal.status, reason: refusal.reason }, "updater: refused by pre-flight");
      return refuse(reply, refusal.status, refusal.reason);
    }
    log.info({ rule: target.source, image, size: file.version.size, md5: file.entry.digests.md5, from: device.version }, "updater: sending update");
    const signature = await signatureHeader(context.signatures, file);
    return sendFile(request, reply, file, { allowRange: false, pool: context.pool, accelRedirect: await context.accel?.redirectFor(file, request), signature });
  };
  app.route({ method: ["GET", "HEAD"], url: rules.endpoint, schema: { headers: deviceHeadersSchema }, handler });
};

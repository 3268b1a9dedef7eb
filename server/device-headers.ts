// The x-ESP8266-* / x-ESP32-* headers HTTPUpdate clients send (protocol.md
// section 2). Node lower-cases header names, so any case on the wire matches.
import type { IncomingHttpHeaders } from "node:http";
import { CHIP_IDS } from "../modules/core/image";

export type Family = "esp8266" | "esp32";
/** "version": ESP8266HTTPUpdate::getAvailableVersion() asks what the server has, without the image. */
export type UpdateMode = "sketch" | "filesystem" | "version";

export interface DeviceRequest {
  family: Family;
  userAgentOk: boolean;
  staMac?: string; // normalized "AA:BB:CC:DD:EE:FF"
  apMac?: string;
  baseMac?: string;
  freeSpace?: number;
  sketchSize?: number;
  chipSize?: number;
  sketchMd5?: string; // lowercase hex
  sketchSha256?: string; // lowercase hex (ESP32 sends it upper-case)
  sdkVersion?: string;
  mode: UpdateMode;
  /** Raw mode header, for logs. */
  modeName: string;
  version?: string;
  /** ESP8266 x-ESP8266-Chip-ID: the chip's serial number, not an image chip id. */
  chipSerial?: string;
  /** Optional x-ESP32-chip (or x-ESP32-chip-id) a sketch may add: image chip id of the device. */
  chipId?: number;
}

export type DeviceParse =
  | { kind: "none" } // no HTTPUpdate headers at all: a browser, curl, the catalog client
  | { kind: "device"; device: DeviceRequest }
  | { kind: "malformed"; reason: string };

const MAC = /^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;
const DECIMAL = /^\d{1,15}$/;
const FILESYSTEM_MODES = new Set(["spiffs", "littlefs", "fatfs", "flashfs"]);
const REQUIRED = ["free-space", "sketch-size", "chip-size", "sdk-version"];
/** The boards' own report of their last update (update-report.ts): not HTTPUpdate headers. */
const REPORT = /^x-esp32-update-(result|version)$/;

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function normalizeMac(text: string): string | undefined {
  const t = text.trim();
  if (!MAC.test(t)) return undefined;
  const hex = t.replace(/[:-]/g, "").toUpperCase();
  return hex.match(/../g)!.join(":");
}

/** Chip names as rules and the optional header spell them: "esp32s3", "ESP32-S3", "0x0009", "9". */
export function parseChip(text: string): number | undefined {
  const t = text.trim();
  if (/^(0x[0-9a-f]{1,4}|\d{1,5})$/i.test(t)) {
    const id = Number(t);
    return Object.values(CHIP_IDS).includes(id) ? id : undefined;
  }
  const key = t.toUpperCase().replace(/[-_ ]/g, "");
  for (const [name, id] of Object.entries(CHIP_IDS)) if (name.replace("-", "") === key) return id;
  return undefined;
}

export function parseDeviceHeaders(headers: IncomingHttpHeaders): DeviceParse {
  const ua = single(headers, "user-agent") ?? "";
  const uaFamily = /^ESP8266-http-Update/.test(ua) ? "esp8266" : /^ESP32-http-Update/.test(ua) ? "esp32" : undefined;
  const names = Object.keys(headers);
  const has8266 = names.some((n) => n.startsWith("x-esp8266-"));
  const has32 = names.some((n) => n.startsWith("x-esp32-") && !REPORT.test(n));
  if (has8266 && has32) return { kind: "malformed", reason: "Both x-ESP8266-* and x-ESP32-* headers" };
  const headerFamily: Family | undefined = has8266 ? "esp8266" : has32 ? "esp32" : undefined;
  if (!headerFamily && !uaFamily) return { kind: "none" };
  if (headerFamily && uaFamily && headerFamily !== uaFamily) return { kind: "malformed", reason: "User-Agent and x- headers name different chips" };
  const family = (headerFamily ?? uaFamily) as Family;
  const p = `x-${family}-`;
  const get = (name: string) => single(headers, p + name);
  const device: DeviceRequest = { family, userAgentOk: uaFamily === family, mode: "sketch", modeName: "sketch" };

  for (const [name, key] of [["sta-mac", "staMac"], ["ap-mac", "apMac"], ["base-mac", "baseMac"]] as const) {
    const raw = get(name);
    if (raw === undefined) continue;
    const mac = normalizeMac(raw);
    if (!mac) return { kind: "malformed", reason: `Malformed ${name.toUpperCase()} header` };
    device[key] = mac;
  }
  for (const [name, key] of [["free-space", "freeSpace"], ["sketch-size", "sketchSize"], ["chip-size", "chipSize"]] as const) {
    const raw = get(name);
    if (raw === undefined) continue;
    if (!DECIMAL.test(raw.trim())) return { kind: "malformed", reason: `Malformed ${name} header` };
    device[key] = Number(raw.trim());
  }
  // Empty means unknown: the ESP8266 core sends `x-ESP8266-sketch-md5: ` when
  // ESP.getSketchMD5() fails, and such a board must still be able to update.
  const md5 = get("sketch-md5")?.trim();
  if (md5) {
    if (!/^[0-9a-f]{32}$/i.test(md5)) return { kind: "malformed", reason: "Malformed sketch-md5 header" };
    device.sketchMd5 = md5.toLowerCase();
  }
  const sha = get("sketch-sha256")?.trim();
  if (sha) {
    if (!/^[0-9a-f]{64}$/i.test(sha)) return { kind: "malformed", reason: "Malformed sketch-sha256 header" };
    device.sketchSha256 = sha.toLowerCase();
  }
  const mode = get("mode");
  if (mode !== undefined) {
    const m = mode.trim().toLowerCase();
    if (!/^[a-z0-9_-]{1,32}$/.test(m)) return { kind: "malformed", reason: "Malformed mode header" };
    // "version" is getAvailableVersion(); other custom query modes some sketches
    // send ("check") are about the application; the flash filesystems are the other target.
    device.mode = FILESYSTEM_MODES.has(m) ? "filesystem" : m === "version" ? "version" : "sketch";
    device.modeName = m;
  }
  const version = get("version");
  if (version !== undefined && version.trim() !== "") device.version = version.trim();
  const sdk = get("sdk-version");
  if (sdk !== undefined) device.sdkVersion = sdk.trim();
  if (family === "esp8266") {
    const serial = get("chip-id");
    if (serial !== undefined) {
      if (!DECIMAL.test(serial.trim())) return { kind: "malformed", reason: "Malformed Chip-ID header" };
      device.chipSerial = serial.trim();
    }
  } else {
    const chip = get("chip") ?? get("chip-id");
    if (chip !== undefined) {
      const id = parseChip(chip);
      if (id === undefined) return { kind: "malformed", reason: "Unknown chip in x-ESP32-chip header" };
      device.chipId = id;
    }
  }
  return { kind: "device", device };
}

/**
 * The reference server's gate: HTTPUpdate's User-Agent plus the headers that
 * identify a real device. Unlike the reference we do not require sketch-md5
 * (ESP32 1.0.x and 3.x cores send it only when known), and an ESP32 may be
 * known by its BASE-MAC alone: arduino-esp32 3.x sends STA-MAC and AP-MAC only
 * on chips with Wi-Fi (ESP32-P4, ESP32-H2 have none).
 */
export function isHttpUpdateRequest(parsed: DeviceParse, headers: IncomingHttpHeaders): boolean {
  if (parsed.kind !== "device" || !parsed.device.userAgentOk) return false;
  const { device } = parsed;
  const p = `x-${device.family}-`;
  const known = device.family === "esp8266" ? device.staMac !== undefined && device.apMac !== undefined : device.staMac !== undefined || device.baseMac !== undefined;
  return known && REQUIRED.every((name) => single(headers, p + name) !== undefined);
}

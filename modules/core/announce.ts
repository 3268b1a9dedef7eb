// What a board says about itself over mDNS/DNS-SD (RFC 6763), so `ota discover`
// finds it on the LAN: service `_moddable-ota._tcp` on the portal's port, named
// by the board's access-point SSID, with these TXT keys. The board
// (modules/moddable/mdns-announce.ts, Moddable's mdns module) and the twin
// (twin/adapters/mdns.ts, bonjour-service) both build the TXT record here, and
// the `ota` CLI (ota/discover.ts) reads it back with announcedBoard().
import type { DeviceInfo } from "./ports";
import { chipName } from "./esp-image-rules";

/** DNS-SD service type and protocol, as "_moddable-ota._tcp". */
export const OTA_SERVICE_NAME = "moddable-ota";
export const OTA_SERVICE_PROTOCOL = "tcp";
export const OTA_SERVICE_TYPE = `_${OTA_SERVICE_NAME}._${OTA_SERVICE_PROTOCOL}`;

export interface AnnounceTxt {
  /** esp_app_desc_t project name. */
  app: string;
  /** esp_app_desc_t version. */
  ver: string;
  /** Chip name, e.g. "ESP32", "ESP32-C3". */
  chip: string;
  /** The station MAC the board is on the LAN with. */
  mac: string;
  /** The running mod as name@version, or "" without one. */
  mod: string;
  /** "1" when a portal password is set (UPDATE needs it), else "0". */
  auth: "0" | "1";
}

export interface RunningMod {
  name: string;
  version: string;
}

/** Longest TXT value kept (each key=value string is at most 255 bytes; ours are short). */
const MAX_VALUE = 63;

function clip(text: string): string {
  let out = "";
  for (const c of text) if (c.charCodeAt(0) >= 0x20 && c !== "\x7f") out += c;
  return out.slice(0, MAX_VALUE);
}

export function announceTxt(device: DeviceInfo, passwordSet: boolean, mod?: RunningMod): AnnounceTxt {
  return {
    app: clip(device.appName),
    ver: clip(device.appVersion),
    chip: chipName(device.chipId),
    mac: device.macs.sta,
    mod: mod ? clip(`${mod.name}@${mod.version}`) : "",
    auth: passwordSet ? "1" : "0",
  };
}

/** A board as discovery reports it. */
export interface AnnouncedBoard {
  name: string;
  address: string;
  port: number;
  app: string;
  version: string;
  chip: string;
  mac: string;
  /** name@version, or "" */
  mod: string;
  auth: boolean;
}

/** Reads a TXT record (string values; a missing key reads as ""). */
export function announcedBoard(name: string, address: string, port: number, txt: Readonly<Record<string, unknown>>): AnnouncedBoard {
  const text = (key: string) => {
    const v = txt[key];
    return typeof v === "string" ? clip(v) : "";
  };
  return { name: clip(name), address, port, app: text("app"), version: text("ver"), chip: text("chip"), mac: text("mac"), mod: text("mod"), auth: text("auth") === "1" };
}

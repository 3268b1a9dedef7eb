// ESP32 HTTPUpdate "advanced updater" check-in: the request carries what the
// board is running (x-ESP32-* headers) and the server answers 304 (current) or
// 200 with an image, which runs through the ordinary update session.
import type { DeviceInfo } from "../ports";
import type { LastUpdate } from "../boot/journal";
import type { ModOutcome } from "../mods/mod-store";
import { modLabel } from "../mods/mod-store";

export interface UpdateUrl {
  host: string;
  port: number;
  /** Request target, starting with "/". */
  path: string;
}

/** Parses "http://host[:port]/path"; an error text for anything else. */
export function parseUpdateUrl(url: string): UpdateUrl | { error: string } {
  const text = url.trim();
  if (/^https:/i.test(text)) return { error: "Only http:// update URLs are supported" };
  const m = /^http:\/\/([A-Za-z0-9.-]+)(?::(\d{1,5}))?(\/[^\s#]*)?$/i.exec(text);
  if (!m) return { error: `Not an update URL: ${text.slice(0, 60)} (expected http://host:port/path)` };
  const port = m[2] === undefined ? 80 : Number(m[2]);
  if (port < 1 || port > 65535) return { error: `Port ${m[2]} is out of range` };
  return { host: m[1], port, path: m[3] ?? "/" };
}

/**
 * The last update's outcome, for the update server: `x-ESP32-update-result`
 * (valid, rolled-back, failed) and `x-ESP32-update-version`. None before the first update.
 */
export function updateResultHeaders(last: LastUpdate | undefined): Array<readonly [string, string]> {
  if (!last) return [];
  return [
    ["x-ESP32-update-result", last.result],
    ["x-ESP32-update-version", last.version],
  ];
}

/** The headers of an ESP32 core HTTPUpdate request (protocol.md section 2), and the last update's outcome. */
export function checkInHeaders(device: DeviceInfo, freeSpace: number, last?: LastUpdate): Array<readonly [string, string]> {
  const headers: Array<readonly [string, string]> = [
    ["User-Agent", "ESP32-http-Update"],
    ["Cache-Control", "no-cache"],
    ["x-ESP32-BASE-MAC", device.macs.base],
    ["x-ESP32-STA-MAC", device.macs.sta],
    ["x-ESP32-AP-MAC", device.macs.ap],
    ["x-ESP32-free-space", String(freeSpace)],
  ];
  if (device.sketchSize !== undefined) headers.push(["x-ESP32-sketch-size", String(device.sketchSize)]);
  if (device.sketchMd5 !== undefined) headers.push(["x-ESP32-sketch-md5", device.sketchMd5.toLowerCase()]);
  headers.push(["x-ESP32-chip-size", String(device.flashSize)], ["x-ESP32-sdk-version", device.sdkVersion], ["x-ESP32-mode", "sketch"]);
  if (device.appVersion) headers.push(["x-ESP32-version", device.appVersion]);
  headers.push(...updateResultHeaders(last));
  return headers;
}

/** What a board that hosts mods tells update servers about them (ModManager has it). */
export interface ModFacts {
  readonly xs: { major: number; minor: number };
  /** "name@version" of the installed mod. */
  installed(): string | undefined;
  lastModUpdate(): ModOutcome | undefined;
}

/**
 * A mod host's headers, on check-ins and catalog requests: `x-Ota-Mod-Host`
 * (the firmware's XS major.minor: mods must be built for it), `x-Ota-Mod`
 * (the installed mod's name@version, empty when none) and, after a mod
 * update, `x-Ota-Mod-Result` (valid, rolled-back, failed) and
 * `x-Ota-Mod-Result-Version` (that mod's name@version). None without mods.
 */
export function modHeaders(mods: ModFacts | undefined): Array<readonly [string, string]> {
  if (!mods) return [];
  const headers: Array<readonly [string, string]> = [
    ["x-Ota-Mod-Host", `${mods.xs.major}.${mods.xs.minor}`],
    ["x-Ota-Mod", mods.installed() ?? ""],
  ];
  const last = mods.lastModUpdate();
  if (last && last.result !== "removed") headers.push(["x-Ota-Mod-Result", last.result], ["x-Ota-Mod-Result-Version", modLabel(last)]);
  return headers;
}

// Advanced-updater rules: which firmware each device should run. JSON or YAML:
//
//   endpoint: /update                 # where devices ask (default /update)
//   default: { firmware: app/v2.bin, chip: esp32 }
//   groups:
//     lab: { firmware: app/lab.bin, chip: esp32-s3, members: ["24:6F:28:00:00:01"] }
//   devices:
//     "DE:BA:7A:B1:E0:42": app/special.bin          # STA, AP or BASE MAC
//     "24:6F:28:00:00:02": { group: lab }
//     "24:6F:28:00:00:03": { firmware: app/x.bin, filesystem: fs/x.bin, version: "1.2.0" }
//
// `channel` (default "stable") puts the boards a target matches on a rollout
// channel: with the fleet registry on, a rollout to that channel can offer them
// another image (server/fleet/rollouts.ts).
//
// `mod` (a catalog-relative .xsa) is the Moddable mod the boards a target
// matches should run, offered on a check-in when their firmware is current and
// they host mods of the same XS version (docs/mods.md).
//
// A target names catalog-relative files; `chip` pins the chip (esp8266, esp32,
// esp32-s3, ...) so a wrong image is refused; `version` states the firmware's
// version when the image has no esp_app_desc_t (ESP8266 builds).
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import { normalizeMac, parseChip, type DeviceRequest, type Family } from "./device-headers";
import { isHiddenName } from "./catalog-root";
import { isModName } from "./mod-facts";

export interface ChipRequirement {
  family: Family;
  /** ESP32 image chip id; undefined for ESP8266 or "any ESP32". */
  chipId?: number;
  label: string;
}

export interface Target {
  /** How it was chosen, for logs: "device DE:..", "group lab", "default". */
  source: string;
  firmware?: string;
  filesystem?: string;
  chip?: ChipRequirement;
  version?: string;
  /** Rollout channel of the boards this target matches (absent: "stable"). */
  channel?: string;
  /** Catalog-relative .xsa: the mod these boards should run (docs/mods.md). */
  mod?: string;
}

export interface Rules {
  endpoint: string;
  devices: Map<string, Target>;
  groupMembers: Map<string, string>; // MAC -> group name
  groups: Map<string, Target>;
  fallback?: Target;
}

export class RulesError extends Error {
  override name = "RulesError";
}

type Raw = Record<string, unknown>;

const CHANNEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

/** A channel name (rules files, rollouts): letters, digits, . _ - and up to 32 of them. */
export function validChannel(name: unknown): name is string {
  return typeof name === "string" && CHANNEL.test(name);
}

function isObject(v: unknown): v is Raw {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function filePath(value: unknown, where: string): string {
  if (typeof value !== "string" || value.trim() === "") throw new RulesError(`${where}: expected a catalog-relative file path`);
  const p = value.trim();
  if (p.startsWith("/") || p.split("/").includes("..") || p.includes("\0")) throw new RulesError(`${where}: path must stay inside the catalog`);
  if (p.split("/").some(isHiddenName)) throw new RulesError(`${where}: hidden files (".name") are never served`);
  return p;
}

export function parseChipRequirement(value: unknown, where: string): ChipRequirement {
  if (typeof value !== "string") throw new RulesError(`${where}: chip must be a string`);
  if (value.trim().toLowerCase() === "esp8266") return { family: "esp8266", label: "ESP8266" };
  const id = parseChip(value);
  if (id === undefined) throw new RulesError(`${where}: unknown chip "${value}"`);
  return { family: "esp32", chipId: id, label: value.trim() };
}

function target(value: unknown, where: string, source: string): Target {
  if (typeof value === "string") return { source, firmware: filePath(value, where) };
  if (!isObject(value)) throw new RulesError(`${where}: expected a file path or an object`);
  const known = new Set(["firmware", "filesystem", "mod", "chip", "version", "channel", "members", "group"]);
  for (const k of Object.keys(value)) if (!known.has(k)) throw new RulesError(`${where}: unknown key "${k}"`);
  const t: Target = { source };
  if (value.firmware !== undefined) t.firmware = filePath(value.firmware, `${where}.firmware`);
  if (value.filesystem !== undefined) t.filesystem = filePath(value.filesystem, `${where}.filesystem`);
  if (value.mod !== undefined) {
    t.mod = filePath(value.mod, `${where}.mod`);
    if (!isModName(t.mod)) throw new RulesError(`${where}.mod: expected a mod archive (.xsa), e.g. mods/app-1.0.0.xsa`);
  }
  if (value.chip !== undefined) t.chip = parseChipRequirement(value.chip, `${where}.chip`);
  if (value.version !== undefined) {
    if (typeof value.version !== "string" && typeof value.version !== "number") throw new RulesError(`${where}.version: expected a string`);
    t.version = String(value.version);
  }
  if (value.channel !== undefined) {
    if (!validChannel(value.channel))
      throw new RulesError(`${where}.channel: letters, digits, . _ - (up to 32), e.g. stable or beta`);
    t.channel = value.channel;
  }
  if (!t.firmware && !t.filesystem && !t.mod) throw new RulesError(`${where}: names no firmware, filesystem image or mod`);
  return t;
}

function mac(key: string, where: string): string {
  const m = normalizeMac(key);
  if (!m) throw new RulesError(`${where}: "${key}" is not a MAC address`);
  return m;
}

/** Validates a parsed rules document. */
export function rulesFromObject(doc: unknown): Rules {
  if (!isObject(doc)) throw new RulesError("rules: expected an object at the top level");
  for (const k of Object.keys(doc)) if (!["endpoint", "default", "groups", "devices"].includes(k)) throw new RulesError(`rules: unknown key "${k}"`);
  const endpoint = doc.endpoint === undefined ? "/update" : doc.endpoint;
  if (typeof endpoint !== "string" || !/^\/[A-Za-z0-9._~/-]*$/.test(endpoint) || endpoint.startsWith("/_catalog") || endpoint.startsWith("/api/"))
    throw new RulesError("endpoint: expected a path such as /update (not /_catalog or /api/)");
  const rules: Rules = { endpoint, devices: new Map(), groups: new Map(), groupMembers: new Map() };
  if (doc.default !== undefined) rules.fallback = target(doc.default, "default", "default");
  if (doc.groups !== undefined) {
    if (!isObject(doc.groups)) throw new RulesError("groups: expected an object");
    for (const [name, value] of Object.entries(doc.groups)) {
      const where = `groups.${name}`;
      rules.groups.set(name, target(value, where, `group ${name}`));
      const members = isObject(value) ? value.members : undefined;
      if (members === undefined) continue;
      if (!Array.isArray(members)) throw new RulesError(`${where}.members: expected a list of MAC addresses`);
      for (const m of members) {
        const key = mac(String(m), `${where}.members`);
        if (rules.groupMembers.has(key)) throw new RulesError(`${where}.members: ${key} is already in group ${rules.groupMembers.get(key)}`);
        rules.groupMembers.set(key, name);
      }
    }
  }
  if (doc.devices !== undefined) {
    if (!isObject(doc.devices)) throw new RulesError("devices: expected an object keyed by MAC address");
    for (const [key, value] of Object.entries(doc.devices)) {
      const m = mac(key, "devices");
      const where = `devices.${key}`;
      if (isObject(value) && value.group !== undefined) {
        if (Object.keys(value).length !== 1) throw new RulesError(`${where}: "group" cannot be combined with other keys`);
        if (typeof value.group !== "string" || !rules.groups.has(value.group)) throw new RulesError(`${where}.group: no group "${String(value.group)}"`);
        if (rules.groupMembers.has(m) && rules.groupMembers.get(m) !== value.group) throw new RulesError(`${where}: already in group ${rules.groupMembers.get(m)}`);
        rules.groupMembers.set(m, value.group);
        continue;
      }
      rules.devices.set(m, target(value, where, `device ${m}`));
    }
  }
  return rules;
}

export function parseRules(text: string, format: "json" | "yaml"): Rules {
  let doc: unknown;
  try {
    doc = format === "json" ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new RulesError(`rules: not valid ${format.toUpperCase()}: ${(error as Error).message}`);
  }
  return rulesFromObject(doc);
}

/** Reads a rules file; the extension picks the format (.json, else YAML, a superset of JSON). */
export async function loadRules(file: string): Promise<Rules> {
  const text = await readFile(file, "utf8");
  return parseRules(text, extname(file).toLowerCase() === ".json" ? "json" : "yaml");
}

/** A device's own entry wins over its group, which wins over the default. MACs tried: STA, BASE, AP. */
export function selectTarget(rules: Rules, device: DeviceRequest): Target | undefined {
  const macs = [device.staMac, device.baseMac, device.apMac].filter((m): m is string => m !== undefined);
  for (const m of macs) {
    const own = rules.devices.get(m);
    if (own) return own;
  }
  for (const m of macs) {
    const group = rules.groupMembers.get(m);
    if (group !== undefined) return rules.groups.get(group);
  }
  return rules.fallback;
}

// What our update server knows about each catalog image (chip, version,
// project name, MD5 once it has hashed the file, whether it is signed and
// by which key), from
// GET /api/catalog?path=P, one small request after the compatibility catalog,
// which must keep AutoConnect's shape and so carries no chip. Best effort: any
// failure (AutoConnect's updateserver.py has no such route) leaves the
// catalog exactly as it was. Rows with `kind: "mod"` are app mods: their
// `xs` ("17.7", the XS major.minor they were built with) must be the
// firmware's, and on a board that takes only signed updates they must be
// signed with one of its keys, as for images.
import type { Clock, HttpClient } from "../ports";
import type { CatalogEntry, ServerSettings } from "../updater-api";
import { fetchRows } from "./catalog-client";
import { JsonRowParser, type CatalogLimits } from "./catalog-parser";
import { chipName } from "../image";
import { modWrongXs, wrongChip } from "../messages";
import { encodePath } from "./paths";
import { missingSignature, noUsableKey, unknownKey, type SignaturePolicy } from "../signature/policy";
import { missingModSignature } from "../mods/mod-statement";

export interface CatalogFact {
  name: string;
  /** esp_chip_id_t from the image header. */
  chipId?: number;
  /** esp_app_desc_t version. */
  version?: string;
  /** esp_app_desc_t project_name. */
  projectName?: string;
  /** MD5 of the file (lowercase hex), when the server has hashed it. */
  md5?: string;
  /** Bytes (a mod row's size, which AutoConnect's listing lacks). */
  size?: number;
  /** A signature file sits beside the image (the server does not judge it). */
  signed?: boolean;
  /** The first 16 hex digits of its key id (the key's fingerprint). */
  signer?: string;
  /** "mod": an app mod (an XS archive); absent: a firmware image. */
  kind?: "mod";
  /** A mod's XS major.minor (the server's "17.7"). */
  xs?: { major: number; minor: number };
}

/** The XS versions a mod host has (ModHost.xs). */
export interface ModHostXs {
  major: number;
  minor: number;
}

/** The board's firmware runs no mods: what a mod row says there. */
export const NO_MOD_HOST = "This board's firmware does not take app mods";

/** The server keeps each row under 200 bytes; 64 rows, 16 KB as for the catalog. */
export const FACTS_LIMITS: CatalogLimits = { maxEntries: 64, maxBytes: 16 * 1024, maxEntryBytes: 256 };

/** esp_app_desc_t.version and .project_name are char[32]. */
const MAX_VERSION = 32;
const MAX_PROJECT = 32;
const MD5_HEX = /^[0-9a-fA-F]{32}$/;

export function factsPath(path: string): string {
  return `/api/catalog?path=${encodePath(path === "" ? "." : path)}`;
}

/** A row with a name; fields of the wrong type are dropped, not trusted. */
export function toFact(row: Record<string, unknown>): CatalogFact | undefined {
  const { name, chipId, version, projectName, md5, signed, signer, kind, xs, size } = row;
  if (typeof name !== "string" || name.length === 0 || name.length > 255) return undefined;
  const fact: CatalogFact = { name };
  if (typeof chipId === "number" && Number.isInteger(chipId) && chipId >= 0 && chipId <= 0xffff) fact.chipId = chipId;
  if (typeof version === "string" && version.length > 0 && version.length <= MAX_VERSION) fact.version = version;
  if (typeof projectName === "string" && projectName.length > 0 && projectName.length <= MAX_PROJECT) fact.projectName = projectName;
  if (typeof md5 === "string" && MD5_HEX.test(md5)) fact.md5 = md5.toLowerCase();
  if (typeof size === "number" && Number.isSafeInteger(size) && size >= 0) fact.size = size;
  if (typeof signed === "boolean") fact.signed = signed;
  if (typeof signer === "string" && /^[0-9a-f]{16}$/.test(signer)) fact.signer = signer;
  if (kind === "mod") fact.kind = "mod";
  const m = typeof xs === "string" ? /^(\d{1,3})\.(\d{1,3})(?:\.\d{1,3})?$/.exec(xs) : null;
  if (m) fact.xs = { major: Number(m[1]), minor: Number(m[2]) };
  return fact;
}

/** Starts the request; `done` gets the rows, or undefined on any failure; once, unless cancel() comes first. */
export function fetchCatalogFacts(
  deps: { http: HttpClient; clock: Clock },
  server: ServerSettings,
  timeoutMs: number,
  done: (facts: CatalogFact[] | undefined) => void,
  headers: ReadonlyArray<readonly [string, string]> = [],
): { cancel(): void } {
  const parser = new JsonRowParser(toFact, FACTS_LIMITS);
  return fetchRows(deps, server, factsPath(server.path), parser, timeoutMs, (result) => done("error" in result ? undefined : result.entries), headers);
}

/**
 * Why a board that takes only signed images would refuse this entry, known
 * before its download (the commit checks it for real); undefined when the row
 * says nothing either way or names one of the board's keys.
 */
export function signatureProblem(fact: CatalogFact, policy: SignaturePolicy | undefined, mod = false): string | undefined {
  if (!policy?.required) return undefined;
  if (policy.keys.length === 0) return noUsableKey(policy);
  if (fact.signed === false) return mod ? missingModSignature() : missingSignature();
  const signer = fact.signer;
  if (fact.signed === true && signer !== undefined && !policy.keys.some((k) => k.id.startsWith(signer))) return unknownKey(signer, policy.keys);
  return undefined;
}

/**
 * Adds versions, project names, MD5s, the mod kind and a mod's size (when the
 * listing had none), disables mods built for
 * another XS (or any mod on a board without mods) with the mod sink's wording,
 * entries built for another chip with pre-flight's
 * wording, and, on a board that takes only signed images, entries that are not
 * signed or signed with another key, with the commit's wording. An entry
 * already disabled (too large, empty) keeps its reason and gets these after it.
 */
export function applyFacts(entries: CatalogEntry[], facts: CatalogFact[], runningChipId: number, policy?: SignaturePolicy, modHost?: ModHostXs): CatalogEntry[] {
  const byName = new Map<string, CatalogFact>();
  for (const f of facts) if (!byName.has(f.name)) byName.set(f.name, f);
  return entries.map((entry) => {
    const fact = byName.get(entry.name);
    if (!fact) return entry;
    const out: CatalogEntry = { ...entry };
    if (fact.version !== undefined) out.version = fact.version;
    if (fact.projectName !== undefined) out.projectName = fact.projectName;
    if (fact.md5 !== undefined) out.md5 = fact.md5;
    if (out.size === undefined && fact.size !== undefined) out.size = fact.size;
    const add = (reason: string) => (out.disabled = out.disabled === undefined ? reason : `${out.disabled}; ${reason}`);
    if (fact.kind === "mod") {
      out.kind = "mod";
      if (!modHost) add(NO_MOD_HOST);
      else if (fact.xs !== undefined && (fact.xs.major !== modHost.major || fact.xs.minor !== modHost.minor)) add(modWrongXs(fact.xs, modHost));
    } else if (fact.chipId !== undefined && fact.chipId !== runningChipId) add(wrongChip(chipName(fact.chipId), chipName(runningChipId)));
    const unsigned = signatureProblem(fact, policy, fact.kind === "mod" || out.kind === "mod");
    if (unsigned) add(unsigned);
    return out;
  });
}

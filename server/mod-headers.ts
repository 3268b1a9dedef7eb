// What a board that hosts Moddable mods says about them on its check-ins and
// catalog requests (docs/mods.md):
//   x-Ota-Mod-Host: <xs major>.<xs minor>        the XS its firmware runs mods with ("17.7")
//   x-Ota-Mod: <name>@<version>                  its running mod; empty when it runs none
//   x-Ota-Mod-Result: valid|rolled-back|failed   after a mod update, how it ended
//   x-Ota-Mod-Result-Version: <name>@<version>   the mod that result is about
// Any case in the names. Never a refusal: a value we cannot read is as if it
// were not sent (and said in the log), so the answer is what a board without
// these headers gets.
import type { IncomingHttpHeaders } from "node:http";
import type { FastifyBaseLogger } from "fastify";
import type { XsVersion } from "../modules/core/mods/archive";
import type { UpdateResult } from "./update-report";

export interface ModReport {
  result: UpdateResult;
  /** `<name>@<version>` of the mod the result is about. */
  version?: string;
}

export interface ModHeaders {
  /** x-Ota-Mod-Host; absent: the board takes no mods (or said it unreadably). */
  host?: Pick<XsVersion, "major" | "minor">;
  /** x-Ota-Mod: "" when the board runs no mod; absent when not sent. */
  running?: string;
  report?: ModReport;
  /** What could not be read, for the log. */
  ignored: string[];
}

const HOST = /^(\d{1,3})\.(\d{1,3})$/;
/** name@version: ota-mod.json's name and version are each 1 to 31 printable characters; no ota-mod.json: the archive's NAME and "". */
const IDENTITY = /^[\x21-\x7e][\x20-\x7e]{0,94}$/;
const RESULTS = new Set<string>(["valid", "rolled-back", "failed"]);

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function readModHeaders(headers: IncomingHttpHeaders): ModHeaders {
  const out: ModHeaders = { ignored: [] };
  const host = single(headers, "x-ota-mod-host")?.trim();
  if (host !== undefined) {
    const m = HOST.exec(host);
    if (m && Number(m[1]) <= 255 && Number(m[2]) <= 255) out.host = { major: Number(m[1]), minor: Number(m[2]) };
    else out.ignored.push("x-Ota-Mod-Host");
  }
  const running = single(headers, "x-ota-mod")?.trim();
  if (running !== undefined) {
    if (running === "" || IDENTITY.test(running)) out.running = running;
    else out.ignored.push("x-Ota-Mod");
  }
  const result = single(headers, "x-ota-mod-result")?.trim().toLowerCase();
  const version = single(headers, "x-ota-mod-result-version")?.trim();
  if (result !== undefined) {
    if (RESULTS.has(result)) {
      out.report = { result: result as UpdateResult };
      if (version !== undefined && IDENTITY.test(version)) out.report.version = version;
      else if (version !== undefined) out.ignored.push("x-Ota-Mod-Result-Version");
    } else out.ignored.push("x-Ota-Mod-Result");
  } else if (version !== undefined) out.ignored.push("x-Ota-Mod-Result-Version without a result");
  return out;
}

export function hostText(host: Pick<XsVersion, "major" | "minor">): string {
  return `${host.major}.${host.minor}`;
}

/** One log line per mod report (check-ins and catalog requests alike); nothing for requests without one. */
export function logModReport(headers: IncomingHttpHeaders, log: FastifyBaseLogger): void {
  if (single(headers, "x-ota-mod-result") === undefined && single(headers, "x-ota-mod-result-version") === undefined) return;
  const mod = readModHeaders(headers);
  if (mod.report) log.info({ result: mod.report.result, mod: mod.report.version }, "device reported its last mod update");
  else log.debug({ ignored: mod.ignored }, "mod update report ignored");
}

// Boards report how their last update ended on their next check-in and
// catalog requests: `x-ESP32-update-result: valid|rolled-back|failed` and
// `x-ESP32-update-version: <version>` (any case in the names; x-ESP8266-* for
// that core's check-ins, which the fleet registry reads). The server logs
// it, with the board's MAC when the request carries one, and otherwise answers
// exactly as it would without them: a malformed value is logged at debug and
// ignored, never refused.
import type { IncomingHttpHeaders } from "node:http";
import type { FastifyBaseLogger } from "fastify";
import { normalizeMac, type Family } from "./device-headers";

export type UpdateResult = "valid" | "rolled-back" | "failed";

export type UpdateReport =
  | { kind: "none" }
  | { kind: "report"; result: UpdateResult; version?: string; mac?: string; ignored?: string }
  | { kind: "malformed"; detail: string };

const RESULTS = new Set<string>(["valid", "rolled-back", "failed"]);
/** esp_app_desc_t.version is char[32]: up to 31 printable characters. */
const VERSION = /^[\x21-\x7e](?:[\x20-\x7e]{0,29}[\x21-\x7e])?$/;

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function readUpdateReport(headers: IncomingHttpHeaders, family: Family = "esp32"): UpdateReport {
  const rawResult = single(headers, `x-${family}-update-result`);
  const rawVersion = single(headers, `x-${family}-update-version`);
  if (rawResult === undefined && rawVersion === undefined) return { kind: "none" };
  const result = rawResult?.trim().toLowerCase();
  if (result === undefined || !RESULTS.has(result)) return { kind: "malformed", detail: rawResult === undefined ? "version without a result" : "unknown result" };
  const report: UpdateReport = { kind: "report", result: result as UpdateResult };
  const version = rawVersion?.trim();
  if (version !== undefined) {
    if (VERSION.test(version)) report.version = version;
    else report.ignored = "malformed version";
  }
  for (const name of ["x-esp32-sta-mac", "x-esp32-base-mac", "x-esp8266-sta-mac"]) {
    const raw = single(headers, name);
    const mac = raw === undefined ? undefined : normalizeMac(raw);
    if (mac) {
      report.mac = mac;
      break;
    }
  }
  return report;
}

/** One log line per report; nothing for requests without one. */
export function logUpdateReport(headers: IncomingHttpHeaders, log: FastifyBaseLogger): void {
  const report = readUpdateReport(headers);
  if (report.kind === "none") return;
  if (report.kind === "malformed") {
    log.debug({ detail: report.detail }, "update report ignored");
    return;
  }
  if (report.ignored) log.debug({ detail: report.ignored }, "update report: part ignored");
  log.info({ mac: report.mac, result: report.result, version: report.version }, "device reported its last update");
}

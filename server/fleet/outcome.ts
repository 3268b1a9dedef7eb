// What a board of ours reports about its previous update, on its next
// advanced-updater check-in: `x-ESP32-update-result: valid|rolled-back|failed`
// and `x-ESP32-update-version: <version>` (any case; x-ESP8266-* for that core).
// Boards that send nothing are answered exactly as before.
import type { IncomingHttpHeaders } from "node:http";
import type { Family } from "../device-headers";

export const RESULTS = ["valid", "rolled-back", "failed"] as const;
export type UpdateResult = (typeof RESULTS)[number];

export interface UpdateReport {
  result: UpdateResult;
  version?: string;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return (Array.isArray(v) ? v[0] : v)?.trim();
}

/** The report, or undefined when there is none or it names no known result. */
export function parseUpdateReport(headers: IncomingHttpHeaders, family: Family): UpdateReport | undefined {
  const result = header(headers, `x-${family}-update-result`)?.toLowerCase();
  if (!result || !(RESULTS as readonly string[]).includes(result)) return undefined;
  const version = header(headers, `x-${family}-update-version`);
  return { result: result as UpdateResult, ...(version && version.length <= 64 ? { version } : {}) };
}

export const isFailure = (result: string | null | undefined): boolean => result === "rolled-back" || result === "failed";

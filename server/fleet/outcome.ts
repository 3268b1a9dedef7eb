// What a board of ours reports about its previous update, on its next
// advanced-updater check-in, as the registry keeps it: the server's own
// reading of `x-ESP32-update-result` / `-version` (x-ESP8266-* for that core),
// update-report.ts. Boards that send nothing are answered exactly as before.
import type { IncomingHttpHeaders } from "node:http";
import type { Family } from "../device-headers";
import { readUpdateReport, type UpdateResult } from "../update-report";

export type { UpdateResult };

export interface UpdateReport {
  result: UpdateResult;
  version?: string;
}

/** The report, or undefined when there is none or it names no known result. */
export function parseUpdateReport(headers: IncomingHttpHeaders, family: Family): UpdateReport | undefined {
  const report = readUpdateReport(headers, family);
  if (report.kind !== "report") return undefined;
  return { result: report.result, ...(report.version !== undefined ? { version: report.version } : {}) };
}

export const isFailure = (result: string | null | undefined): boolean => result === "rolled-back" || result === "failed";

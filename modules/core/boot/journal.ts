// What survives a restart about updates, in the key-value store (NVS on a
// board): the update whose verdict is still open, and the last update's
// outcome. The bootloader can roll an image back without the app running
// (a crash or power cut before confirmation), so the outcome is worked out at
// the next boot from these records and the running partition.
//
// Store keys (NVS: <= 15 characters, values <= 4000 bytes):
//   "ota.pending" = {"partition":"ota_1","version":"2.1.0"}  written just before the boot switch
//   "ota.last"    = {"version":"2.1.0","result":"rolled-back","reason":"..."}
import type { KeyValueStore } from "../ports";

export const PENDING_KEY = "ota.pending";
export const LAST_KEY = "ota.last";

/** The contract of /api/status `lastUpdate` and the x-ESP32-update-result header. */
export type UpdateResult = "valid" | "rolled-back" | "failed";

export interface LastUpdate {
  version: string;
  result: UpdateResult;
  /** Why it failed or was rolled back, for the home page (not sent to servers). */
  reason?: string;
}

export interface PendingUpdate {
  /** Slot the new image was written to. */
  partition: string;
  version: string;
}

const RESULTS: readonly string[] = ["valid", "rolled-back", "failed"];
/** Longest reason kept: the home page shows it in one line. */
const MAX_REASON = 200;

function read(store: KeyValueStore, key: string): Record<string, unknown> | undefined {
  const text = store.get(key);
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // a damaged record reads as none rather than breaking the boot
  }
}

export class BootJournal {
  constructor(private readonly store: KeyValueStore) {}

  pending(): PendingUpdate | undefined {
    const r = read(this.store, PENDING_KEY);
    if (!r || typeof r.partition !== "string" || typeof r.version !== "string") return undefined;
    return { partition: r.partition, version: r.version };
  }

  last(): LastUpdate | undefined {
    const r = read(this.store, LAST_KEY);
    if (!r || typeof r.version !== "string" || typeof r.result !== "string" || !RESULTS.includes(r.result)) return undefined;
    const last: LastUpdate = { version: r.version, result: r.result as UpdateResult };
    if (typeof r.reason === "string") last.reason = r.reason;
    return last;
  }

  /** Just before the boot switch: the verdict on `version` in `partition` is open until a later boot settles it. */
  setPending(pending: PendingUpdate): void {
    this.store.set(PENDING_KEY, JSON.stringify({ partition: pending.partition, version: pending.version }));
  }

  /** Records the outcome and closes the open verdict, in that order: a reset between the two leaves both, which settles the same way. */
  settle(last: LastUpdate): void {
    const record: LastUpdate = { version: last.version, result: last.result };
    if (last.reason !== undefined) record.reason = last.reason.slice(0, MAX_REASON);
    this.store.set(LAST_KEY, JSON.stringify(record));
    this.store.delete(PENDING_KEY);
  }
}

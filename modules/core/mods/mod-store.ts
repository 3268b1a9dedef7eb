// What survives a restart about mods: one record in the key-value store (NVS:
// key <= 15 characters, value <= 4000 bytes; this one is about 500), so every
// step of an install, a switch or a rollback is a single atomic write.
//
//   "mod.state" = {
//     "slots": [ModRecord | null, ModRecord | null],  what xs_a and xs_b hold (set only once a slot is whole)
//     "xs": 0 | 1 | null,       the slot whose mod is (or is being put) in `xs`
//     "staged": 0 | 1 | null,   committed, to be switched to at the next restart
//     "pending": {"slot": 0|1|null, "prev": 0|1|null, "tries": n, "copies": n, "restore": bool} | null,
//                               a switch whose copy or verdict is open ("slot": null = a removal);
//                               "restore": putting back a mod already judged (no new verdict)
//     "last": {"name","version","result","reason"} | null   the last mod update's outcome
//   }
// A damaged or foreign record reads as "no mods": the board then runs none
// rather than one it cannot account for.
import type { KeyValueStore } from "../ports";

export const MOD_STATE_KEY = "mod.state";
/** Longest reason kept: the home page shows it on one line. */
const MAX_REASON = 200;

export type SlotIndex = 0 | 1;

export interface ModRecord {
  name: string;
  version: string;
  size: number;
  /** SHA-256 of the bytes as they arrived, lowercase hex. */
  sha256: string;
  /** Rolled back or refused by the host: not offered by "Go back". */
  failed?: boolean;
}

export interface PendingSwitch {
  /** The slot being put into `xs`; null: the mod in `xs` is being removed. */
  slot: SlotIndex | null;
  /** The slot whose mod was in `xs` before (the way back); null: none. */
  prev: SlotIndex | null;
  /** Boots that started the mod without a verdict. */
  tries: number;
  /** Copies into `xs` begun for this switch. */
  copies: number;
  /** Putting back a mod already judged (a rollback, a repair): no start-up verdict. */
  restore?: boolean;
}

export type ModResult = "valid" | "rolled-back" | "failed" | "removed";

export interface ModOutcome {
  name: string;
  version: string;
  result: ModResult;
  reason?: string;
}

export interface ModState {
  slots: [ModRecord | null, ModRecord | null];
  xs: SlotIndex | null;
  staged: SlotIndex | null;
  pending: PendingSwitch | null;
  last: ModOutcome | null;
}

export function emptyModState(): ModState {
  return { slots: [null, null], xs: null, staged: null, pending: null, last: null };
}

const RESULTS: readonly string[] = ["valid", "rolled-back", "failed", "removed"];

const isSlot = (v: unknown): v is SlotIndex => v === 0 || v === 1;
const slotOrNull = (v: unknown): SlotIndex | null | undefined => (v === null ? null : isSlot(v) ? v : undefined);
const count = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0 && v < 1000;

function record(v: unknown): ModRecord | null | undefined {
  if (v === null) return null;
  const r = v as Partial<ModRecord> | undefined;
  if (!r || typeof r !== "object" || typeof r.name !== "string" || typeof r.version !== "string" || !count0(r.size) || typeof r.sha256 !== "string") return undefined;
  const out: ModRecord = { name: r.name, version: r.version, size: r.size, sha256: r.sha256 };
  if (r.failed === true) out.failed = true;
  return out;
}
function count0(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v > 0;
}

/** Parses a stored record; undefined when it is damaged. */
export function parseModState(text: string): ModState | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  const o = v as Record<string, unknown> | null;
  if (!o || typeof o !== "object" || !Array.isArray(o.slots) || o.slots.length !== 2) return undefined;
  const a = record(o.slots[0]);
  const b = record(o.slots[1]);
  const xs = slotOrNull(o.xs);
  const staged = slotOrNull(o.staged);
  if (a === undefined || b === undefined || xs === undefined || staged === undefined) return undefined;
  let pending: PendingSwitch | null = null;
  if (o.pending !== null) {
    const p = o.pending as Record<string, unknown> | undefined;
    if (!p || typeof p !== "object") return undefined;
    const slot = slotOrNull(p.slot);
    const prev = slotOrNull(p.prev);
    if (slot === undefined || prev === undefined || !count(p.tries) || !count(p.copies)) return undefined;
    pending = { slot, prev, tries: p.tries, copies: p.copies };
    if (p.restore === true) pending.restore = true;
  }
  let last: ModOutcome | null = null;
  if (o.last !== null && o.last !== undefined) {
    const l = o.last as Record<string, unknown>;
    if (typeof l !== "object" || typeof l.name !== "string" || typeof l.version !== "string" || typeof l.result !== "string" || !RESULTS.includes(l.result)) return undefined;
    last = { name: l.name, version: l.version, result: l.result as ModResult };
    if (typeof l.reason === "string") last.reason = l.reason;
  }
  return { slots: [a, b], xs, staged, pending, last };
}

/** The record in the store, read and written whole. */
export class ModStore {
  constructor(private readonly store: KeyValueStore) {}

  load(): ModState {
    const text = this.store.get(MOD_STATE_KEY);
    return (text && parseModState(text)) || emptyModState();
  }

  save(state: ModState): void {
    const last = state.last && { ...state.last };
    if (last?.reason !== undefined) last.reason = last.reason.slice(0, MAX_REASON);
    this.store.set(MOD_STATE_KEY, JSON.stringify({ ...state, last }));
  }
}

/** "name@version", as check-ins name a mod. */
export function modLabel(r: { name: string; version: string }): string {
  return r.version ? `${r.name}@${r.version}` : r.name;
}

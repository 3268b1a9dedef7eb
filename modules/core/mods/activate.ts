// Moving mods between the slots and `xs`, the partition the host's XS maps at
// VM creation (docs/architecture.md, "Mods"). Everything here is synchronous
// and runs with no mod code running from `xs` (at boot, before the host starts
// the mod, or right before a restart).
//
// copyToXs: erase the blocks of `xs` the mod covers, copy the slot from byte 64
//   in pieces of at most 4 KB, its first 64 bytes last: until the last write
//   `xs` starts with 0xFF, which no XS takes for a mod.
// removeFromXs: 16 zero bytes over `xs`'s head (one write, no erase): no longer
//   an XS_A atom, so XS maps nothing (and writes no XS_E either).
// mappedMatches: is `xs` the slot's mod, as XS may have mapped it? Mapping
//   rewrites the IDEN atom's content and 2-byte ids inside CODE; anything else
//   (an erased sector, a half-written piece) is a mismatch.
import type { FlashArea, ModFlash } from "../ports";
import { ARCHIVE_HEADER_SIZE, ARCHIVE_HEAD_KEPT } from "./archive";
import type { ModOutcome, ModStore, PendingSwitch, SlotIndex } from "./mod-store";

/** Largest piece read or written at once. */
export const PIECE = 4096;
/** Bytes zeroed at `xs`'s head to remove a mod. */
export const REMOVE_BYTES = 16;
/** Longest run of differing bytes mapping can make outside IDEN (one symbol id). */
const MAX_ID_RUN = 2;

const fourCC = (b: Uint8Array, at: number): string => String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);
const u32 = (b: Uint8Array, at: number): number => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

/** What `xs` (or a slot) starts with. */
export type AreaHead =
  | { kind: "archive"; size: number; header: Uint8Array }
  /** XS refused it at VM creation and wrote an XS_E atom: its status byte (xsffi.h exit codes). */
  | { kind: "refused"; status: number }
  | { kind: "none" };

export function readHead(area: FlashArea): AreaHead {
  const header = new Uint8Array(ARCHIVE_HEADER_SIZE);
  area.read(0, header);
  const type = fourCC(header, 4);
  if (type === "XS_E") return { kind: "refused", status: header[8] };
  if (type !== "XS_A") return { kind: "none" };
  return { kind: "archive", size: u32(header, 0), header };
}

/** The two heads are the same mod's (XS_A size, VERS, SIGN): mapping never changes these. */
export function sameHeader(a: AreaHead, b: AreaHead): boolean {
  if (a.kind !== "archive" || b.kind !== "archive") return false;
  for (let i = 0; i < ARCHIVE_HEADER_SIZE; i++) if (a.header[i] !== b.header[i]) return false;
  return true;
}

function eraseLength(area: FlashArea, size: number): number {
  const length = Math.ceil(size / area.blockSize) * area.blockSize;
  if (size <= 0 || length > area.size) throw new Error(`A mod of ${size} bytes does not fit ${area.label} (${area.size} bytes)`);
  return length;
}

/** Copies the mod of `size` bytes in `slot` into `xs`, head last. Throws on a flash error. */
export function copyToXs(slot: FlashArea, xs: FlashArea, size: number, buffer = new Uint8Array(PIECE)): void {
  xs.erase(0, eraseLength(xs, size));
  let at = ARCHIVE_HEAD_KEPT;
  while (at < size) {
    // pieces end on block boundaries: 64..4095, 4096..8191, ...
    const end = Math.min(size, (Math.floor(at / PIECE) + 1) * PIECE);
    const piece = buffer.subarray(0, end - at);
    slot.read(at, piece);
    xs.write(at, piece);
    at = end;
  }
  const head = buffer.subarray(0, Math.min(ARCHIVE_HEAD_KEPT, size));
  slot.read(0, head);
  xs.write(0, head);
}

/** Removes the mod in `xs`: one write of zeros over its head. */
export function removeFromXs(xs: FlashArea): void {
  xs.write(0, new Uint8Array(REMOVE_BYTES));
}

/** Where the IDEN atom's content lies in an archive: after XS_A, VERS, SIGN, NAME and SYMB. */
export function idenRange(area: FlashArea, size: number): { start: number; end: number } | undefined {
  const h = new Uint8Array(8);
  let at = ARCHIVE_HEADER_SIZE;
  for (const want of ["NAME", "SYMB", "IDEN"]) {
    if (at + 8 > size) return undefined;
    area.read(at, h);
    const length = u32(h, 0);
    if (fourCC(h, 4) !== want || length < 8 || at + length > size) return undefined;
    if (want === "IDEN") return { start: at + 8, end: at + length };
    at += length;
  }
  return undefined;
}

/**
 * True when `xs` holds the mod of `size` bytes in `slot`, mapped or not: equal
 * up to IDEN, IDEN's content free, then equal but for runs of at most 2 bytes.
 * Compares in 4 KB pieces (two buffers).
 */
export function mappedMatches(xs: FlashArea, slot: FlashArea, size: number): boolean {
  if (size <= 0 || size > xs.size || size > slot.size) return false;
  const iden = idenRange(slot, size);
  if (!iden) return false;
  const a = new Uint8Array(PIECE);
  const b = new Uint8Array(PIECE);
  let run = 0;
  for (let at = 0; at < size; at += PIECE) {
    const n = Math.min(PIECE, size - at);
    const x = a.subarray(0, n);
    const s = b.subarray(0, n);
    xs.read(at, x);
    slot.read(at, s);
    for (let i = 0; i < n; i++) {
      const offset = at + i;
      if (offset >= iden.start && offset < iden.end) {
        run = 0;
        continue;
      }
      if (x[i] === s[i]) {
        run = 0;
        continue;
      }
      if (offset < iden.start) return false; // header, NAME, SYMB: never rewritten
      if (++run > MAX_ID_RUN) return false;
    }
  }
  return true;
}

/**
 * The switch to the mod in `slot`, journal first: the pending switch (the way
 * back is the mod `xs` held) is recorded, then the mod is copied into `xs`. A
 * cut anywhere leaves a record that the next boot completes (mod-boot.ts).
 */
export function activate(flash: ModFlash, store: ModStore, slot: SlotIndex, options: { restore?: boolean; prev?: SlotIndex | null } = {}): void {
  const state = store.load();
  const record = state.slots[slot];
  if (!record) throw new Error(`${flash.slots[slot].label} holds no mod`);
  const pending: PendingSwitch = { slot, prev: options.prev !== undefined ? options.prev : state.xs === slot ? null : state.xs, tries: 0, copies: 1 };
  if (options.restore) pending.restore = true;
  state.pending = pending;
  state.xs = slot;
  if (state.staged === slot) state.staged = null;
  store.save(state);
  copyToXs(flash.slots[slot], flash.active, record.size);
}

/** Copies the pending switch's mod into `xs` again (a cut copy or mapping), counting the copy first. */
export function recopy(flash: ModFlash, store: ModStore): void {
  const state = store.load();
  const pending = state.pending;
  if (!pending || pending.slot === null) throw new Error("no switch to copy again");
  const record = state.slots[pending.slot];
  if (!record) throw new Error(`${flash.slots[pending.slot].label} holds no mod`);
  pending.copies++;
  store.save(state);
  copyToXs(flash.slots[pending.slot], flash.active, record.size);
}

/** Removes the mod from `xs`, journal (and `outcome`) first, then one write; the record then says `xs` holds none. */
export function remove(flash: ModFlash, store: ModStore, outcome: ModOutcome | null): void {
  const state = store.load();
  state.pending = { slot: null, prev: state.xs, tries: 0, copies: 1 };
  if (outcome) state.last = outcome;
  store.save(state);
  removeFromXs(flash.active);
  state.pending = null;
  state.xs = null;
  store.save(state);
}

// otadata: which OTA slot the bootloader starts.
//
// Layout (ESP-IDF components/bootloader_support/include/esp_flash_partitions.h):
//   typedef struct { uint32_t ota_seq; uint8_t seq_label[20]; uint32_t ota_state; uint32_t crc; } esp_ota_select_entry_t;
// 32 bytes, little-endian; one entry at the start of each of the two 4 KB sectors
// of the otadata partition. crc = esp_rom_crc32_le(UINT32_MAX, &ota_seq, 4).
//
// Rules ported from:
// - bootloader_common.c: bootloader_common_ota_select_invalid / _valid /
//   bootloader_common_select_otadata (the valid entry with the highest seq wins).
// - bootloader_utility.c: bootloader_utility_get_selected_boot_partition
//   (slot = (seq - 1) % app_count; both entries invalid and no factory -> ota_0)
//   and set_actual_ota_seq (then writes {seq = index + 1, state VALID} to sector 0).
// - app_update/esp_ota_ops.c: esp_rewrite_ota_data + rewrite_ota_seq (what
//   esp_ota_set_boot_partition writes: the smallest seq above the active one that
//   maps to the wanted slot, into the OTHER sector, which is erased first).
import { crc32Le } from "./crc32";

/** The app slot an entry's seq selects (bootloader_utility.c: (ota_seq - 1) % ota_app_count). */
export function slotOfSeq(seq: number, appCount: number): number {
  return ((seq - 1) >>> 0) % appCount;
}

export const OTADATA_SECTOR = 0x1000;
export const OTA_SELECT_ENTRY_SIZE = 32;
export const UINT32_MAX = 0xffffffff;

/** esp_ota_img_states_t */
export const OtaState = {
  NEW: 0x0,
  PENDING_VERIFY: 0x1,
  VALID: 0x2,
  INVALID: 0x3,
  ABORTED: 0x4,
  UNDEFINED: 0xffffffff,
} as const;

export interface OtaSelectEntry {
  seq: number;
  /** seq_label[20], raw. */
  label: Uint8Array;
  state: number;
  crc: number;
}

export function otaSelectCrc(seq: number): number {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, seq >>> 0, true);
  return crc32Le(UINT32_MAX, b);
}

export function decodeEntry(bytes: Uint8Array): OtaSelectEntry {
  const view = new DataView(bytes.buffer, bytes.byteOffset, OTA_SELECT_ENTRY_SIZE);
  return {
    seq: view.getUint32(0, true),
    label: bytes.slice(4, 24),
    state: view.getUint32(24, true),
    crc: view.getUint32(28, true),
  };
}

export function encodeEntry(e: OtaSelectEntry): Uint8Array {
  const out = new Uint8Array(OTA_SELECT_ENTRY_SIZE);
  const view = new DataView(out.buffer);
  view.setUint32(0, e.seq >>> 0, true);
  out.set(e.label.subarray(0, 20), 4);
  view.setUint32(24, e.state >>> 0, true);
  view.setUint32(28, e.crc >>> 0, true);
  return out;
}

/** bootloader_common_ota_select_invalid */
export function entryInvalid(e: OtaSelectEntry): boolean {
  return e.seq === UINT32_MAX || e.state === OtaState.INVALID || e.state === OtaState.ABORTED;
}

/** bootloader_common_ota_select_valid */
export function entryValid(e: OtaSelectEntry): boolean {
  return !entryInvalid(e) && e.crc === otaSelectCrc(e.seq);
}

/** bootloader_common_get_active_otadata: index of the valid entry with the highest seq, or -1. */
export function activeEntry(entries: readonly [OtaSelectEntry, OtaSelectEntry]): number {
  const [a, b] = [entryValid(entries[0]), entryValid(entries[1])];
  if (a && b) return Math.max(entries[0].seq, entries[1].seq) === entries[0].seq ? 0 : 1;
  if (a) return 0;
  if (b) return 1;
  return -1;
}

export interface BootSelection {
  /** Index into the OTA slots (0 = ota_0). */
  slot: number;
  /** Which otadata sector decided it, or -1 for the "no valid otadata -> ota_0" default. */
  activeSector: number;
  /** True when otadata held no usable entry (erased or bad CRC): the bootloader then writes seq 1 for the slot it boots. */
  initial: boolean;
}

/** bootloader_utility_get_selected_boot_partition, for a table with no factory app. */
export function selectBootSlot(entries: readonly [OtaSelectEntry, OtaSelectEntry], appCount: number): BootSelection {
  if (appCount === 0) throw new Error("no OTA app partitions");
  const initial = (e: OtaSelectEntry) => e.seq === UINT32_MAX || e.crc !== otaSelectCrc(e.seq);
  if (entryInvalid(entries[0]) && entryInvalid(entries[1])) {
    // "No factory image, trying OTA 0"
    return { slot: 0, activeSector: -1, initial: initial(entries[0]) && initial(entries[1]) };
  }
  const active = activeEntry(entries);
  if (active === -1) {
    // "ota data partition invalid and no factory, will try all partitions": starts at index FACTORY_INDEX,
    // which is empty here, so the forward scan tries ota_0 first.
    return { slot: 0, activeSector: -1, initial: false };
  }
  return { slot: slotOfSeq(entries[active].seq, appCount), activeSector: active, initial: false };
}

/** set_actual_ota_seq: the entry the bootloader writes to sector 0 after booting `slot` from blank otadata. */
export function initialEntry(slot: number): OtaSelectEntry {
  const seq = slot + 1;
  return { seq, label: new Uint8Array(20).fill(0xff), state: OtaState.VALID, crc: otaSelectCrc(seq) };
}

/**
 * esp_rewrite_ota_data(subtype) for slot `slot`: returns the sector to rewrite and its new entry.
 * The new state is set_new_state_otadata(): ESP_OTA_IMG_NEW with CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
 * (this project's sdkconfig), ESP_OTA_IMG_UNDEFINED without it (Moddable's default); seq_label is
 * whatever that sector held.
 */
export function nextBootEntry(entries: readonly [OtaSelectEntry, OtaSelectEntry], slot: number, appCount: number, rollback: boolean): { sector: number; entry: OtaSelectEntry } {
  if (slot >= appCount) throw new Error(`slot ${slot} out of ${appCount}`);
  const active = activeEntry(entries);
  let sector: number;
  let seq: number;
  if (active !== -1) {
    const current = entries[active].seq;
    let i = 0;
    while (current > ((slot + 1) % appCount) + i * appCount) i++;
    seq = ((slot + 1) % appCount) + i * appCount;
    sector = active ^ 1;
  } else {
    sector = 0;
    seq = slot + 1;
  }
  const base = entries[sector];
  return { sector, entry: { seq, label: base.label.slice(), state: rollback ? OtaState.NEW : OtaState.UNDEFINED, crc: otaSelectCrc(seq) } };
}

/**
 * esp_ota_get_state_partition: the state of the first entry (sector 0, then 1) whose
 * seq maps to `slot` and whose CRC is right; undefined (ESP_ERR_NOT_FOUND) when none does.
 * An erased entry's seq (0xFFFFFFFF) maps to a slot too, but its CRC never matches.
 */
export function slotState(entries: readonly [OtaSelectEntry, OtaSelectEntry], slot: number, appCount: number): number | undefined {
  for (const e of entries) {
    if (slotOfSeq(e.seq, appCount) === slot && e.crc === otaSelectCrc(e.seq)) return e.state;
  }
  return undefined;
}

/** Kebab-case names of esp_ota_img_states_t, as /api/status reports them. */
export function stateName(state: number | undefined): "new" | "pending-verify" | "valid" | "invalid" | "aborted" | "undefined" {
  switch (state) {
    case OtaState.NEW:
      return "new";
    case OtaState.PENDING_VERIFY:
      return "pending-verify";
    case OtaState.VALID:
      return "valid";
    case OtaState.INVALID:
      return "invalid";
    case OtaState.ABORTED:
      return "aborted";
    default:
      return "undefined";
  }
}

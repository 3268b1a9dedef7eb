// ESP-IDF partition table: binary layout, a parser and a builder.
//
// Source: ESP-IDF components/partition_table/gen_esp32part.py
// - PartitionDefinition.FORMAT = "<2sBBLL16sL": magic b"\xAA\x50", type, subtype,
//   offset, size, label (16 bytes, NUL padded), flags (bit 0 encrypted, bit 1 readonly).
// - PartitionTable.to_binary(): the entries, then MD5_PARTITION_BEGIN
//   (b"\xEB\xEB" + b"\xFF" * 14) followed by the MD5 of all entry bytes, then 0xFF
//   padding up to MAX_PARTITION_LENGTH (0xC00). The table lives at flash offset
//   0x8000 (CONFIG_PARTITION_TABLE_OFFSET default).
// - Types: app 0x00, data 0x01. App subtypes: factory 0x00, ota_0..ota_15 0x10..0x1F,
//   test 0x20. Data subtypes: ota 0x00, phy 0x01, nvs 0x02, coredump 0x03, spiffs 0x82.
//   Types 0x40-0xFE are custom (gen_esp32part.py takes them as numbers): Moddable's
//   host maps type 0x40 subtype 1 (xs/platforms/esp/xsHost.c, esp_partition_find_first(0x40, 1, NULL)).
import { createHash } from "node:crypto";

export const PARTITION_TABLE_OFFSET = 0x8000;
export const MAX_PARTITION_LENGTH = 0xc00;
export const ENTRY_SIZE = 32;
export const ENTRY_MAGIC = 0x50aa; // bytes AA 50, read little-endian
export const MD5_MAGIC = 0xebeb;

export const TYPE_APP = 0x00;
export const TYPE_DATA = 0x01;
export const SUBTYPE_FACTORY = 0x00;
export const SUBTYPE_OTA_0 = 0x10;
export const SUBTYPE_TEST = 0x20;
export const SUBTYPE_DATA_OTA = 0x00;
export const SUBTYPE_DATA_PHY = 0x01;
export const SUBTYPE_DATA_NVS = 0x02;
/** Mod partitions (docs/architecture.md, "Mods"): `xs` is the one XS maps, `xs_a` and `xs_b` the slots. */
export const TYPE_MODS = 0x40;
export const SUBTYPE_XS = 0x01;
export const SUBTYPE_XS_A = 0x02;
export const SUBTYPE_XS_B = 0x03;

export interface Partition {
  label: string;
  type: number;
  subtype: number;
  offset: number;
  size: number;
  flags: number;
}

export class PartitionTableError extends Error {
  override name = "PartitionTableError";
}

/**
 * The twin's 4 MB table: nvs, otadata and two OTA slots, no factory app, then
 * the mod partitions. Offsets and sizes of the first four are those of
 * Arduino-ESP32's min_spiffs.csv (nvs 20K at 0x9000, otadata 8K at 0xE000, app
 * slots 0x1E0000 = 1920K each at 0x10000 and 0x1F0000) without its spiffs and
 * coredump partitions; the 192K it leaves after ota_1 (0x3D0000-0x400000)
 * holds `xs`, `xs_a` and `xs_b` (0x40/1, 2, 3) of 64K each, on 4K boundaries
 * as data partitions need (gen_esp32part.py: 0x1000 alignment).
 */
export const DEMO_TABLE: readonly Partition[] = [
  { label: "nvs", type: TYPE_DATA, subtype: SUBTYPE_DATA_NVS, offset: 0x9000, size: 0x5000, flags: 0 },
  { label: "otadata", type: TYPE_DATA, subtype: SUBTYPE_DATA_OTA, offset: 0xe000, size: 0x2000, flags: 0 },
  { label: "ota_0", type: TYPE_APP, subtype: SUBTYPE_OTA_0, offset: 0x10000, size: 0x1e0000, flags: 0 },
  { label: "ota_1", type: TYPE_APP, subtype: SUBTYPE_OTA_0 + 1, offset: 0x1f0000, size: 0x1e0000, flags: 0 },
  { label: "xs", type: TYPE_MODS, subtype: SUBTYPE_XS, offset: 0x3d0000, size: 0x10000, flags: 0 },
  { label: "xs_a", type: TYPE_MODS, subtype: SUBTYPE_XS_A, offset: 0x3e0000, size: 0x10000, flags: 0 },
  { label: "xs_b", type: TYPE_MODS, subtype: SUBTYPE_XS_B, offset: 0x3f0000, size: 0x10000, flags: 0 },
];

/** gen_esp32part.py to_binary(): entries + MD5 entry, padded with 0xFF to 0xC00 bytes. */
export function buildPartitionTable(partitions: readonly Partition[]): Uint8Array {
  const out = new Uint8Array(MAX_PARTITION_LENGTH).fill(0xff);
  const view = new DataView(out.buffer);
  if ((partitions.length + 1) * ENTRY_SIZE > MAX_PARTITION_LENGTH) throw new PartitionTableError("too many partitions");
  partitions.forEach((p, i) => {
    const at = i * ENTRY_SIZE;
    const label = new TextEncoder().encode(p.label);
    if (label.length > 16) throw new PartitionTableError(`label "${p.label}" is over 16 bytes`);
    view.setUint16(at, ENTRY_MAGIC, true);
    out[at + 2] = p.type;
    out[at + 3] = p.subtype;
    view.setUint32(at + 4, p.offset, true);
    view.setUint32(at + 8, p.size, true);
    out.fill(0, at + 12, at + 28);
    out.set(label, at + 12);
    view.setUint32(at + 28, p.flags, true);
  });
  const entriesEnd = partitions.length * ENTRY_SIZE;
  const md5At = entriesEnd;
  out[md5At] = 0xeb;
  out[md5At + 1] = 0xeb; // bytes 2..15 stay 0xFF
  out.set(createHash("md5").update(out.subarray(0, entriesEnd)).digest(), md5At + 16);
  return out;
}

/**
 * Reads a table the way esp_partition_table_verify (bootloader_support
 * flash_partitions.c) does: entries until the first non-AA50 magic; an EBEB
 * entry must carry the MD5 of the entries before it.
 */
export function parsePartitionTable(bytes: Uint8Array): Partition[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const partitions: Partition[] = [];
  for (let at = 0; at + ENTRY_SIZE <= Math.min(bytes.length, MAX_PARTITION_LENGTH); at += ENTRY_SIZE) {
    const magic = view.getUint16(at, true);
    if (magic === ENTRY_MAGIC) {
      const labelBytes = bytes.subarray(at + 12, at + 28);
      const end = labelBytes.indexOf(0);
      partitions.push({
        label: new TextDecoder().decode(end < 0 ? labelBytes : labelBytes.subarray(0, end)),
        type: bytes[at + 2],
        subtype: bytes[at + 3],
        offset: view.getUint32(at + 4, true),
        size: view.getUint32(at + 8, true),
        flags: view.getUint32(at + 28, true),
      });
      continue;
    }
    if (magic === MD5_MAGIC) {
      const expected = createHash("md5").update(bytes.subarray(0, at)).digest();
      if (!expected.equals(bytes.subarray(at + 16, at + 32))) throw new PartitionTableError("partition table MD5 mismatch");
      break;
    }
    if (magic === 0xffff) break; // erased: end of table
    throw new PartitionTableError(`bad partition entry magic 0x${magic.toString(16)} at 0x${at.toString(16)}`);
  }
  if (partitions.length === 0) throw new PartitionTableError("partition table is empty");
  return partitions;
}

/** OTA app slots in subtype order (ota_0, ota_1, ...), as bootloader_utility_load_partition_table indexes them. */
export function otaSlots(partitions: readonly Partition[]): Partition[] {
  return partitions
    .filter((p) => p.type === TYPE_APP && p.subtype >= SUBTYPE_OTA_0 && p.subtype < SUBTYPE_OTA_0 + 16)
    .sort((a, b) => a.subtype - b.subtype);
}

/** The first partition of `type` and `subtype` (esp_partition_find_first). */
export function findPartition(partitions: readonly Partition[], type: number, subtype: number): Partition | undefined {
  return partitions.find((p) => p.type === type && p.subtype === subtype);
}

export function findData(partitions: readonly Partition[], subtype: number): Partition | undefined {
  return partitions.find((p) => p.type === TYPE_DATA && p.subtype === subtype);
}

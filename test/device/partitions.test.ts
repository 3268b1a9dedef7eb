// Checks sdkconfig/partitions.csv, the board's partition table, with the rules
// ESP-IDF v6.0's components/partition_table/gen_esp32part.py applies (offsets of
// app partitions 64 KB aligned, of the others 4 KB; app sizes 4 KB aligned;
// otadata 0x2000; nothing below the table's end at 0x9000 or overlapping) plus
// what the mod design needs (docs/architecture.md, "Mods"): one partition of
// type 0x40 subtype 1 ("xs", the one xsHost.c maps), two slots of its size.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const FLASH_SIZE = 4 * 1024 * 1024;
const TABLE_END = 0x8000 + 0x1000; // CONFIG_PARTITION_TABLE_OFFSET + PARTITION_TABLE_SIZE

interface Partition {
  name: string;
  type: number;
  subtype: number;
  offset: number;
  size: number;
}

const TYPES: Record<string, number> = { app: 0x00, data: 0x01 };
const SUBTYPES: Record<string, number> = { ota_0: 0x10, ota_1: 0x11, factory: 0x00, ota: 0x00, phy: 0x01, nvs: 0x02 };

function parse(text: string): Partition[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const [name, type, subtype, offset, size] = line.split(",").map((field) => field.trim());
      const number = (value: string, names: Record<string, number>): number => names[value] ?? Number(value);
      return { name, type: number(type, TYPES), subtype: number(subtype, SUBTYPES), offset: Number(offset), size: Number(size) };
    });
}

const table = parse(readFileSync(join(import.meta.dirname, "..", "..", "sdkconfig", "partitions.csv"), "utf8"));
const byName = new Map(table.map((p) => [p.name, p]));

test("partitions.csv: every field parses, names are unique", () => {
  assert.ok(table.length >= 8);
  for (const p of table) for (const field of ["type", "subtype", "offset", "size"] as const) assert.ok(Number.isInteger(p[field]), `${p.name}.${field}`);
  assert.equal(new Set(table.map((p) => p.name)).size, table.length);
});

test("partitions.csv: aligned as gen_esp32part.py requires, after the table, no overlap, within 4 MB", () => {
  const sorted = [...table].sort((a, b) => a.offset - b.offset);
  let end = TABLE_END;
  for (const p of sorted) {
    const align = p.type === TYPES.app ? 0x10000 : 0x1000;
    assert.equal(p.offset % align, 0, `${p.name} offset 0x${p.offset.toString(16)} not aligned to 0x${align.toString(16)}`);
    if (p.type === TYPES.app) assert.equal(p.size % 0x1000, 0, `${p.name} size`);
    assert.ok(p.offset >= end, `${p.name} at 0x${p.offset.toString(16)} overlaps what ends at 0x${end.toString(16)}`);
    end = p.offset + p.size;
  }
  assert.ok(end <= FLASH_SIZE, `table ends at 0x${end.toString(16)}`);
});

test("partitions.csv: two OTA slots of equal size, one otadata of 0x2000, nvs and phy_init", () => {
  assert.equal(byName.get("ota_0")?.type, TYPES.app);
  assert.equal(byName.get("ota_1")?.type, TYPES.app);
  assert.equal(byName.get("ota_0")?.size, byName.get("ota_1")?.size);
  assert.equal(byName.get("ota_1")?.size, 0x1d0000);
  const otadata = table.filter((p) => p.type === TYPES.data && p.subtype === SUBTYPES.ota);
  assert.equal(otadata.length, 1);
  assert.equal(otadata[0].size, 0x2000);
  assert.ok((byName.get("nvs")?.size ?? 0) >= 0x3000, "NVS needs at least 3 pages");
  assert.ok(byName.has("phy_init"));
  assert.equal(table.filter((p) => p.type === TYPES.app && p.subtype === SUBTYPES.factory).length, 0, "no factory: mcmanifest.js would carve it");
});

test("partitions.csv: xs is the only type 0x40 subtype 1; xs_a and xs_b are 0x40/2 and 0x40/3 of the same size", () => {
  const mapped = table.filter((p) => p.type === 0x40 && p.subtype === 1);
  assert.deepEqual(
    mapped.map((p) => p.name),
    ["xs"],
    "xsHost.c maps esp_partition_find_first(0x40, 1, NULL)",
  );
  const [xs, a, b] = ["xs", "xs_a", "xs_b"].map((name) => byName.get(name)!);
  assert.deepEqual([a.type, a.subtype, b.type, b.subtype], [0x40, 2, 0x40, 3]);
  assert.equal(a.size, xs.size);
  assert.equal(b.size, xs.size);
  assert.equal(xs.size % 0x1000, 0, "whole 4 KB sectors: fxMapArchive's write callback erases by sector");
});

// Emulated flash, partition table, otadata and the bootloader's slot choice,
// asserted on bytes. Expected entry bytes were packed with Python's
// struct.pack("<2sBBLL16sL", ...) exactly as ESP-IDF gen_esp32part.py does;
// the otadata CRCs are cross-checked against zlib's crc32 with init 0xFFFFFFFF
// (what ESP-IDF otatool.py computes with binascii.crc32(seq, 0xFFFFFFFF)).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { buildImage } from "../../tools/esp-image";
import { FlashFile, PowerLoss, SECTOR_SIZE } from "../../twin/flash/flash-file";
import { DEMO_TABLE, MAX_PARTITION_LENGTH, PARTITION_TABLE_OFFSET, buildPartitionTable, parsePartitionTable } from "../../twin/flash/partition-table";
import { OtaState, decodeEntry, encodeEntry, initialEntry, nextBootEntry, otaSelectCrc, selectBootSlot, type OtaSelectEntry } from "../../twin/flash/otadata";
import { DeviceFlash } from "../../twin/flash/device-flash";
import { boot } from "../../twin/flash/bootloader";
import { FlashOtaWriter } from "../../twin/flash/ota-writer";
import { EspOta } from "../../twin/flash/esp-ota";
import { modRegion } from "../../twin/flash/flash-area";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const tmp = () => mkdtempSync(join(tmpdir(), "twin-flash-"));
const v100 = buildImage({ version: "1.0.0", size: 40_000 });
const v110 = buildImage({ version: "1.1.0", size: 50_000 });
const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

function entry(seq: number, state: number = OtaState.UNDEFINED, crc = otaSelectCrc(seq)): OtaSelectEntry {
  return { seq, label: new Uint8Array(20).fill(0xff), state, crc };
}
const ERASED = decodeEntry(new Uint8Array(32).fill(0xff));
/** A bootloader and app built without CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE (Moddable's default). */
const PLAIN = { chipId: 0, chipRevision: 300, rollback: false };
const writerFor = (flash: DeviceFlash, runningSlot: number) => new FlashOtaWriter(flash, new EspOta(flash, runningSlot, PLAIN));

test("partition table: entries packed as gen_esp32part.py, MD5 entry, 0xFF padding", () => {
  const bin = buildPartitionTable(DEMO_TABLE);
  assert.equal(bin.length, MAX_PARTITION_LENGTH);
  assert.equal(hex(bin.subarray(0, 32)), "aa50010200900000005000006e76730000000000000000000000000000000000");
  assert.equal(hex(bin.subarray(96, 128)), "aa50001100001f0000001e006f74615f31000000000000000000000000000000");
  assert.equal(hex(bin.subarray(128, 160)), "aa504001" + "00003d00" + "00000100" + "7873" + "00".repeat(14) + "00000000", "xs: type 0x40 subtype 1 at 0x3D0000, 64K");
  assert.equal(hex(bin.subarray(192, 224)), "aa504003" + "00003f00" + "00000100" + "78735f62" + "00".repeat(12) + "00000000", "xs_b: 0x40/3 at 0x3F0000, ending at 4 MB");
  assert.equal(hex(bin.subarray(224, 240)), "ebeb" + "ff".repeat(14));
  assert.equal(hex(bin.subarray(240, 256)), createHash("md5").update(bin.subarray(0, 224)).digest("hex"));
  assert.ok(bin.subarray(256).every((b) => b === 0xff));
  assert.deepEqual(parsePartitionTable(bin), DEMO_TABLE);
});

test("partition table: a flipped bit fails the MD5 check", () => {
  const bin = buildPartitionTable(DEMO_TABLE);
  bin[40] ^= 0x01; // otadata offset
  assert.throws(() => parsePartitionTable(bin), /MD5 mismatch/);
});

test("otadata: crc32_le(UINT32_MAX, ota_seq) and the 32-byte entry layout", () => {
  assert.equal(otaSelectCrc(1), 0x4743989a);
  assert.equal(otaSelectCrc(2), 0x55f63774);
  for (const seq of [1, 2, 3, 77, 0xfffffffe]) {
    const le = Buffer.alloc(4);
    le.writeUInt32LE(seq);
    assert.equal(otaSelectCrc(seq), crc32(le, 0xffffffff));
  }
  const bytes = encodeEntry(initialEntry(0));
  assert.equal(hex(bytes), "01000000" + "ff".repeat(20) + "02000000" + "9a984347");
  assert.deepEqual(decodeEntry(bytes), initialEntry(0));
});

test("boot selection follows the bootloader", () => {
  assert.deepEqual(selectBootSlot([ERASED, ERASED], 2), { slot: 0, activeSector: -1, initial: true });
  assert.equal(selectBootSlot([entry(1), ERASED], 2).slot, 0);
  assert.equal(selectBootSlot([entry(1), entry(2)], 2).slot, 1);
  assert.equal(selectBootSlot([entry(3), entry(2)], 2).slot, 0);
  assert.equal(selectBootSlot([entry(5), entry(4)], 2).slot, 0);
  // A bad CRC or an aborted image makes the entry unusable; the other one decides.
  assert.equal(selectBootSlot([entry(1), entry(2, OtaState.UNDEFINED, 0x12345678)], 2).slot, 0);
  assert.equal(selectBootSlot([entry(1), entry(2, OtaState.ABORTED)], 2).slot, 0);
  assert.equal(selectBootSlot([entry(1, OtaState.INVALID), entry(2)], 2).slot, 1);
  // Both unusable and no factory app: ota_0; only blank/bad-CRC entries count as "initial".
  assert.deepEqual(selectBootSlot([entry(1, OtaState.ABORTED), entry(2, OtaState.INVALID)], 2), { slot: 0, activeSector: -1, initial: false });
  assert.deepEqual(selectBootSlot([entry(7, 0, 1), ERASED], 2), { slot: 0, activeSector: -1, initial: false });
});

test("esp_ota_set_boot_partition: next seq goes into the other sector", () => {
  assert.deepEqual(nextBootEntry([ERASED, ERASED], 1, 2, false), { sector: 0, entry: { ...entry(2), label: ERASED.label } });
  assert.equal(nextBootEntry([entry(1), ERASED], 1, 2, false).sector, 1);
  assert.equal(nextBootEntry([entry(1), ERASED], 1, 2, false).entry.seq, 2);
  assert.deepEqual([nextBootEntry([entry(1), entry(2)], 0, 2, false).sector, nextBootEntry([entry(1), entry(2)], 0, 2, false).entry.seq], [0, 3]);
  assert.deepEqual([nextBootEntry([entry(3), entry(2)], 1, 2, false).sector, nextBootEntry([entry(3), entry(2)], 1, 2, false).entry.seq], [1, 4]);
});

test("flash file: erase is sector granular, programming only clears bits", () => {
  const chip = new FlashFile(join(tmp(), "chip.bin"), 64 * 1024, true);
  assert.ok(chip.read(0, 64 * 1024).every((b) => b === 0xff));
  chip.write(100, Uint8Array.of(0xf0, 0x0f));
  chip.write(100, Uint8Array.of(0x3c, 0x3c)); // unerased: bits AND together
  assert.deepEqual([...chip.read(100, 2)], [0x30, 0x0c]);
  assert.throws(() => chip.erase(100, SECTOR_SIZE), /not sector aligned/);
  chip.erase(0, SECTOR_SIZE);
  assert.deepEqual([...chip.read(100, 2)], [0xff, 0xff]);
  assert.throws(() => chip.read(64 * 1024 - 1, 2), /outside the chip/);
  chip.close();
});

test("first boot: table at 0x8000, 1.0.0 in ota_0, blank otadata -> boots ota_0 and writes seq 1", () => {
  const path = join(tmp(), "flash.bin");
  const flash = DeviceFlash.open(path, { firstApp: () => v100 });
  assert.deepEqual(parsePartitionTable(flash.chip.read(PARTITION_TABLE_OFFSET, MAX_PARTITION_LENGTH)), DEMO_TABLE);
  assert.deepEqual(flash.readOtadata(), [ERASED, ERASED]);
  const result = boot(flash, PLAIN);
  assert.equal(result.partition.label, "ota_0");
  assert.equal(result.app.descriptor.version, "1.0.0");
  assert.equal(result.app.size, v100.length);
  assert.equal(result.app.md5, createHash("md5").update(v100).digest("hex"));
  assert.equal(hex(flash.chip.read(0xe000, 32)), "01000000" + "ff".repeat(20) + "02000000" + "9a984347");
  flash.close();
  // The file persists: reopening boots the same app without rewriting anything.
  const before = sha(path);
  const again = DeviceFlash.open(path, { firstApp: () => v110 });
  assert.equal(boot(again, PLAIN).app.descriptor.version, "1.0.0");
  again.close();
  assert.equal(sha(path), before);
});

test("OTA write: erase, write, verify, otadata switch; the restart boots the new slot", () => {
  const path = join(tmp(), "flash.bin");
  const flash = DeviceFlash.open(path, { firstApp: () => v100 });
  const first = boot(flash, PLAIN);
  const writer = writerFor(flash, first.slot);
  assert.equal(writer.target.label, "ota_1");
  assert.equal(writer.capacity, 0x1e0000);
  const erasedBefore = flash.chip.counters.sectorsErased;
  writer.begin(v110.length);
  assert.equal(flash.chip.counters.sectorsErased - erasedBefore, Math.ceil(v110.length / SECTOR_SIZE));
  for (let at = 0; at < v110.length; at += 4096) writer.write(v110.subarray(at, at + 4096));
  const otadataBefore = hex(flash.chip.read(0xe000, 0x2000));
  assert.equal(boot(flash, PLAIN).slot, 0, "nothing switches before complete()");
  assert.equal(hex(flash.chip.read(0xe000, 0x2000)), otadataBefore);
  writer.complete();
  assert.equal(hex(flash.chip.read(0xf000, 32)), "02000000" + "ff".repeat(20) + "ffffffff" + "7437f655");
  const second = boot(flash, PLAIN);
  assert.equal(second.partition.label, "ota_1");
  assert.equal(second.app.descriptor.version, "1.1.0");
  // And back again: from ota_1 the next slot is ota_0, seq 3 in sector 0.
  const back = writerFor(flash, second.slot);
  assert.equal(back.target.label, "ota_0");
  back.begin(v100.length);
  back.write(v100);
  back.complete();
  assert.equal(flash.readOtadata()[0].seq, 3);
  assert.equal(boot(flash, PLAIN).partition.label, "ota_0");
  flash.close();
});

test("abort leaves the flash byte-identical; running slot, table and otadata as before begin", () => {
  const path = join(tmp(), "flash.bin");
  const flash = DeviceFlash.open(path, { firstApp: () => v100 });
  boot(flash, PLAIN);
  const keep = () => hex(flash.chip.read(0, 0x10000 + 0x1e0000)); // table, nvs, otadata, ota_0
  const before = keep();
  const writer = writerFor(flash, 0);
  writer.begin(v110.length);
  writer.write(v110.subarray(0, 20_000));
  const fileBeforeAbort = sha(path);
  writer.abort();
  assert.equal(sha(path), fileBeforeAbort);
  assert.equal(keep(), before);
  assert.throws(() => writer.write(v110.subarray(20_000, 21_000)), /while aborted/);
  assert.equal(boot(flash, PLAIN).app.descriptor.version, "1.0.0");
  flash.close();
});

test("complete() refuses a corrupted image, a foreign chip and a short write; otadata untouched", () => {
  const flash = DeviceFlash.open(join(tmp(), "flash.bin"), { firstApp: () => v100 });
  boot(flash, PLAIN);
  const otadata = () => hex(flash.chip.read(0xe000, 0x2000));
  const before = otadata();
  const corrupt = v110.slice();
  corrupt[30_000] ^= 0x40;
  const s3 = buildImage({ chip: "ESP32-S3", version: "2.0.0", size: 30_000 });
  const cases: Array<[Uint8Array, number, RegExp]> = [
    [corrupt, corrupt.length, /checksum mismatch/],
    [s3, s3.length, /mismatch chip ID, expected 0, found 9/],
    [v110.subarray(0, 10_000), v110.length, /after 10000 of/],
  ];
  for (const [bytes, size, reason] of cases) {
    const writer = writerFor(flash, 0);
    writer.begin(size);
    writer.write(bytes);
    assert.throws(() => writer.complete(), reason);
    assert.equal(otadata(), before);
  }
  const writer = writerFor(flash, 0);
  writer.begin(100);
  assert.throws(() => writer.write(Uint8Array.of(0x3c, 0x21)), /invalid magic byte/);
  assert.throws(() => writerFor(flash, 0).begin(0x1e0001), /do not fit/);
  assert.equal(boot(flash, PLAIN).app.descriptor.version, "1.0.0");
  flash.close();
});

test("the bootloader falls back to the other slot when the chosen image does not verify", () => {
  const flash = DeviceFlash.open(join(tmp(), "flash.bin"), { firstApp: () => v100 });
  boot(flash, PLAIN);
  const writer = writerFor(flash, 0);
  writer.begin(v110.length);
  writer.write(v110);
  writer.complete();
  // Damage ota_1 after the switch (bits cleared in its code): boot goes back to ota_0.
  const at = 0x1f0000 + 0x10100;
  assert.notEqual(flash.chip.read(at, 1)[0], 0);
  flash.chip.write(at, Uint8Array.of(0x00));
  const result = boot(flash, PLAIN);
  assert.equal(result.partition.label, "ota_0");
  assert.equal(result.rejected[0].slot, 1);
  assert.match(result.rejected[0].reason, /^Image checksum mismatch: .*\(ESP-IDF: "Checksum failed\. .*"\); the bootloader would refuse this image$/);
  flash.close();
});

test("mod partitions: xs, xs_a, xs_b as FlashAreas over the chip, erased at first; NOR rules and power cuts hold for them", () => {
  const flash = DeviceFlash.open(join(tmp(), "flash.bin"), { firstApp: () => v100 });
  const mods = flash.mods;
  assert.ok(mods, "the demo table has the mod partitions");
  assert.deepEqual([mods.active.label, mods.slots[0].label, mods.slots[1].label], ["xs", "xs_a", "xs_b"]);
  assert.deepEqual([mods.active.size, mods.slots[0].size, mods.slots[1].size, mods.active.blockSize], [0x10000, 0x10000, 0x10000, SECTOR_SIZE]);
  const region = modRegion(mods);
  assert.deepEqual(region, { offset: 0x3d0000, length: 0x30000 });
  assert.equal(region.offset + region.length, flash.chip.size, "the mod partitions end the 4 MB chip");
  assert.ok(flash.slots.every((s) => s.offset + s.size <= region.offset), "the app slots stay where they were");
  const xsa = mods.slots[0];
  const read = (at: number, n: number) => {
    const b = new Uint8Array(n);
    xsa.read(at, b);
    return [...b];
  };
  assert.deepEqual(read(0, 4), [0xff, 0xff, 0xff, 0xff]);
  xsa.write(4096, Uint8Array.of(0xf0, 0x0f));
  assert.deepEqual([...flash.chip.read(0x3e1000, 2)], [0xf0, 0x0f], "addressed from the partition's start");
  xsa.write(4096, Uint8Array.of(0x3c, 0x3c));
  assert.deepEqual(read(4096, 2), [0x30, 0x0c], "a write over unerased bytes only clears bits");
  assert.throws(() => xsa.erase(100, SECTOR_SIZE), /not sector aligned/);
  assert.throws(() => xsa.write(0x10000 - 1, Uint8Array.of(0, 0)), /outside the 65536-byte partition/);
  assert.throws(() => mods.active.read(0x10000, new Uint8Array(1)), /outside/);
  // a power cut armed on the chip stops a mod erase half done
  flash.chip.armPowerCut({ afterOps: 0, region });
  assert.throws(() => xsa.erase(4096, SECTOR_SIZE), PowerLoss);
  assert.deepEqual(read(4096, 2), [0xff, 0xff], "the first half of the sector was blanked");
  assert.deepEqual([...flash.chip.read(0x3e1000 + SECTOR_SIZE / 2, 1)], [0xff]);
  assert.throws(() => mods.active.write(0, Uint8Array.of(0)), PowerLoss, "nothing more reaches the chip");
  flash.close();
});

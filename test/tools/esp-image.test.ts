import { test } from "node:test";
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { assembleImage, buildImage, imageLength, verifyImage, verifyImageLayout } from "../../tools/esp-image";
import { CHIP_IDS, chipName, parseAppDescriptor, parseImageHeader } from "../../modules/core/image";
import { chipRules, loadAddressProblem, shouldLoad, shouldMap } from "../../modules/core/esp-image-rules";

/** The twin's ota_0 partition: where a board's bootloader finds an app. */
const OTA_0 = { partitionOffset: 0x10000, partitionSize: 0x1e0000 };

test("a built ESP32 image passes the bootloader's checks and describes itself", () => {
  const image = buildImage({ version: "1.1.0", projectName: "demo", size: 100_000 });
  assert.equal(verifyImage(image, { chipId: 0, chipRevision: 300, bootloader: true, ...OTA_0 }), undefined);
  const h = parseImageHeader(image);
  assert.equal(chipName(h.chipId), "ESP32");
  assert.equal(h.flashSize, 4 * 1024 * 1024);
  assert.equal(h.segmentCount, 5);
  assert.equal(h.hashAppended, true);
  assert.equal(parseAppDescriptor(image)?.version, "1.1.0");
  assert.equal(parseAppDescriptor(image)?.projectName, "demo");
  assert.ok(Math.abs(image.length - 100_000) < 64, `size ${image.length}`);
  assert.equal((image.length - 32) % 16, 0, "checksum ends a 16-byte block, SHA-256 follows");
});

test("the layout is esptool's: DROM at 0x20, DRAM and IRAM loaded, a zero padding segment, IROM data 64 KB-aligned like 0x400d0020", () => {
  const image = buildImage({ version: "1.0.0", size: 100_000 });
  const layout = verifyImageLayout(image);
  if (typeof layout === "string") throw new Error(layout);
  const esp32 = chipRules(0)!;
  assert.deepEqual(
    layout.segments.map((s) => [s.loadAddress, s.offset]),
    [[0x3f400020, 0x20], [0x3ffb0000, 0x128], [0x40080000, 0x230], [0, 0x338], [0x400d0020, 0x10020]],
  );
  assert.deepEqual(
    layout.segments.map((s) => (shouldMap(esp32, s.loadAddress) ? "map" : shouldLoad(esp32, s.loadAddress) ? "load" : "pad")),
    ["map", "load", "load", "pad", "map"],
  );
  const pad = layout.segments[3];
  assert.ok(image.subarray(pad.offset, pad.offset + pad.length).every((b) => b === 0), "esptool pads with zeros");
  assert.equal(new DataView(image.buffer).getUint32(4, true), 0x40080000, "entry in IRAM");
  assert.equal(image[32 + 0xb4], 16, "esp_app_desc_t.mmu_page_size: 64 KB");
});

test("every chip's image passes its own chip's bootloader and esp_ota_end, with the revisions a default build writes", () => {
  for (const [name, id] of Object.entries(CHIP_IDS)) {
    const rules = chipRules(id)!;
    const image = buildImage({ chip: name, version: "1.0.0", size: 200_000 });
    const revision = id === 0 ? 300 : rules.build.minRev; // an ESP32 v3.0; other chips at the oldest revision their build supports
    for (const bootloader of [true, false]) {
      assert.equal(verifyImage(image, { chipId: id, chipRevision: revision, efuseBlockRevision: 0, bootloader, ...OTA_0 }), undefined, `${name}, ${bootloader ? "bootloader" : "esp_ota_end"}`);
    }
    const view = new DataView(image.buffer, image.byteOffset);
    assert.deepEqual([image[14], view.getUint16(15, true), view.getUint16(17, true)], [rules.build.legacyMinRev, rules.build.minRev, rules.build.maxRev], `${name} header revisions`);
    assert.deepEqual([view.getUint16(32 + 0xb0, true), view.getUint16(32 + 0xb2, true)], [rules.build.minEfuseBlk, rules.build.maxEfuseBlk], `${name} eFuse block revisions`);
    const layout = verifyImageLayout(image);
    if (typeof layout === "string") throw new Error(layout);
    for (const s of layout.segments) {
      if (shouldMap(rules, s.loadAddress)) assert.equal((0x10000 + s.offset) % 0x10000, s.loadAddress % 0x10000, `${name} segment ${s.index} aligned`);
      else if (shouldLoad(rules, s.loadAddress)) assert.equal(loadAddressProblem(rules, s.index, s.loadAddress, s.loadAddress + s.length), undefined);
    }
    assert.equal(layout.segments.filter((s) => shouldLoad(rules, s.loadAddress)).length, 2, `${name}: one IRAM and one DRAM segment loaded`);
    assert.match(verifyImage(image, { chipId: id === 0 ? 9 : 0, bootloader: true }) ?? "", /mismatch chip ID/, `${name} refused by another chip`);
  }
});

test("chip and flash size are written where the header says", () => {
  const s3 = buildImage({ chip: "ESP32-S3", version: "1.0.0", flashSize: 8 * 1024 * 1024 });
  assert.equal(chipName(parseImageHeader(s3).chipId), "ESP32-S3");
  assert.equal(parseImageHeader(s3).flashSize, 8 * 1024 * 1024);
  assert.equal(verifyImage(buildImage({ chip: "ESP32-C3", version: "1.0.0" })), undefined);
  assert.throws(() => buildImage({ chip: "ESP8266", version: "1.0.0" }), /unknown chip ESP8266/);
});

test("builds are deterministic and versions differ in content", () => {
  const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
  assert.equal(md5(buildImage({ version: "1.0.0" })), md5(buildImage({ version: "1.0.0" })));
  assert.notEqual(md5(buildImage({ version: "1.0.0" })), md5(buildImage({ version: "1.1.0" })));
  assert.equal(md5(buildImage({ version: "1.0.0", behaviour: "crash" })), md5(buildImage({ version: "1.0.0", behaviour: "crash" })));
});

test("one flipped byte anywhere is caught by the checksum or the appended SHA-256", () => {
  const image = buildImage({ version: "2.0.0", size: 4096 });
  for (const at of [40, 300, 2000, 0x10030, image.length - 40, image.length - 1]) {
    const bad = image.slice();
    bad[at] ^= 0x01;
    assert.match(verifyImage(bad) ?? "", /checksum mismatch|SHA-256 mismatch/, `byte ${at}`);
  }
  const flipped = image.slice();
  flipped[2000] ^= 0x01;
  assert.match(verifyImage(flipped, { bootloader: true }) ?? "", /^Image checksum mismatch: calculated 0x[0-9a-f]+, the image has 0x[0-9a-f]+ \(ESP-IDF: "Checksum failed\. Calculated 0x[0-9a-f]+ read 0x[0-9a-f]+"\); the bootloader would refuse this image$/);
  assert.equal(verifyImage(image.subarray(0, image.length - 10)), `Image is truncated: its appended SHA-256 needs ${image.length} bytes, but the image has ${image.length - 10}`);
});

test("imageLength finds an image's end inside an erased (0xFF) partition", () => {
  const image = buildImage({ version: "1.0.0", size: 10_000 });
  const partition = new Uint8Array(128 * 1024).fill(0xff);
  partition.set(image);
  assert.equal(imageLength(partition), image.length);
  assert.match(String(imageLength(partition.subarray(0, image.length - 1))), /^Image is truncated/);
  assert.match(String(imageLength(new Uint8Array(4096).fill(0xff))), /Not an ESP32 app image/);
});

test("assembleImage writes any layout with a valid checksum and hash, so the rules alone decide", () => {
  const bad = assembleImage({ chipId: 0, entry: 0x40080000 }, [[0x3f400020, new Uint8Array(256)], [0x400d0020, new Uint8Array(1024).fill(7)]]);
  assert.equal(verifyImage(bad), 'Segment 1 load address 0x400d0020 does not match its data offset 0x00000128 modulo the 64 KB MMU page (ESP-IDF: "doesn\'t match data"); esp_ota_end would refuse this image');
  const fine = assembleImage({ chipId: 0, entry: 0x40080000 }, [[0x3f400020, new Uint8Array(256)], [0x3ffb0000, new Uint8Array(64).fill(3)]]);
  assert.equal(verifyImage(fine, { chipRevision: 300, bootloader: true }), undefined);
});

test("verifyImage without a chip refuses an image whose chip id ESP-IDF does not have (0x0099): no board boots it", () => {
  const segments = [[0x3f400020, new Uint8Array(256)], [0x3ffb0000, new Uint8Array(64).fill(3)]] as const;
  const unknown = assembleImage({ chipId: 0x0099, entry: 0x40080000 }, segments);
  assert.equal(verifyImage(unknown), "Image is for unknown chip 0x0099, a chip id no ESP-IDF target has; esp_ota_end would refuse this image");
  assert.match(String(imageLength(unknown)), /^Image is for unknown chip 0x0099/);
  assert.equal(verifyImage(assembleImage({ chipId: 0, entry: 0x40080000 }, segments)), undefined, "the same layout for ESP32 is valid");
});

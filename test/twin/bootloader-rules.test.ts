// The twin's bootloader (ESP_IMAGE_LOAD) and esp_ota_end (ESP_IMAGE_VERIFY)
// refuse what ESP-IDF v6.0 refuses (modules/core/esp-image-rules.ts), on the
// emulated flash: images assembled with a valid checksum and SHA-256, so that
// only the layout rules can refuse them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assembleImage, buildImage } from "../../tools/esp-image";
import { CHIP_IDS } from "../../modules/core/image";
import { DeviceFlash } from "../../twin/flash/device-flash";
import { NoBootableApp, boot } from "../../twin/flash/bootloader";
import { FlashOtaWriter } from "../../twin/flash/ota-writer";
import { EspOta } from "../../twin/flash/esp-ota";
import { defaultChipRevision } from "../../twin/device";

const ESP32 = { chipId: 0, chipRevision: 300, rollback: false };
const flashWith = (first: Uint8Array) => DeviceFlash.open(join(mkdtempSync(join(tmpdir(), "twin-rules-")), "flash.bin"), { firstApp: () => first });
const descriptor = () => buildImage({ version: "9.9.9" }).subarray(32, 288); // a real esp_app_desc_t
const esp32Image = (...segments: Array<[number, Uint8Array]>) => assembleImage({ chipId: 0, entry: 0x40080000, maxRev: 399 }, [[0x3f400020, descriptor()], ...segments]);

/** The bootloader's reason for not booting ota_0 (the only app on a fresh flash). */
function bootRefusal(image: Uint8Array, options = ESP32): string {
  const flash = flashWith(image);
  try {
    boot(flash, options);
  } catch (error) {
    assert.ok(error instanceof NoBootableApp, String(error));
    return error.message;
  } finally {
    flash.close();
  }
  throw new Error("the bootloader booted it");
}

test("the layout every demo image had (IROM data at 0x128 for 0x400d0020) does not boot, with ESP-IDF's reason", () => {
  const old = esp32Image([0x400d0020, new Uint8Array(4096).fill(1)]);
  assert.match(
    bootRefusal(old),
    /ota_0: Segment 1 load address 0x400d0020 does not match its data offset 0x00000128 modulo the 64 KB MMU page \(ESP-IDF: "doesn't match data"\); the bootloader would refuse this image/,
  );
  // The same code behind esptool's padding segment boots.
  const padded = esp32Image([0, new Uint8Array(0x10020 - 304)], [0x400d0020, new Uint8Array(4096).fill(1)]);
  const flash = flashWith(padded);
  assert.equal(boot(flash, ESP32).app.descriptor.version, "9.9.9");
  flash.close();
});

test("a segment length that is not a multiple of 4, and 17 segments, do not boot", () => {
  assert.match(bootRefusal(esp32Image([0x3ffb0000, new Uint8Array(62)])), /Segment 1 length 0x0000003e is not a multiple of 4 \(ESP-IDF: "invalid segment length 0x3e"\)/);
  const seventeen = Array.from({ length: 16 }, (_, i): [number, Uint8Array] => [0x3ffb0000 + i * 64, new Uint8Array(64)]);
  assert.match(bootRefusal(esp32Image(...seventeen)), /Image has 17 segments, more than the 16 ESP-IDF allows \(ESP-IDF: "segment count 17 exceeds max 16"\)/);
  const flash = flashWith(esp32Image(...seventeen.slice(1)));
  assert.equal(boot(flash, ESP32).app.header.segmentCount, 16, "16 segments boot");
  flash.close();
});

test("loaded segments over the bootloader's RAM or outside RAM: esp_ota_end accepts them, the bootloader refuses and falls back", () => {
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ["bootloader data", esp32Image([0x3fff0000, new Uint8Array(256)]), /Segment 1 loads to 0x3fff0000-0x3fff0100, over the bootloader's own data \(ESP-IDF: "Segment 1 0x3fff0000-0x3fff0100 invalid: overlaps bootloader data"\)/],
    ["bootloader stack", esp32Image([0x3ffe0000 - 0x2000, new Uint8Array(0x1000)]), /over the bootloader's stack \(ESP-IDF: ".*invalid: overlaps bootloader stack"\)/],
    ["no RAM", esp32Image([0x60000000, new Uint8Array(64)]), /outside the ESP32 RAM the bootloader loads into \(ESP-IDF: "Segment 1 0x60000000-0x60000040 invalid: bad load address range"\)/],
  ];
  for (const [label, image, reason] of cases) {
    const flash = flashWith(buildImage({ version: "1.0.0" }));
    assert.equal(boot(flash, ESP32).slot, 0);
    const writer = new FlashOtaWriter(flash, new EspOta(flash, 0, ESP32));
    writer.begin(image.length);
    writer.write(image);
    writer.complete(); // esp_ota_end and esp_ota_set_boot_partition: verify_load_addresses is not in the app
    assert.equal(writer.state, "completed", label);
    const result = boot(flash, ESP32);
    assert.equal(result.partition.label, "ota_0", `${label}: back on the running image`);
    assert.equal(result.rejected[0].slot, 1);
    assert.match(result.rejected[0].reason, reason, label);
    assert.match(result.rejected[0].reason, /; the bootloader would refuse this image$/);
    flash.close();
  }
});

test("an image whose max_chip_rev_full is below the chip's revision is refused by esp_ota_end and the bootloader", () => {
  const image = assembleImage({ chipId: 0, entry: 0x40080000, maxRev: 99 }, [[0x3f400020, descriptor()]]);
  const flash = flashWith(buildImage({ version: "1.0.0" }));
  boot(flash, ESP32);
  const writer = new FlashOtaWriter(flash, new EspOta(flash, 0, ESP32));
  writer.begin(image.length);
  writer.write(image);
  assert.throws(() => writer.complete(), /esp_ota_end: image does not verify: Image supports chip revisions up to v0\.99, this chip is v3\.0 \(ESP-IDF: "chip revision check failed\. Required <= v0\.99, found v3\.0\."\)/);
  assert.equal(boot(flash, ESP32).slot, 0);
  flash.close();
  assert.match(bootRefusal(image), /Required <= v0\.99, found v3\.0/);
  const older = flashWith(image);
  assert.equal(boot(older, { ...ESP32, chipRevision: 99 }).app.descriptor.version, "9.9.9", "a v0.99 chip boots it");
  older.close();
  const min = assembleImage({ chipId: 0, entry: 0x40080000, minRev: 301 }, [[0x3f400020, descriptor()]]);
  assert.match(bootRefusal(min), /Image needs chip revision v3\.1 or later, this chip is v3\.0 \(ESP-IDF: "chip revision check failed\. Required >= v3\.1, found v3\.0\."\)/);
});

test("every chip's demo-style image boots on the twin emulating that chip, and on no other", () => {
  for (const [name, chipId] of Object.entries(CHIP_IDS)) {
    const image = buildImage({ chip: name, version: "1.2.3", size: 300_000, behaviour: "no-wifi" });
    const flash = flashWith(image);
    const result = boot(flash, { chipId, chipRevision: defaultChipRevision(chipId), rollback: true });
    assert.deepEqual([result.partition.label, result.app.descriptor.version, result.app.behaviour, result.app.size], ["ota_0", "1.2.3", "no-wifi", image.length], name);
    flash.close();
    const other = chipId === 0 ? CHIP_IDS["ESP32-S3"] : 0;
    assert.match(bootRefusal(image, { chipId: other, chipRevision: 0, rollback: false }), /mismatch chip ID/, name);
  }
});

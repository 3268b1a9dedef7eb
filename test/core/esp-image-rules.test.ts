// The bootloader's and esp_ota_end's rules (modules/core/esp-image-rules.ts),
// with expected values worked out by hand from ESP-IDF v6.0's
// esp_image_format.c, bootloader_common_loader.c and the chips' soc.h and
// bootloader.ld.in (see the module's header), on images from test/fakes/image.ts.
import { test, assert } from "../harness/t";
import {
  CHIP_IDS,
  ESP_IMAGE_MAX_SEGMENTS,
  ImageCheck,
  checkImage,
  chipName,
  chipRules,
  chipValidityProblem,
  efuseBlockProblem,
  loadAddressProblem,
  segmentLengthProblem,
  shouldLoad,
  shouldMap,
  unknownChipProblem,
  type ChipRules,
  type ImageCheckOptions,
} from "../../modules/core/esp-image-rules";
import { buildImage } from "../fakes/image";

const ESP32 = chipRules(0)!;
const rulesOf = (name: string): ChipRules => chipRules(CHIP_IDS[name])!;
const BOOT: ImageCheckOptions = { chipId: 0, chipRevision: 300, bootloader: true };
const DIGITS = /^Segment \d+ 0x[0-9a-f]{8}-0x[0-9a-f]{8} invalid: /;

/** Feeds `image` to a fresh checker in the given chunk sizes (cycled); returns it. */
function stream(image: Uint8Array, options: ImageCheckOptions, sizes: number[], head = image.subarray(0, 288)): ImageCheck {
  const check = new ImageCheck({ available: image.length, ...options });
  if (check.start(head) !== undefined) return check;
  for (let at = 0, i = 0; at < image.length && check.error === undefined; i++) {
    const n = sizes[i % sizes.length];
    check.push(image.subarray(at, at + n));
    at += n;
  }
  return check;
}

test("chip table: every esp_chip_id_t of ESP-IDF v6.0 (and S31 from master) with its name and rules", () => {
  const ids: Array<[number, string]> = [
    [0, "ESP32"], [2, "ESP32-S2"], [5, "ESP32-C3"], [9, "ESP32-S3"], [12, "ESP32-C2"], [13, "ESP32-C6"], [16, "ESP32-H2"],
    [18, "ESP32-P4"], [20, "ESP32-C61"], [23, "ESP32-C5"], [25, "ESP32-H21"], [28, "ESP32-H4"], [32, "ESP32-S31"],
  ];
  assert.deepEqual(Object.entries(CHIP_IDS).map(([name, id]) => [id, name]), ids);
  for (const [id, name] of ids) {
    const rules = chipRules(id);
    assert.equal(rules?.name, name);
    assert.equal(rules?.master, id === 32, `${name}: only S31 comes from master`);
    assert.ok(rules!.bootloaderData[0] < rules!.bootloaderData[1] && rules!.loaderText[0] < rules!.loaderText[1]);
  }
  assert.equal(chipRules(0xffff), undefined);
  assert.equal(chipName(0x1234), "unknown chip 0x1234");
});

test("should_map and should_load: IROM/DROM/PSRAM are mapped, RAM is loaded, below 0x10000000 is neither", () => {
  for (const a of [0x400d0020, 0x3f400020, 0x403fffff]) assert.equal(shouldMap(ESP32, a), true, a.toString(16));
  for (const a of [0x40080000, 0x3ffb0000, 0x50000000]) assert.deepEqual([shouldMap(ESP32, a), shouldLoad(ESP32, a)], [false, true], a.toString(16));
  for (const a of [0, 4, 0x0fffffff]) assert.equal(shouldLoad(ESP32, a), false, "padding and reserved addresses");
  const c6 = rulesOf("ESP32-C6");
  assert.deepEqual([shouldMap(c6, 0x42ffffff), shouldMap(c6, 0x43000000)], [true, false], "C6: SOC_IROM_HIGH with 64 KB pages");
  assert.deepEqual([shouldMap(rulesOf("ESP32-C2"), 0x42400000), shouldMap(rulesOf("ESP32-C3"), 0x427fffff)], [false, true]);
  assert.deepEqual([shouldMap(rulesOf("ESP32-P4"), 0x48000000), shouldMap(rulesOf("ESP32-S3"), 0x48000000)], [true, false], "PSRAM mapped only with SOC_MMU_PER_EXT_MEM_TARGET");
});

test("verify_load_addresses on ESP32: DRAM, IRAM and RTC pass; stack, bootloader data, the inverted DIRAM alias and straddles are refused", () => {
  const problem = (start: number, length: number) => loadAddressProblem(ESP32, 3, start, start + length);
  assert.equal(problem(0x3ffb0000, 0x100), undefined);
  assert.equal(problem(0x40080000, 0x400), undefined);
  assert.equal(problem(0x400c0000, 0x100), undefined, "RTC fast IRAM");
  assert.equal(problem(0x3ff80000, 0x100), undefined, "RTC fast DRAM");
  assert.equal(problem(0x50000000, 0x2000), undefined, "RTC slow");
  assert.equal(problem(0x40080000, 0), undefined, "zero length");
  // sp = ROM_STACK_START - 2 KB: [0x3ffe3f20 - 0x800 - 0x8000, 0x3ffe3f20) is the stack
  assert.equal(problem(0x3ffdb680, 0x100), "Segment 3 0x3ffdb680-0x3ffdb780 invalid: overlaps bootloader stack");
  assert.equal(problem(0x3ffdb500, 0x100), undefined, "just below the stack region");
  assert.equal(problem(0x3fff0000, 0x100), "Segment 3 0x3fff0000-0x3fff0100 invalid: overlaps bootloader data");
  // DRAM inside DIRAM: re-checked at its inverted IRAM alias, which lies above SOC_IRAM_HIGH
  assert.equal(problem(0x3ffe4000, 0x100), "Segment 3 0x400bbefc-0x400bbffc invalid: bad load address range");
  assert.equal(problem(0x40078000, 0x100), "Segment 3 0x40078000-0x40078100 invalid: bad load address range", "loader IRAM sits below SOC_IRAM_LOW");
  assert.equal(problem(0x3ffffff0, 0x20), "Segment 3 0x3ffffff0-0x40000010 invalid: bad load address range", "starts in DRAM, ends outside");
  assert.equal(problem(0x60000000, 4), "Segment 3 0x60000000-0x60000004 invalid: bad load address range");
});

test("verify_load_addresses through the DIRAM alias (C3), on unified RAM (C6) and per chip RTC/TCM support", () => {
  const c3 = rulesOf("ESP32-C3");
  assert.equal(loadAddressProblem(c3, 1, 0x3fc90000, 0x3fc90100), undefined);
  // DRAM whose IRAM alias (+0x700000) lands on the loader's code [0x403ce710, 0x403d5710)
  assert.equal(loadAddressProblem(c3, 1, 0x3fcce800, 0x3fcce900), "Segment 1 0x403ce800-0x403ce900 invalid: overlaps loader IRAM");
  // IRAM whose DRAM alias lands on the bootloader's data [0x3fcd5710, 0x3fcda710)
  assert.equal(loadAddressProblem(c3, 2, 0x403d5800, 0x403d5900), "Segment 2 0x3fcd5800-0x3fcd5900 invalid: overlaps bootloader data");
  assert.equal(loadAddressProblem(c3, 2, 0x403ce700, 0x403ce800), "Segment 2 0x403ce700-0x403ce800 invalid: overlaps loader IRAM");
  assert.equal(loadAddressProblem(c3, 2, 0x50000000, 0x50000100), undefined, "C3 has RTC fast memory");
  const c6 = rulesOf("ESP32-C6");
  assert.equal(loadAddressProblem(c6, 1, 0x40870000, 0x40870100), undefined, "unified RAM: the loader-IRAM check cannot fire");
  assert.equal(loadAddressProblem(c6, 1, 0x40875600, 0x40875700), "Segment 1 0x40875600-0x40875700 invalid: overlaps bootloader data");
  for (const name of ["ESP32-C2", "ESP32-C61", "ESP32-H4"]) {
    assert.match(loadAddressProblem(rulesOf(name), 1, 0x50000000, 0x50000100) ?? "", /bad load address range$/, `${name} has no RTC memory`);
  }
  assert.equal(loadAddressProblem(rulesOf("ESP32-P4"), 1, 0x30100000, 0x30100100), undefined, "P4 TCM");
  assert.match(loadAddressProblem(rulesOf("ESP32-S3"), 1, 0x30100000, 0x30100100) ?? "", /bad load address range$/);
  assert.match(loadAddressProblem(rulesOf("ESP32-P4"), 1, 0x4ffbc000, 0x4ffbc100) ?? "", /overlaps bootloader stack$/, "P4 v3 uses SOC_ROM_STACK_START_REV2");
  for (const [name, id] of Object.entries(CHIP_IDS)) {
    const chip = chipRules(id)!;
    assert.match(loadAddressProblem(chip, 1, chip.bootloaderData[0], chip.bootloaderData[0] + 16) ?? "", DIGITS, `${name}: its bootloader's data is protected`);
  }
});

test("chip validity: id, then min_chip_rev_full always and max_chip_rev_full when set", () => {
  const header = (chip: number, min: number, max: number) => buildImage({ size: 24, chipId: chip, minRev: min, maxRev: max });
  assert.equal(chipValidityProblem(header(0, 0, 399), 0, 300), undefined);
  assert.equal(chipValidityProblem(header(9, 0, 0), 0, 300), 'Image is for ESP32-S3, this chip is ESP32 (ESP-IDF: "mismatch chip ID, expected 0, found 9")');
  assert.equal(chipValidityProblem(header(0, 301, 399), 0, 300), 'Image needs chip revision v3.1 or later, this chip is v3.0 (ESP-IDF: "chip revision check failed. Required >= v3.1, found v3.0.")');
  assert.equal(chipValidityProblem(header(0, 0, 99), 0, 300), 'Image supports chip revisions up to v0.99, this chip is v3.0 (ESP-IDF: "chip revision check failed. Required <= v0.99, found v3.0.")');
  assert.equal(chipValidityProblem(header(0, 0, 0xffff), 0, 300), undefined, "max 0xFFFF is unset");
  assert.equal(chipValidityProblem(header(0, 0, 0), 0, 300), undefined, "max 0 is unset");
  assert.match(chipValidityProblem(header(0, 0xffff, 0), 0, 300) ?? "", /Required >= v655.35/, "min has no IS_FIELD_SET: 0xFFFF never passes");
  assert.equal(chipValidityProblem(header(0, 301, 99), 0, undefined), undefined, "revision unknown: only the id is checked");
  assert.equal(efuseBlockProblem(0, 99, 0), undefined);
  assert.match(efuseBlockProblem(1, 99, 0) ?? "", /"Image requires efuse blk rev >= v0.1, but chip is v0.0"/);
  assert.match(efuseBlockProblem(0, 99, 100) ?? "", /"Image requires efuse blk rev <= v0.99, but chip is v1.0"/);
});

test("a chip id ESP-IDF does not have is refused even when no board chip is given (the image's own id stands in)", () => {
  const unknown = 'Image is for unknown chip 0x0099, a chip id no ESP-IDF target has';
  assert.equal(unknownChipProblem(0x0099), unknown);
  for (const name in CHIP_IDS) assert.equal(unknownChipProblem(CHIP_IDS[name]), undefined, name);
  assert.equal(chipValidityProblem(buildImage({ size: 24, chipId: 0x0099 }), 0x0099, undefined), unknown);
  const image = buildImage({ size: 8192, seed: 3, version: "1.0.0", chipId: 0x0099 });
  for (const bootloader of [false, true]) {
    assert.equal(checkImage(image, { chipId: 0x0099, bootloader }), `${unknown}; ${bootloader ? "the bootloader" : "esp_ota_end"} would refuse this image`);
  }
  // a board's own chip is compared first, with ESP-IDF's mismatch wording
  assert.match(chipValidityProblem(buildImage({ size: 24, chipId: 0x0099 }), 0, 300) ?? "", /^Image is for unknown chip 0x0099, this chip is ESP32 \(ESP-IDF: "mismatch chip ID, expected 0, found 153"\)$/);
  assert.equal(typeof checkImage(buildImage({ size: 8192, seed: 3, version: "1.0.0" }), { chipId: 0 }), "object", "the same image for ESP32 passes");
});

test("streaming checker: a valid image passes in any chunking, segment headers split across chunks", () => {
  const image = buildImage({ size: 8192, seed: 3, version: "1.0.0" });
  for (const sizes of [[image.length], [4096], [1], [7], [8], [3, 5], [25, 9, 31], [4095, 1]]) {
    const check = stream(image, BOOT, sizes);
    assert.equal(check.error, undefined, `chunks ${sizes.join(",")}`);
    assert.equal(check.complete, true);
    assert.equal(check.end, 8192);
    assert.equal(check.finish(image.length), undefined);
  }
  // Split exactly at each byte of every segment header.
  const layout = checkImage(image, BOOT);
  if (typeof layout === "string") throw new Error(layout);
  assert.equal(layout.segments.length, 3);
  for (const s of layout.segments) {
    for (let k = 1; k < 8; k++) {
      const cut = s.offset - 8 + k;
      const check = stream(image, BOOT, [cut, image.length]);
      assert.equal(check.error, undefined, `cut at ${cut}`);
      assert.equal(check.complete, true, `cut at ${cut}`);
    }
  }
});

test("streaming checker: the layout every demo image had (IROM data at 0x128 for 0x400d0020) is refused with ESP-IDF's reason", () => {
  const old = buildImage({ size: 4096, segments: [[0x3f400020, 256], [0x400d0020, 3000]] });
  for (const sizes of [[4096], [300], [1]]) {
    assert.equal(
      stream(old, BOOT, sizes).error,
      'Segment 1 load address 0x400d0020 does not match its data offset 0x00000128 modulo the 64 KB MMU page (ESP-IDF: "doesn\'t match data"); the bootloader would refuse this image',
    );
  }
  assert.match(stream(old, { chipId: 0 }, [4096]).error ?? "", /doesn't match data"\); esp_ota_end would refuse this image$/, "esp_ota_end refuses it too");
  // Padded as esptool does (a load-address-0 segment), it passes.
  const pad = 0x10020 - (24 + 8 + 256 + 8 + 8);
  const padded = buildImage({ size: 0x10020 + 4096, segments: [[0x3f400020, 256], [0, pad], [0x400d0020, 3000]] });
  assert.equal(stream(padded, BOOT, [4096]).error, undefined);
});

test("streaming checker: segment length, segment count and chip revision", () => {
  const odd = buildImage({ size: 4096, segments: [[0x3f400020, 256], [0x3ffb0000, 62]] });
  assert.equal(stream(odd, BOOT, [512]).error, 'Segment 1 length 0x0000003e is not a multiple of 4 (ESP-IDF: "invalid segment length 0x3e"); the bootloader would refuse this image');
  const seventeen = buildImage({ size: 4096, segments: Array.from({ length: ESP_IMAGE_MAX_SEGMENTS + 1 }, (_, i) => [0x3ffb0000 + i * 64, 64] as const) });
  const check = new ImageCheck({ ...BOOT, available: 4096 });
  assert.equal(check.start(seventeen.subarray(0, 288)), 'Image has 17 segments, more than the 16 ESP-IDF allows (ESP-IDF: "segment count 17 exceeds max 16"); the bootloader would refuse this image');
  assert.equal(segmentLengthProblem(ESP32, 2, 0x1000000), 'Segment 2 length 0x01000000 is 16 MB or more (ESP-IDF: "invalid segment length 0x1000000")');
  assert.equal(segmentLengthProblem(ESP32, 2, 0xfffffc), undefined);
  assert.equal(segmentLengthProblem(rulesOf("ESP32-S3"), 2, 0x1000000), undefined, "S3 maps 32-bit flash addresses (ESP_IMAGE_MAX_FLASH_ADDR_SIZE = UINT32_MAX)");
  const sixteen = buildImage({ size: 4096, segments: Array.from({ length: ESP_IMAGE_MAX_SEGMENTS }, (_, i) => [0x3ffb0000 + i * 64, 64] as const) });
  assert.equal(stream(sixteen, BOOT, [100]).error, undefined);
  const tooNew = buildImage({ size: 4096, maxRev: 99 });
  assert.match(stream(tooNew, BOOT, [4096]).error ?? "", /Required <= v0.99, found v3.0/);
  assert.equal(stream(tooNew, { chipId: 0, bootloader: true }, [4096]).error, undefined, "no revision known, no revision check");
});

test("streaming checker: loaded segments at bad addresses are refused by the bootloader only (verify_load_addresses is not in the app)", () => {
  const overStack = buildImage({ size: 4096, segments: [[0x3f400020, 256], [0x3ffdc000, 256]] });
  assert.equal(
    stream(overStack, BOOT, [4096]).error,
    'Segment 1 loads to 0x3ffdc000-0x3ffdc100, over the bootloader\'s stack (ESP-IDF: "Segment 1 0x3ffdc000-0x3ffdc100 invalid: overlaps bootloader stack"); the bootloader would refuse this image',
  );
  assert.equal(stream(overStack, { ...BOOT, bootloader: false }, [4096]).error, undefined);
  const nowhere = buildImage({ size: 4096, segments: [[0x3f400020, 256], [0x60000000, 256]] });
  assert.match(stream(nowhere, BOOT, [4096]).error ?? "", /outside the ESP32 RAM the bootloader loads into \(ESP-IDF: "Segment 1 0x60000000-0x60000100 invalid: bad load address range"\)/);
});

test("streaming checker: configurable-MMU chips read the page size from the app descriptor and need its magic", () => {
  const c6: ImageCheckOptions = { chipId: CHIP_IDS["ESP32-C6"], bootloader: true };
  // code mapped at 0x42010020 from data offset 0x8020: that matches with 32 KB pages, not with 64 KB
  const segments = [[0x42000020, 256], [0x40800000, 64], [0, 0x8020 - (24 + 8 + 256 + 8 + 64 + 8 + 8)], [0x42010020, 1024]] as const;
  const image = buildImage({ size: 0x8020 + 2048, chipId: CHIP_IDS["ESP32-C6"], version: "1.0.0", segments });
  image[32 + 0xb4] = 16;
  assert.match(stream(image, c6, [1000]).error ?? "", /^Segment 3 load address 0x42010020 does not match its data offset 0x00008020 modulo the 64 KB MMU page/);
  image[32 + 0xb4] = 15;
  assert.equal(stream(image, c6, [1000]).error, undefined, "32 KB pages (mmu_page_size 15)");
  image[32 + 0xb4] = 0;
  assert.match(stream(image, c6, [1000]).error ?? "", /modulo the 64 KB MMU page/, "0: a legacy image, the configured 64 KB");
  image[32] ^= 0xff;
  assert.equal(stream(image, c6, [1000]).error, 'Segment 0 does not start with an app descriptor (esp_app_desc_t), which ESP32-C6 images need for their MMU page size (ESP-IDF: "Failed to fetch app description header!"); the bootloader would refuse this image');
  assert.equal(stream(image, { chipId: 0, bootloader: true }, [1000]).error?.startsWith("Image is for ESP32-C6"), true);
});

test("streaming checker: the image must end within the bytes and the partition; data after its end is allowed", () => {
  const image = buildImage({ size: 8192, seed: 5 });
  // A 4 KB block after the image (a secure boot v2 signature block starts on the next 4 KB boundary).
  const signed = new Uint8Array(8192 + 4096);
  signed.set(image);
  signed.fill(0xa5, 8192);
  const check = stream(signed, BOOT, [4096]);
  assert.equal(check.error, undefined);
  assert.equal(check.end, 8192, "the image ends where its checksum block does");
  assert.equal(check.finish(signed.length), undefined);
  // Content-Length shorter than the segments say: refused as soon as segment 0's header is read.
  const short = stream(image.subarray(0, 5000), BOOT, [1000]);
  assert.equal(short.error, "Image is truncated: segment 0 needs 8044 bytes, but the image has 5000");
  // Without a length known in advance, finish() refuses a stream that stopped early.
  const open = new ImageCheck(BOOT);
  open.start(image.subarray(0, 288));
  open.push(image.subarray(0, 8190));
  assert.equal(open.complete, false);
  assert.equal(open.finish(8190), "Image is truncated: its checksum needs 8192 bytes, but the image has 8190");
  assert.equal(stream(image, { ...BOOT, partitionSize: 8000 }, [4096]).error, 'Image does not fit its partition: segment 0 ends at byte 8044, the partition holds 8000 (ESP-IDF: "doesn\'t fit in partition length 8000"); the bootloader would refuse this image');
  assert.equal(stream(image, { ...BOOT, partitionSize: 8192 }, [4096]).error, undefined);
});

test("streaming checker: reset() starts over, and push before start() is a refusal", () => {
  const image = buildImage({ size: 4096, seed: 9 });
  const check = new ImageCheck({ ...BOOT, available: 4096 });
  assert.match(check.push(image) ?? "", /before its header/);
  check.start(image.subarray(0, 288));
  check.push(image.subarray(0, 100));
  check.reset();
  check.start(image.subarray(0, 288));
  check.push(image);
  assert.equal(check.complete, true);
});

test("checkImage: a whole image's layout, segment by segment", () => {
  const image = buildImage({ size: 4096, seed: 2, version: "2.0.0" });
  const layout = checkImage(image, BOOT);
  assert.deepEqual(layout, {
    segments: [
      { index: 0, loadAddress: 0x3f400020, offset: 32, length: 3916 },
      { index: 1, loadAddress: 0x3ffb0000, offset: 3956, length: 64 },
      { index: 2, loadAddress: 0x40080000, offset: 4028, length: 64 },
    ],
    checksumAt: 4095,
    end: 4096,
    hashAppended: false,
  });
  assert.match(String(checkImage(image.subarray(0, 3000), BOOT)), /truncated/);
  assert.match(String(checkImage(new Uint8Array(300).fill(0xff), BOOT)), /^Not an ESP32 app image: first byte 0xFF/);
});

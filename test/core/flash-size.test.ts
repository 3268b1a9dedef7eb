// The shared flash-size decision (Node and XS): both families' header codes,
// unknown codes pass, and the device's pre-flight refuses before any erase.
import { test, assert } from "../harness/t";
import { declaredFlashSize, flashSizeProblem } from "../../modules/core/flash-size";
import { checkImageHeader } from "../../modules/core/engine/preflight";
import { buildImage } from "../fakes/image";

const MB = 1024 * 1024;

test("ESP32 codes 0-7 are 1 MB << code; ESP8266 codes follow Esp.cpp magicFlashChipSize", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 7].map((c) => declaredFlashSize(c << 4, "esp32")), [MB, 2 * MB, 4 * MB, 8 * MB, 16 * MB, 128 * MB]);
  assert.equal(declaredFlashSize(0x8f, "esp32"), 0, "unknown");
  assert.deepEqual([0, 1, 2, 3, 4, 8, 9].map((c) => declaredFlashSize(c << 4, "esp8266")), [0x80000, 0x40000, MB, 2 * MB, 4 * MB, 8 * MB, 16 * MB]);
  assert.equal(declaredFlashSize(0x50, "esp8266"), 0, "5-7 and A-F are unknown: the core passes them");
  assert.equal(declaredFlashSize(0x20, "esp32"), declaredFlashSize(0x40, "esp8266"), "the same 4 MB, written differently");
});

test("more flash than the board has is refused with both sizes; equal, less or unknown passes", () => {
  assert.equal(flashSizeProblem(0x40, "esp32", 4 * MB), "Image is built for 16 MB of flash, this board has 4 MB");
  assert.equal(flashSizeProblem(0x90, "esp8266", 4 * MB), "Image is built for 16 MB of flash, this board has 4 MB");
  assert.equal(flashSizeProblem(0x20, "esp32", 4 * MB), undefined);
  assert.equal(flashSizeProblem(0x10, "esp32", 4 * MB), undefined);
  assert.equal(flashSizeProblem(0xf0, "esp8266", MB), undefined);
  assert.equal(flashSizeProblem(0x40, "esp32", undefined), undefined, "a board that does not say: no refusal");
});

test("the device's pre-flight applies it from the image's first 24 bytes", () => {
  const image = buildImage({ size: 1024 });
  image[3] = 0x30; // 8 MB
  assert.equal(checkImageHeader(image, 0, 4 * MB), "Image is built for 8 MB of flash, this board has 4 MB");
  assert.equal(checkImageHeader(image, 0, 8 * MB), undefined);
});

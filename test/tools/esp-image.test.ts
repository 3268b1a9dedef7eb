import { test } from "node:test";
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { buildImage, imageLength, verifyImage } from "../../tools/esp-image";
import { chipName, parseAppDescriptor, parseImageHeader } from "../../modules/core/image";

test("a built ESP32 image passes the bootloader's checks and describes itself", () => {
  const image = buildImage({ version: "1.1.0", projectName: "demo", size: 100_000 });
  assert.equal(verifyImage(image), undefined);
  const h = parseImageHeader(image);
  assert.equal(chipName(h.chipId), "ESP32");
  assert.equal(h.flashSize, 4 * 1024 * 1024);
  assert.equal(h.segmentCount, 2);
  assert.equal(h.hashAppended, true);
  assert.equal(parseAppDescriptor(image)?.version, "1.1.0");
  assert.equal(parseAppDescriptor(image)?.projectName, "demo");
  assert.ok(Math.abs(image.length - 100_000) < 64, `size ${image.length}`);
  assert.equal((image.length - 32) % 16, 0, "checksum ends a 16-byte block, SHA-256 follows");
});

test("chip and flash size are written where the header says", () => {
  const s3 = buildImage({ chip: "ESP32-S3", version: "1.0.0", flashSize: 8 * 1024 * 1024 });
  assert.equal(chipName(parseImageHeader(s3).chipId), "ESP32-S3");
  assert.equal(parseImageHeader(s3).flashSize, 8 * 1024 * 1024);
  assert.equal(verifyImage(buildImage({ chip: "ESP32-C3", version: "1.0.0" })), undefined);
});

test("builds are deterministic and versions differ in content", () => {
  const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
  assert.equal(md5(buildImage({ version: "1.0.0" })), md5(buildImage({ version: "1.0.0" })));
  assert.notEqual(md5(buildImage({ version: "1.0.0" })), md5(buildImage({ version: "1.1.0" })));
});

test("one flipped byte anywhere is caught by the checksum or the appended SHA-256", () => {
  const image = buildImage({ version: "2.0.0", size: 4096 });
  for (const at of [40, 300, 2000, image.length - 40, image.length - 1]) {
    const bad = image.slice();
    bad[at] ^= 0x01;
    assert.match(verifyImage(bad) ?? "", /mismatch|Not an ESP32/, `byte ${at}`);
  }
  assert.match(verifyImage(image.subarray(0, image.length - 10)) ?? "", /SHA-256 is missing/);
});

test("imageLength finds an image's end inside an erased (0xFF) partition", () => {
  const image = buildImage({ version: "1.0.0", size: 10_000 });
  const partition = new Uint8Array(64 * 1024).fill(0xff);
  partition.set(image);
  assert.equal(imageLength(partition), image.length);
  assert.equal(imageLength(partition.subarray(0, image.length - 1)), "image runs past the end");
  assert.match(String(imageLength(new Uint8Array(4096).fill(0xff))), /Not an ESP32 app image/);
});

// Image header and app descriptor parsing, on bytes laid out by hand from
// ESP-IDF's esp_app_format.h / esp_app_desc.h (independent of tools/esp-image.ts).
import { test, assert } from "../harness/t";
import { APP_DESC_MAGIC, chipName, parseAppDescriptor, parseImageHeader } from "../../modules/core/image";

function header(chipId: number, sizeNibble = 2): Uint8Array {
  const b = new Uint8Array(24);
  b[0] = 0xe9;
  b[1] = 3; // segments
  b[2] = 2; // DIO
  b[3] = (sizeNibble << 4) | 0x0f; // low nibble (speed) must not leak into the size
  b.set([0x00, 0x10, 0x08, 0x40], 4); // entry 0x40081000
  b[12] = chipId & 0xff;
  b[13] = chipId >> 8;
  b[23] = 1;
  return b;
}

function put(b: Uint8Array, at: number, text: string): void {
  for (let i = 0; i < text.length; i++) b[at + i] = text.charCodeAt(i);
}

test("header: magic, segments, flash size, entry, chip and hash flag", () => {
  const h = parseImageHeader(header(0x0009));
  assert.deepEqual(h, { segmentCount: 3, spiMode: 2, flashSize: 4 * 1024 * 1024, entryAddress: 0x40081000, chipId: 9, hashAppended: true });
  assert.equal(parseImageHeader(header(0, 4)).flashSize, 16 * 1024 * 1024);
  assert.equal(parseImageHeader(header(0, 0)).flashSize, 1024 * 1024);
});

test("header: chip ids name the chips of protocol.md section 4", () => {
  const names: [number, string][] = [[0, "ESP32"], [2, "ESP32-S2"], [5, "ESP32-C3"], [9, "ESP32-S3"], [12, "ESP32-C2"], [13, "ESP32-C6"], [16, "ESP32-H2"]];
  for (const [id, name] of names) {
    assert.equal(chipName(parseImageHeader(header(id)).chipId), name);
  }
  assert.equal(chipName(0x1234), "unknown chip 0x1234");
});

test("header: wrong magic and short input are refused with a reason", () => {
  const html = new Uint8Array(24);
  put(html, 0, "<!DOCTYPE html><html>..");
  assert.throws(() => parseImageHeader(html), "Not an ESP32 app image (first byte 0x3C, expected 0xE9)");
  assert.throws(() => parseImageHeader(header(0).subarray(0, 10)), "Image header is truncated (10 of 24 bytes)");
});

test("app descriptor at offset 32 gives version, project, time, date and IDF version", () => {
  const b = new Uint8Array(24 + 8 + 256);
  b.set(header(0));
  const d = 32;
  new DataView(b.buffer).setUint32(d, APP_DESC_MAGIC, true);
  new DataView(b.buffer).setUint32(d + 4, 7, true);
  put(b, d + 16, "1.1.0");
  put(b, d + 48, "thermostat");
  put(b, d + 80, "10:55:15");
  put(b, d + 96, "Nov 22 2026");
  put(b, d + 112, "v5.4.1");
  assert.deepEqual(parseAppDescriptor(b), { secureVersion: 7, version: "1.1.0", projectName: "thermostat", time: "10:55:15", date: "Nov 22 2026", idfVersion: "v5.4.1" });
});

test("app descriptor: absent magic or short image gives undefined", () => {
  const b = new Uint8Array(24 + 8 + 256);
  b.set(header(0));
  assert.equal(parseAppDescriptor(b), undefined);
  assert.equal(parseAppDescriptor(b.subarray(0, 100)), undefined);
});

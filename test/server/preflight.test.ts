// The server's pre-flight on its own: the flash-size decision is the device's
// (modules/core/flash-size.ts), for ESP8266 clients as for ESP32 ones.
import { test } from "node:test";
import assert from "node:assert/strict";
import { preflight } from "../../server/preflight";
import { classifyImage } from "../../server/image-facts";
import type { DeviceRequest } from "../../server/device-headers";
import { buildImage } from "../../tools/esp-image";
import { esp8266Image } from "./helpers";

const MB = 1024 * 1024;
const device = (family: "esp32" | "esp8266", chipSize: number): DeviceRequest => ({ family, userAgentOk: true, mode: "sketch", modeName: "sketch", chipSize, freeSpace: 2 * MB });

test("an ESP8266 image built for 16 MB is refused for a 4 MB ESP8266 before a byte is sent", () => {
  const image = esp8266Image(100_000);
  image[3] = 0x90;
  const refusal = preflight(device("esp8266", 4 * MB), image.length, classifyImage(image));
  assert.deepEqual(refusal, { status: 409, reason: "Image is built for 16 MB of flash, this board has 4 MB" });
  image[3] = 0x40;
  assert.equal(preflight(device("esp8266", 4 * MB), image.length, classifyImage(image)), undefined);
});

test("an ESP32 image built for 8 MB is refused for a 4 MB ESP32, with the device's wording", () => {
  const image = buildImage({ version: "1.0.0", size: 50_000, flashSize: 8 * MB });
  assert.deepEqual(preflight(device("esp32", 4 * MB), image.length, classifyImage(image)), { status: 409, reason: "Image is built for 8 MB of flash, this board has 4 MB" });
  assert.equal(preflight(device("esp32", 8 * MB), image.length, classifyImage(image)), undefined);
});

// Checks made before a single byte of an image is sent, so a device that
// would refuse it (or worse, flash it) is told why up front.
import type { DeviceRequest } from "./device-headers";
import type { ImageFacts } from "./image-facts";
import { chipName } from "../modules/core/image";
import { unknownChipProblem } from "../modules/core/esp-image-rules";
import { flashSizeProblem } from "../modules/core/flash-size";
import type { ChipRequirement } from "./rules";

export interface Refusal {
  status: number;
  reason: string;
}

const CHIP_MISMATCH = 409;
const TOO_LARGE = 413;

/**
 * Chip family: an ESP8266 client takes an ESP8266 image (or a gzip one, which
 * its core inflates); an ESP32 client takes only an ESP32-family image. The
 * ESP32 variant cannot be read from the standard headers, so it is checked
 * when known: from an x-ESP32-chip header the sketch adds, else from the
 * rule's `chip`. An image whose chip id no ESP-IDF target has is refused
 * even then (no board boots it). Filesystem images carry no header and are only size-checked
 * by the device against its partition, so they skip these checks.
 */
export function preflight(device: DeviceRequest, size: number, facts: ImageFacts, required?: ChipRequirement): Refusal | undefined {
  if (device.mode !== "sketch") return undefined;
  if (required && required.family !== device.family)
    return { status: CHIP_MISMATCH, reason: `Rule is for ${required.label}, device is ${device.family.toUpperCase()}` };
  if (device.family === "esp8266") {
    if (facts.family === "esp32") return { status: CHIP_MISMATCH, reason: `Image is for ${facts.header?.chipName ?? "ESP32"}, device is ESP8266` };
    if (facts.family === "none") return { status: CHIP_MISMATCH, reason: "Not an ESP app image" };
  } else {
    if (facts.family !== "esp32") return { status: CHIP_MISMATCH, reason: facts.family === "none" ? "Not an ESP app image" : "Image is not an ESP32 app image" };
    const wanted = device.chipId ?? required?.chipId;
    const chip = facts.header?.chipId;
    if (wanted !== undefined && chip !== undefined && chip !== wanted)
      return { status: CHIP_MISMATCH, reason: `Image is for ${chipName(chip)}, device is ${chipName(wanted)}` };
    // with no chip to compare, still refuse an id no board has (the core's decision)
    const unknown = chip === undefined ? undefined : unknownChipProblem(chip);
    if (unknown) return { status: CHIP_MISMATCH, reason: unknown };
  }
  // The same decision the device makes (modules/core/flash-size.ts), for both families.
  const family = facts.family === "esp8266" || facts.family === "esp32" ? facts.family : undefined;
  const tooBig = family && facts.byte3 !== undefined ? flashSizeProblem(facts.byte3, family, device.chipSize) : undefined;
  if (tooBig) return { status: CHIP_MISMATCH, reason: tooBig };
  if (device.freeSpace !== undefined && size > device.freeSpace)
    return { status: TOO_LARGE, reason: `Not enough space: image ${size} bytes, free ${device.freeSpace}` };
  return undefined;
}

// What a firmware file says about itself, from its first bytes, using the
// core's parser (modules/core/image.ts) so device and server agree.
import {
  APP_DESC_OFFSET,
  APP_DESC_SIZE,
  CHIP_IDS,
  IMAGE_MAGIC,
  chipName,
  parseAppDescriptor,
  parseImageHeader,
  type AppDescriptor,
  type ImageHeader,
} from "../modules/core/image";

export const HEAD_BYTES = APP_DESC_OFFSET + APP_DESC_SIZE;
const GZIP_MAGIC = 0x1f;

export type ImageFamily = "esp32" | "esp8266" | "gzip" | "none";

export interface ImageFacts {
  family: ImageFamily;
  /** ESP32 family only. */
  header?: ImageHeader & { chipName: string };
  app?: AppDescriptor;
  /** Header byte 3 of an ESP32 or ESP8266 app image (its high nibble is the flash size). */
  byte3?: number;
}

const KNOWN_CHIP_IDS = new Set(Object.values(CHIP_IDS));

/**
 * ESP8266 and ESP32 images both start 0xE9. Only ESP32-family images carry
 * the 16-byte extended header (bytes 8-23) and, for ESP-IDF and Arduino-ESP32
 * apps, esp_app_desc_t at offset 32. An ESP8266 image has its first segment
 * header at byte 8 (load address 0x40xxxxxx / 0x3FFExxxx, so byte 8 is a low
 * address byte, not the 0xEE "no WP pin" an ESP32 image has). So: ESP32 family
 * when the app descriptor is there, or when the extended header is plausible
 * (known chip id, WP pin byte 0xEE, reserved bytes 20-22 zero, hash flag 0/1);
 * any other 0xE9 image is treated as ESP8266.
 */
export function classifyImage(head: Uint8Array): ImageFacts {
  if (head.length === 0) return { family: "none" };
  if (head[0] === GZIP_MAGIC) return { family: "gzip" };
  if (head[0] !== IMAGE_MAGIC) return { family: "none" };
  const byte3 = head.length > 3 ? { byte3: head[3] } : {};
  let header: ImageHeader;
  try {
    header = parseImageHeader(head);
  } catch {
    return { family: "esp8266", ...byte3 }; // shorter than an ESP32 header
  }
  const app = parseAppDescriptor(head);
  const extended =
    KNOWN_CHIP_IDS.has(header.chipId) && head[8] === 0xee && head[20] === 0 && head[21] === 0 && head[22] === 0 && head[23] <= 1;
  if (!app && !extended) return { family: "esp8266", ...byte3 };
  return { family: "esp32", header: { ...header, chipName: chipName(header.chipId) }, ...(app ? { app } : {}), ...byte3 };
}

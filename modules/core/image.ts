// Reads what an ESP32 app image says about itself. Engine-neutral: the device
// pre-flight, the update server's metadata and the host twin all use it.
//
// Layouts from ESP-IDF:
// - esp_image_header_t (24 bytes), components/bootloader_support/include/esp_app_format.h
//   (ESP-IDF 5.x: components/esp_app_format/include/esp_app_format.h)
// - esp_app_desc_t (256 bytes), components/esp_app_format/include/esp_app_desc.h; it is the
//   first thing in the first segment, so at file offset 24 + 8 = 32.
import { readU16 as u16, readU32 as u32, utf8Decode } from "./bytes";
import { APP_DESC_MAGIC, APP_DESC_OFFSET, APP_DESC_SIZE, IMAGE_HEADER_SIZE, IMAGE_MAGIC } from "./esp-image-rules";

// The format constants and the chip table (esp_chip_id_t) live with the rules
// that use them; they stay importable from here.
export { APP_DESC_MAGIC, APP_DESC_OFFSET, APP_DESC_SIZE, CHIP_IDS, IMAGE_HEADER_SIZE, IMAGE_MAGIC, SEGMENT_HEADER_SIZE, chipName } from "./esp-image-rules";

export interface ImageHeader {
  segmentCount: number;
  spiMode: number;
  /** Flash size the image was built for, in bytes (from the high nibble of byte 3). */
  flashSize: number;
  entryAddress: number;
  chipId: number;
  hashAppended: boolean;
}

export interface AppDescriptor {
  secureVersion: number;
  version: string;
  projectName: string;
  time: string;
  date: string;
  idfVersion: string;
}

export class ImageFormatError extends Error {
  override name = "ImageFormatError";
}

function hex2(n: number): string {
  return `0x${n.toString(16).toUpperCase().padStart(2, "0")}`;
}

/** Parses the 24-byte image header; throws ImageFormatError with a user-facing reason. */
export function parseImageHeader(bytes: Uint8Array): ImageHeader {
  if (bytes.length < IMAGE_HEADER_SIZE) throw new ImageFormatError(`Image header is truncated (${bytes.length} of ${IMAGE_HEADER_SIZE} bytes)`);
  if (bytes[0] !== IMAGE_MAGIC) throw new ImageFormatError(`Not an ESP32 app image (first byte ${hex2(bytes[0])}, expected ${hex2(IMAGE_MAGIC)})`);
  const sizeCode = bytes[3] >> 4;
  return {
    segmentCount: bytes[1],
    spiMode: bytes[2],
    flashSize: (1024 * 1024) << sizeCode, // 0 = 1 MB, 1 = 2 MB, 2 = 4 MB ... 7 = 128 MB
    entryAddress: u32(bytes, 4),
    chipId: u16(bytes, 12),
    hashAppended: bytes[23] !== 0, // esp_image_format.c tests it as a truth value
  };
}

function cString(bytes: Uint8Array, at: number, length: number): string {
  let end = at;
  while (end < at + length && bytes[end] !== 0) end++;
  return utf8Decode(bytes.subarray(at, end));
}

/** Reads esp_app_desc_t from the start of an image; undefined when absent or too short. */
export function parseAppDescriptor(bytes: Uint8Array): AppDescriptor | undefined {
  if (bytes.length < APP_DESC_OFFSET + APP_DESC_SIZE || bytes[0] !== IMAGE_MAGIC) return undefined;
  const d = APP_DESC_OFFSET;
  if (u32(bytes, d) !== APP_DESC_MAGIC) return undefined;
  return {
    secureVersion: u32(bytes, d + 4),
    version: cString(bytes, d + 16, 32),
    projectName: cString(bytes, d + 48, 32),
    time: cString(bytes, d + 80, 16),
    date: cString(bytes, d + 96, 16),
    idfVersion: cString(bytes, d + 112, 32),
  };
}

// Builds small ESP32 app images in plain typed-array writes (engine-neutral,
// unlike tools/esp-image.ts, which hashes with node:crypto): a 24-byte header,
// segments the bootloader accepts (segment 0 in DROM at file offset 32, one
// small DRAM and one small IRAM segment it loads), the checksum byte (0xEF XOR
// every segment data byte, the last byte of the next 16-byte block) and no
// appended SHA-256. Bytes after the checksum block (sizes that are not a
// multiple of 16) are filler, as ESP-IDF allows data after an image.
// Images under 288 bytes are a header and filler only (for header tests).
import { APP_DESC_MAGIC, APP_DESC_OFFSET, CHIP_IDS, IMAGE_HEADER_SIZE, SEGMENT_HEADER_SIZE } from "../../modules/core/image";
import { utf8Encode } from "../../modules/core/bytes";

export interface TestImageOptions {
  size: number;
  /** esp_chip_id_t, default ESP32 (0). */
  chipId?: number;
  /** First byte, default 0xE9. */
  magic?: number;
  /** Varies the filler so two images differ. */
  seed?: number;
  /** Writes an esp_app_desc_t with this version (and projectName) at the start of segment 0. */
  version?: string;
  projectName?: string;
  /** The segments, as [load address, data length]; the image is then as long as they need (at most `size`, filler after). */
  segments?: ReadonlyArray<readonly [loadAddress: number, length: number]>;
  /** Header bytes 15-16 and 17-18: min_chip_rev_full, max_chip_rev_full (default 0: any). */
  minRev?: number;
  maxRev?: number;
}

/** Where the default layout puts its DROM, DRAM and IRAM segments (soc.h memory maps; ESP32 for chips not listed). */
const ADDRESSES: Record<number, readonly [drom: number, dram: number, iram: number]> = {
  [CHIP_IDS.ESP32]: [0x3f400020, 0x3ffb0000, 0x40080000],
  [CHIP_IDS["ESP32-S3"]]: [0x3c000020, 0x3fc90000, 0x40378000],
  [CHIP_IDS["ESP32-C3"]]: [0x3c000020, 0x3fc90000, 0x40380000],
};
const RAM_SEGMENT = 64;

export function buildImage(options: TestImageOptions): Uint8Array {
  const out = new Uint8Array(options.size);
  let x = (options.seed ?? 1) * 2654435761 >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  const chip = options.chipId ?? CHIP_IDS.ESP32;
  const segments = out.length < APP_DESC_OFFSET + 256 ? [] : (options.segments ?? defaultSegments(chip, out.length));
  if (options.version !== undefined && segments.length > 0 && segments[0][1] < 256) throw new Error("segment 0 is too short for the app descriptor");
  if (out.length >= IMAGE_HEADER_SIZE) {
    out[0] = options.magic ?? 0xe9;
    out[1] = segments.length || 3;
    out[2] = 2; // SPI mode DIO
    out[3] = 0x20; // 4 MB, 40 MHz
    out.set([0x1c, 0x11, 0x08, 0x40], 4); // entry 0x4008111c
    out[8] = 0xee; // no WP pin
    out.fill(0, 9, 24);
    out[12] = chip & 0xff;
    out[13] = chip >> 8;
    put16(out, 15, options.minRev ?? 0);
    put16(out, 17, options.maxRev ?? 0);
    out[23] = 0; // no appended SHA-256
  }
  if (options.version !== undefined) {
    if (out.length < APP_DESC_OFFSET + 256) throw new Error("an image with an app descriptor needs 288 bytes or more");
    const d = APP_DESC_OFFSET;
    out.fill(0, d, d + 256);
    new DataView(out.buffer).setUint32(d, APP_DESC_MAGIC, true);
    out.set(utf8Encode(options.version), d + 16);
    out.set(utf8Encode(options.projectName ?? "ota-demo"), d + 48);
  }
  if (segments.length === 0) return out;
  let at = IMAGE_HEADER_SIZE;
  for (const [address, length] of segments) {
    put32(out, at, address);
    put32(out, at + 4, length);
    at += SEGMENT_HEADER_SIZE + length;
    if (at > out.length) throw new Error(`segments need more than ${out.length} bytes`);
  }
  return resealImage(out);
}

/** Rewrites the checksum block after the image's segments, for an image whose segment data was changed. */
export function resealImage(image: Uint8Array): Uint8Array {
  let at = IMAGE_HEADER_SIZE;
  let checksum = 0xef;
  for (let s = 0; s < image[1]; s++) {
    const length = (image[at + 4] | (image[at + 5] << 8) | (image[at + 6] << 16) | (image[at + 7] << 24)) >>> 0;
    at += SEGMENT_HEADER_SIZE;
    for (let i = 0; i < length; i++) checksum ^= image[at + i];
    at += length;
  }
  const checksumAt = at + 15 - (at % 16);
  if (checksumAt >= image.length) throw new Error(`segments need more than ${image.length} bytes`);
  image.fill(0, at, checksumAt);
  image[checksumAt] = checksum;
  return image;
}

/** Segment 0 in DROM fills the image up to a checksum block that ends on the last 16-byte boundary. */
function defaultSegments(chip: number, size: number): Array<[number, number]> {
  const [drom, dram, iram] = ADDRESSES[chip] ?? ADDRESSES[CHIP_IDS.ESP32];
  const body = Math.floor(size / 16) * 16 - 4; // header + segments; 3 pad bytes and the checksum follow
  const first = body - IMAGE_HEADER_SIZE - 3 * SEGMENT_HEADER_SIZE - 2 * RAM_SEGMENT;
  return [
    [drom, first],
    [dram, RAM_SEGMENT],
    [iram, RAM_SEGMENT],
  ];
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = v >> 8;
}

function put32(b: Uint8Array, at: number, v: number): void {
  put16(b, at, v & 0xffff);
  put16(b, at + 2, v >>> 16);
}

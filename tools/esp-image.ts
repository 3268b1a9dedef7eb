// Builds well-formed ESP32 app images for the demo catalog and for tests, and
// verifies them the way the ESP-IDF bootloader does.
//
// Format sources:
// - esp_image_header_t, esp_image_segment_header_t: ESP-IDF
//   components/bootloader_support/include/esp_app_format.h
// - esp_app_desc_t: ESP-IDF components/esp_app_format/include/esp_app_desc.h
// - checksum (0xEF XOR every segment data byte, stored in the last byte of the
//   16-byte-aligned block after the segments) and the appended SHA-256 over the whole
//   image: esptool bin_image.py (ImageSegment/BaseFirmwareImage.append_checksum,
//   ESP32FirmwareImage.save) and ESP-IDF components/bootloader_support/src/esp_image_format.c.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Command } from "commander";
import { APP_DESC_MAGIC, APP_DESC_SIZE, CHIP_IDS, IMAGE_HEADER_SIZE, IMAGE_MAGIC, SEGMENT_HEADER_SIZE, chipName, parseImageHeader, type ImageHeader } from "../modules/core/image";

export interface ImageOptions {
  /** Chip name as in CHIP_IDS ("ESP32", "ESP32-S3", ...). Default "ESP32". */
  chip?: string;
  version: string;
  projectName?: string;
  idfVersion?: string;
  /** Build date and time as the app descriptor stores them ("Nov 22 2026", "10:55:15"). */
  date?: string;
  time?: string;
  /** Approximate total size in bytes; the code segment is padded to reach it. */
  size?: number;
  /** Flash size the image declares, in bytes. Default 4 MB. */
  flashSize?: number;
  /** Seeds the filler bytes so two builds of one version are identical. */
  seed?: number;
  /** Twin behaviour tag written at the start of the code segment (twin/flash/app-image.ts reads it). */
  behaviour?: string;
}

/** Marks a segment's data with what the firmware does on the twin: `TWIN-BEHAVIOUR:<name>` then NUL. */
export const BEHAVIOUR_TAG = "TWIN-BEHAVIOUR:";

// Load addresses of the app descriptor (DROM) and code (IROM) segments per chip
// family, from the chips' memory maps in ESP-IDF soc/<chip>/include/soc/soc.h.
const SEGMENT_ADDRESSES: Record<string, [drom: number, irom: number, entry: number]> = {
  ESP32: [0x3f400020, 0x400d0020, 0x40081000],
  "ESP32-S2": [0x3f000020, 0x40080020, 0x40024000],
  "ESP32-S3": [0x3c000020, 0x42000020, 0x40375000],
};
const RISCV_ADDRESSES: [number, number, number] = [0x3c000020, 0x42000020, 0x40380000];

function writeCString(target: Uint8Array, at: number, length: number, text: string): void {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length >= length) throw new Error(`"${text}" does not fit in ${length - 1} bytes`);
  target.set(bytes, at);
}

function appDescriptor(o: ImageOptions): Uint8Array {
  const d = new Uint8Array(APP_DESC_SIZE);
  const view = new DataView(d.buffer);
  view.setUint32(0, APP_DESC_MAGIC, true);
  view.setUint32(4, 0, true); // secure_version
  writeCString(d, 16, 32, o.version);
  writeCString(d, 48, 32, o.projectName ?? "moddable-ota-demo");
  writeCString(d, 80, 16, o.time ?? "10:55:15");
  writeCString(d, 96, 16, o.date ?? "Nov 22 2026");
  writeCString(d, 112, 32, o.idfVersion ?? "v5.4.1");
  d.set(createHash("sha256").update(o.version).digest(), 144); // app_elf_sha256: stands in for the ELF's
  return d;
}

// xorshift32: deterministic filler that does not compress to nothing.
function filler(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function seedOf(o: ImageOptions): number {
  let h = o.seed ?? 0x811c9dc5;
  for (const c of `${o.chip}/${o.version}/${o.projectName}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

/** A complete app image: header, two segments, checksum, appended SHA-256. */
export function buildImage(o: ImageOptions): Uint8Array {
  const chip = o.chip ?? "ESP32";
  const chipId = CHIP_IDS[chip];
  if (chipId === undefined) throw new Error(`unknown chip ${chip}`);
  const [drom, irom, entry] = SEGMENT_ADDRESSES[chip] ?? RISCV_ADDRESSES;
  const flashSize = o.flashSize ?? 4 * 1024 * 1024;
  const sizeCode = Math.log2(flashSize / (1024 * 1024));
  if (!Number.isInteger(sizeCode) || sizeCode < 0 || sizeCode > 7) throw new Error(`flash size ${flashSize} is not 1..128 MB`);

  const descriptor = appDescriptor(o);
  const fixed = IMAGE_HEADER_SIZE + 2 * SEGMENT_HEADER_SIZE + descriptor.length + 16 + 32;
  // Segment lengths are multiples of 4 (the bootloader requires word alignment).
  const codeLength = Math.max(256, Math.ceil(((o.size ?? 64 * 1024) - fixed) / 4) * 4);
  const code = filler(codeLength, seedOf(o));
  if (o.behaviour) {
    const tag = new TextEncoder().encode(`${BEHAVIOUR_TAG}${o.behaviour}\0`);
    if (tag.length > code.length) throw new Error("behaviour tag does not fit the code segment");
    code.set(tag);
  }
  const segments: [number, Uint8Array][] = [[drom, descriptor], [irom, code]];

  const bodyLength = IMAGE_HEADER_SIZE + segments.reduce((n, [, data]) => n + SEGMENT_HEADER_SIZE + data.length, 0);
  const checksumAt = bodyLength + (15 - (bodyLength % 16)); // pad so the checksum is the last byte of a 16-byte block
  const image = new Uint8Array(checksumAt + 1 + 32);
  const view = new DataView(image.buffer);
  image[0] = IMAGE_MAGIC;
  image[1] = segments.length;
  image[2] = 2; // SPI mode DIO
  image[3] = (sizeCode << 4) | 0x0; // flash size nibble, 40 MHz
  view.setUint32(4, entry, true);
  image[8] = 0xee; // wp_pin: disabled
  view.setUint16(12, chipId, true);
  // bytes 14-16: min_chip_rev and min_chip_rev_full stay 0 (any revision)
  view.setUint16(17, 99, true); // max_chip_rev_full: v0.99
  image[23] = 1; // hash_appended

  let at = IMAGE_HEADER_SIZE;
  let checksum = 0xef;
  for (const [address, data] of segments) {
    view.setUint32(at, address, true);
    view.setUint32(at + 4, data.length, true);
    image.set(data, at + SEGMENT_HEADER_SIZE);
    for (const b of data) checksum ^= b;
    at += SEGMENT_HEADER_SIZE + data.length;
  }
  image[checksumAt] = checksum;
  image.set(createHash("sha256").update(image.subarray(0, checksumAt + 1)).digest(), checksumAt + 1);
  return image;
}

export interface ImageLayout {
  header: ImageHeader;
  /** Offset and length of each segment's data. */
  segments: Array<[offset: number, length: number]>;
  /** Offset of the checksum byte (the last byte of the 16-byte block after the segments). */
  checksumAt: number;
  /** Offset just past the image: checksum, plus the SHA-256 when appended. */
  end: number;
}

/** Walks the header and segment headers; the segments must lie inside `bytes`. */
export function imageLayout(bytes: Uint8Array): ImageLayout | string {
  let header;
  try {
    header = parseImageHeader(bytes);
  } catch (error) {
    return (error as Error).message;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const segments: Array<[number, number]> = [];
  let at = IMAGE_HEADER_SIZE;
  for (let s = 0; s < header.segmentCount; s++) {
    if (at + SEGMENT_HEADER_SIZE > bytes.length) return `segment ${s} header is truncated`;
    const length = view.getUint32(at + 4, true);
    if (at + SEGMENT_HEADER_SIZE + length > bytes.length) return `segment ${s} is truncated`;
    segments.push([at + SEGMENT_HEADER_SIZE, length]);
    at += SEGMENT_HEADER_SIZE + length;
  }
  const checksumAt = at + (15 - (at % 16));
  return { header, segments, checksumAt, end: checksumAt + 1 + (header.hashAppended ? 32 : 0) };
}

/** Length of the image at the start of `bytes` (e.g. a whole partition), or the reason there is none. */
export function imageLength(bytes: Uint8Array): number | string {
  const layout = imageLayout(bytes);
  if (typeof layout === "string") return layout;
  return layout.end <= bytes.length ? layout.end : "image runs past the end";
}

/** Checks an image as the bootloader does; returns undefined when valid, else the reason. */
export function verifyImage(image: Uint8Array): string | undefined {
  const layout = imageLayout(image);
  if (typeof layout === "string") return layout;
  let checksum = 0xef;
  for (const [offset, length] of layout.segments) for (const b of image.subarray(offset, offset + length)) checksum ^= b;
  const { checksumAt } = layout;
  if (checksumAt >= image.length) return "checksum is missing";
  if (image[checksumAt] !== checksum) return "checksum mismatch";
  if (layout.header.hashAppended) {
    const end = checksumAt + 1;
    if (image.length < end + 32) return "appended SHA-256 is missing";
    const expected = createHash("sha256").update(image.subarray(0, end)).digest();
    if (!expected.equals(image.subarray(end, end + 32))) return "appended SHA-256 mismatch";
  }
  return undefined;
}

function main(argv: string[]): void {
  const program = new Command()
    .name("esp-image")
    .description("Write a well-formed ESP32 app image (header, segments, checksum, SHA-256, esp_app_desc_t).")
    .requiredOption("-o, --out <file>", "output file")
    .requiredOption("--version <version>", "app version stored in esp_app_desc_t")
    .option("--chip <name>", `chip: ${Object.keys(CHIP_IDS).join(", ")}`, "ESP32")
    .option("--project <name>", "project name", "moddable-ota-demo")
    .option("--size <bytes>", "approximate image size in bytes", (v) => Number.parseInt(v, 10), 64 * 1024)
    .option("--flash-size <MB>", "flash size the image declares, in MB", (v) => Number.parseInt(v, 10), 4)
    .parse(argv);
  const o = program.opts<{ out: string; version: string; chip: string; project: string; size: number; flashSize: number }>();
  const image = buildImage({ chip: o.chip, version: o.version, projectName: o.project, size: o.size, flashSize: o.flashSize * 1024 * 1024 });
  writeFileSync(o.out, image);
  console.log(`${o.out}: ${image.length} bytes, ${chipName(CHIP_IDS[o.chip])}, version ${o.version}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) main(process.argv);

// Builds ESP32 app images the ESP-IDF bootloader accepts, for the demo
// catalog and for tests, and verifies images the way ESP-IDF does.
//
// Format sources:
// - esp_image_header_t, esp_image_segment_header_t: ESP-IDF
//   components/bootloader_support/include/esp_app_format.h
// - esp_app_desc_t: ESP-IDF components/esp_app_format/include/esp_app_desc.h
// - layout: esptool bin_image.py ESP32FirmwareImage.save: flash-mapped segments
//   start where their data offset equals their load address modulo the 64 KB
//   MMU page, with a padding segment (load address 0) in the gap before them
//   (get_alignment_data_needed); the RAM segments the bootloader copies go first.
// - checksum (0xEF XOR every segment data byte, stored in the last byte of the
//   16-byte-aligned block after the segments) and the appended SHA-256 over the whole
//   image: esptool bin_image.py and ESP-IDF esp_image_format.c process_checksum,
//   verify_simple_hash.
// The layout rules themselves (segment lengths and alignment, load addresses,
// chip and revision, image end) are modules/core/esp-image-rules.ts.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Command } from "commander";
import { APP_DESC_MAGIC, APP_DESC_SIZE, CHIP_IDS, IMAGE_HEADER_SIZE, IMAGE_MAGIC, SEGMENT_HEADER_SIZE, chipName } from "../modules/core/image";
import {
  APP_DESC_EFUSE_BLK_REV,
  APP_DESC_MMU_PAGE_SIZE,
  MMU_PAGE_SIZE,
  checkImage,
  chipRules,
  refusal,
  type ImageCheckOptions,
  type ImageLayout,
} from "../modules/core/esp-image-rules";

export interface ImageOptions {
  /** Chip name as in CHIP_IDS ("ESP32", "ESP32-S3", ...). Default "ESP32". */
  chip?: string;
  version: string;
  projectName?: string;
  idfVersion?: string;
  /** Build date and time as the app descriptor stores them ("Nov 22 2026", "10:55:15"). */
  date?: string;
  time?: string;
  /** Approximate total size in bytes; the code segment is padded to reach it (at least about 66 KB: the code starts after the first 64 KB page). */
  size?: number;
  /** Flash size the image declares, in bytes. Default 4 MB. */
  flashSize?: number;
  /** Seeds the filler bytes so two builds of one version are identical. */
  seed?: number;
  /** Twin behaviour tag written at the start of the code segment (twin/flash/app-image.ts reads it). */
  behaviour?: string;
  /** esp_app_desc_t.secure_version (anti-rollback). Default 0. */
  secureVersion?: number;
}

/** Marks a segment's data with what the firmware does on the twin: `TWIN-BEHAVIOUR:<name>` then NUL. */
export const BEHAVIOUR_TAG = "TWIN-BEHAVIOUR:";

/**
 * Where the image's IRAM code and DRAM data are loaded, per chip: the start of
 * the app's iram0/dram0 regions (a few KB in, clear of what the bootloader
 * protects: test/tools/esp-image.test.ts checks every chip's image against its
 * bootloader rules). The DROM and IROM addresses are the chip's mapped ranges
 * (esp-image-rules.ts chipRules), 0x20 into a page as an ESP-IDF app's are.
 */
const LOADED: Record<string, [iram: number, dram: number]> = {
  ESP32: [0x40080000, 0x3ffb0000],
  "ESP32-S2": [0x40024000, 0x3ffb8000],
  "ESP32-C3": [0x40380000, 0x3fc90000],
  "ESP32-S3": [0x40378000, 0x3fc90000],
  "ESP32-C2": [0x40380000, 0x3fca8000],
  "ESP32-C6": [0x40800000, 0x40810000],
  "ESP32-H2": [0x40800000, 0x40810000],
  "ESP32-P4": [0x4ff00000, 0x4ff10000],
  "ESP32-C61": [0x40800000, 0x40810000],
  "ESP32-C5": [0x40800000, 0x40810000],
  "ESP32-H21": [0x40800000, 0x40810000],
  "ESP32-H4": [0x40810000, 0x40820000],
  "ESP32-S31": [0x2f000000, 0x2f010000],
};
const RAM_SEGMENT = 256;

function writeCString(target: Uint8Array, at: number, length: number, text: string): void {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length >= length) throw new Error(`"${text}" does not fit in ${length - 1} bytes`);
  target.set(bytes, at);
}

function appDescriptor(o: ImageOptions, minEfuseBlk: number, maxEfuseBlk: number): Uint8Array {
  const d = new Uint8Array(APP_DESC_SIZE);
  const view = new DataView(d.buffer);
  view.setUint32(0, APP_DESC_MAGIC, true);
  view.setUint32(4, o.secureVersion ?? 0, true); // secure_version
  writeCString(d, 16, 32, o.version);
  writeCString(d, 48, 32, o.projectName ?? "moddable-ota-demo");
  writeCString(d, 80, 16, o.time ?? "10:55:15");
  writeCString(d, 96, 16, o.date ?? "Nov 22 2026");
  writeCString(d, 112, 32, o.idfVersion ?? "v5.4.1");
  d.set(createHash("sha256").update(o.version).digest(), 144); // app_elf_sha256: stands in for the ELF's
  view.setUint16(APP_DESC_EFUSE_BLK_REV, minEfuseBlk, true);
  view.setUint16(APP_DESC_EFUSE_BLK_REV + 2, maxEfuseBlk, true);
  d[APP_DESC_MMU_PAGE_SIZE] = Math.log2(MMU_PAGE_SIZE); // 16: esp_app_desc.c writes 31 - clz(CONFIG_MMU_PAGE_SIZE)
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

/**
 * A complete app image as an ESP-IDF build lays it out: header; segment 0 in
 * DROM (the app descriptor); a DRAM and an IRAM segment the bootloader loads;
 * a padding segment; the code in IROM, its data 64 KB-aligned like its load
 * address; the checksum; the appended SHA-256. The header's chip revisions and
 * the descriptor's eFuse block revisions are what a default build of the chip writes.
 */
export function buildImage(o: ImageOptions): Uint8Array {
  const chip = o.chip ?? "ESP32";
  const rules = CHIP_IDS[chip] === undefined ? undefined : chipRules(CHIP_IDS[chip]);
  if (!rules) throw new Error(`unknown chip ${chip}`);
  const [iram, dram] = LOADED[chip];
  const drom = rules.drom[0] + 0x20;
  const irom = rules.irom[0] + 0x20 + (rules.irom[0] === rules.drom[0] ? MMU_PAGE_SIZE : 0); // one address space: code on the next page
  const seed = seedOf(o);
  const segments: [number, Uint8Array][] = [
    [drom, appDescriptor(o, rules.build.minEfuseBlk, rules.build.maxEfuseBlk)],
    [dram, filler(RAM_SEGMENT, seed ^ 0x5a5a5a5a)],
    [iram, filler(RAM_SEGMENT, seed ^ 0xa5a5a5a5)],
  ];
  const bodyOf = () => IMAGE_HEADER_SIZE + segments.reduce((n, [, data]) => n + SEGMENT_HEADER_SIZE + data.length, 0);
  // The code's data must sit at its load address modulo the page: pad up to there (a padding segment has a header too).
  const page = (n: number) => ((n % MMU_PAGE_SIZE) + MMU_PAGE_SIZE) % MMU_PAGE_SIZE;
  if (page(irom - bodyOf() - SEGMENT_HEADER_SIZE) !== 0) segments.push([0, new Uint8Array(page(irom - bodyOf() - 2 * SEGMENT_HEADER_SIZE))]);
  const codeAt = bodyOf() + SEGMENT_HEADER_SIZE;
  // Segment lengths are multiples of 4 (verify_segment_header).
  const codeLength = Math.max(256, Math.ceil(((o.size ?? 64 * 1024) - codeAt - 1 - 32) / 4) * 4);
  const code = filler(codeLength, seed);
  if (o.behaviour) {
    const tag = new TextEncoder().encode(`${BEHAVIOUR_TAG}${o.behaviour}\0`);
    if (tag.length > code.length) throw new Error("behaviour tag does not fit the code segment");
    code.set(tag);
  }
  segments.push([irom, code]);
  return assembleImage({ chipId: rules.id, entry: iram, flashSize: o.flashSize, legacyMinRev: rules.build.legacyMinRev, minRev: rules.build.minRev, maxRev: rules.build.maxRev }, segments);
}

export interface HeaderFields {
  chipId: number;
  entry: number;
  /** Flash size the image declares, in bytes. Default 4 MB. */
  flashSize?: number;
  /** Header byte 14 (min_chip_rev, legacy), bytes 15-16 (min_chip_rev_full), 17-18 (max_chip_rev_full). */
  legacyMinRev?: number;
  minRev?: number;
  maxRev?: number;
  /** Segment count byte, when it must differ from the segments given. */
  segmentCount?: number;
}

/**
 * Header, the segments as given (load address, data), checksum and appended
 * SHA-256: no layout rule is applied, so tests can also make images ESP-IDF refuses.
 */
export function assembleImage(h: HeaderFields, segments: ReadonlyArray<readonly [number, Uint8Array]>): Uint8Array {
  const sizeCode = Math.log2((h.flashSize ?? 4 * 1024 * 1024) / (1024 * 1024));
  if (!Number.isInteger(sizeCode) || sizeCode < 0 || sizeCode > 7) throw new Error(`flash size ${h.flashSize} is not 1..128 MB`);
  const bodyLength = IMAGE_HEADER_SIZE + segments.reduce((n, [, data]) => n + SEGMENT_HEADER_SIZE + data.length, 0);
  const checksumAt = bodyLength + (15 - (bodyLength % 16)); // pad so the checksum is the last byte of a 16-byte block
  const image = new Uint8Array(checksumAt + 1 + 32);
  const view = new DataView(image.buffer);
  image[0] = IMAGE_MAGIC;
  image[1] = h.segmentCount ?? segments.length;
  image[2] = 2; // SPI mode DIO
  image[3] = (sizeCode << 4) | 0x0; // flash size nibble, 40 MHz
  view.setUint32(4, h.entry, true);
  image[8] = 0xee; // wp_pin: disabled
  view.setUint16(12, h.chipId, true);
  image[14] = h.legacyMinRev ?? 0; // min_chip_rev (esptool --min-rev)
  view.setUint16(15, h.minRev ?? 0, true); // min_chip_rev_full
  view.setUint16(17, h.maxRev ?? 0xffff, true); // max_chip_rev_full (esptool's default: any)
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

/** How to verify: the board's chip (default: the one the image names) and revision, bootloader or app side, the partition. */
export type VerifyOptions = Partial<ImageCheckOptions>;

function withChip(bytes: Uint8Array, options: VerifyOptions): ImageCheckOptions {
  return { ...options, chipId: options.chipId ?? (bytes.length >= 14 ? bytes[12] | (bytes[13] << 8) : 0) };
}

/** Length of the image at the start of `bytes` (e.g. a whole partition), or the reason there is none. */
export function imageLength(bytes: Uint8Array, options: VerifyOptions = {}): number | string {
  const layout = checkImage(bytes, withChip(bytes, options));
  return typeof layout === "string" ? layout : layout.end;
}

/**
 * Checks an image (or a partition starting with one) as ESP-IDF does: the
 * layout rules of esp-image-rules.ts, then the checksum, then the appended
 * SHA-256. Returns the layout, or the reason it would be refused.
 */
export function verifyImageLayout(bytes: Uint8Array, options: VerifyOptions = {}): ImageLayout | string {
  const layout = checkImage(bytes, withChip(bytes, options));
  if (typeof layout === "string") return layout;
  const bootloader = options.bootloader === true;
  let checksum = 0xef;
  for (const { offset, length } of layout.segments) for (let i = offset; i < offset + length; i++) checksum ^= bytes[i];
  const stored = bytes[layout.checksumAt];
  if (stored !== checksum) return refusal(`Image checksum mismatch: calculated 0x${checksum.toString(16)}, the image has 0x${stored.toString(16)} (ESP-IDF: "Checksum failed. Calculated 0x${checksum.toString(16)} read 0x${stored.toString(16)}")`, bootloader);
  if (layout.hashAppended) {
    const end = layout.checksumAt + 1;
    const expected = createHash("sha256").update(bytes.subarray(0, end)).digest();
    if (!expected.equals(bytes.subarray(end, end + 32))) return refusal(`Image SHA-256 mismatch: the appended hash does not match the image (ESP-IDF: "Image hash failed - image is corrupt")`, bootloader);
  }
  return layout;
}

/** verifyImageLayout without the layout: undefined when valid, else the reason. */
export function verifyImage(image: Uint8Array, options: VerifyOptions = {}): string | undefined {
  const layout = verifyImageLayout(image, options);
  return typeof layout === "string" ? layout : undefined;
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

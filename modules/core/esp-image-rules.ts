// What ESP-IDF refuses in an app image, per chip, so that the device, the
// server and the host twin refuse exactly what a real board would.
// Engine-neutral (ES2022 + typed arrays); it runs in XS on the board too, so the
// chip table is code (one object is made for the chip asked about) and the
// streaming checker keeps one 8-byte segment header and a few counters.
//
// Ported from ESP-IDF v6.0 (tag v6.0 = commit 662a3be3, the version Moddable
// SDK 8.2.3 builds with), paths relative to the esp-idf repository:
// - components/bootloader_support/src/esp_image_format.c (E below):
//   image_load, verify_image_header, process_segments, process_segment,
//   verify_segment_header, should_map, should_load, verify_load_addresses,
//   process_segment_data, process_checksum, process_appended_hash_and_sig;
// - components/bootloader_support/src/bootloader_common_loader.c (B below):
//   bootloader_common_check_chip_validity, bootloader_common_check_chip_revision_validity,
//   bootloader_common_check_efuse_blk_validity;
// - components/bootloader_support/include/bootloader_memory_utils.h: the esp_ptr_* predicates;
// - components/soc/<chip>/include/soc/soc.h and soc_caps.h: memory maps and capabilities;
// - components/bootloader/subproject/main/ld/<chip>/bootloader.ld.in: the bootloader's own RAM;
// - components/esp_hw_support/port/<chip>/Kconfig.hw_support: the revisions a default build writes.
// ESP32-S31 is not in v6.0: its row and logic come from ESP-IDF master at
// 102122904a (master renames TCM to SPM; S31 has neither, so the port is the same).
//
// Not ported: secure boot signatures, anti-rollback (CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK
// is off), the bootloader's own image (is_bootloader offsets: only app partitions are
// checked here), deep-sleep wake-ups (should_load skips RTC segments only then; we model
// a cold boot), and the checksum and appended SHA-256 (tools/esp-image.ts and the
// board's own esp_ota_end compute those over the bytes).

import { readU16, readU32 } from "./bytes";
import { unknownChip } from "./messages";

// --- Image format: esp_image_header_t, esp_image_segment_header_t (components/bootloader_support/include/esp_app_format.h)
// and esp_app_desc_t (components/esp_app_format/include/esp_app_desc.h).
export const IMAGE_MAGIC = 0xe9;
export const IMAGE_HEADER_SIZE = 24;
export const SEGMENT_HEADER_SIZE = 8;
export const APP_DESC_MAGIC = 0xabcd5432;
/** esp_app_desc_t is the start of segment 0's data. */
export const APP_DESC_OFFSET = IMAGE_HEADER_SIZE + SEGMENT_HEADER_SIZE;
export const APP_DESC_SIZE = 256;
/** esp_app_desc_t.min_efuse_blk_rev_full, max_efuse_blk_rev_full (u16 each), mmu_page_size (u8, log2). */
export const APP_DESC_EFUSE_BLK_REV = 0xb0;
export const APP_DESC_MMU_PAGE_SIZE = 0xb4;
/** esp_app_format.h ESP_IMAGE_MAX_SEGMENTS. */
export const ESP_IMAGE_MAX_SEGMENTS = 16;
/** E: STACK_LOAD_HEADROOM. */
const STACK_LOAD_HEADROOM = 0x8000;
/** spi_flash_mmap.h SPI_FLASH_MMU_PAGE_SIZE = CONFIG_MMU_PAGE_SIZE: 64 KB on every chip with 4 MB flash or more (Moddable's xsProj sdkconfigs set 4 MB). */
export const MMU_PAGE_SIZE = 0x10000;
/** esp_app_format.h: an unset revision field (IS_FIELD_SET in B treats 0 and 0xFFFF as unset). */
const REV_UNSET = 0xffff;

// --- The chip table.

/** esp_chip_id_t (esp_app_format.h) with the names ESP-IDF's targets use. */
export const CHIP_IDS: Readonly<Record<string, number>> = {
  ESP32: 0x0000,
  "ESP32-S2": 0x0002,
  "ESP32-C3": 0x0005,
  "ESP32-S3": 0x0009,
  "ESP32-C2": 0x000c,
  "ESP32-C6": 0x000d,
  "ESP32-H2": 0x0010,
  "ESP32-P4": 0x0012,
  "ESP32-C61": 0x0014,
  "ESP32-C5": 0x0017,
  "ESP32-H21": 0x0019,
  "ESP32-H4": 0x001c,
  "ESP32-S31": 0x0020, // ESP-IDF master only
};

export function chipName(id: number): string {
  for (const name in CHIP_IDS) if (CHIP_IDS[name] === id) return name;
  return `unknown chip 0x${id.toString(16).padStart(4, "0")}`;
}

/**
 * An image whose chip id is in no ESP-IDF target's esp_chip_id_t: every
 * bootloader compares the id with its own CONFIG_IDF_FIRMWARE_CHIP_ID, so no
 * board boots it (and esptool cannot read it). The one decision for callers
 * that know no board chip (server, tools): they check the image against its
 * own id, and this refuses it there too.
 */
export function unknownChipProblem(id: number): string | undefined {
  return chipRules(id) === undefined ? unknownChip(chipName(id)) : undefined;
}

/** Half-open address range [low, high). */
export type Span = readonly [low: number, high: number];

/** One chip's memory map and the bootloader's RAM, as the checks use them. */
export interface ChipRules {
  id: number;
  name: string;
  /** Taken from ESP-IDF master (102122904a): the chip is not in v6.0. */
  master: boolean;
  /** should_map: SOC_IROM_LOW/HIGH, SOC_DROM_LOW/HIGH, SOC_EXTRAM_LOW/HIGH when SOC_MMU_PER_EXT_MEM_TARGET. */
  irom: Span;
  drom: Span;
  extram?: Span;
  /** esp_ptr_in_iram / esp_ptr_in_dram: SOC_IRAM_*, SOC_DRAM_*. */
  iram: Span;
  dram: Span;
  /** SOC_DIRAM_IRAM_*, SOC_DIRAM_DRAM_*, SOC_DIRAM_INVERTED (ESP32 only). */
  diramIram: Span;
  diramDram: Span;
  inverted: boolean;
  /** SOC_RTC_IRAM_*, SOC_RTC_DRAM_* when SOC_RTC_FAST_MEM_SUPPORTED; SOC_RTC_DATA_* when SOC_RTC_SLOW_MEM_SUPPORTED. */
  rtcIram?: Span;
  rtcDram?: Span;
  rtcSlow?: Span;
  /** SOC_TCM_* when SOC_MEM_TCM_SUPPORTED (P4). */
  tcm?: Span;
  /** ROM_STACK_START in E (SOC_ROM_STACK_START, or SOC_ROM_STACK_START_REV2 on P4 v3+, the default). */
  romStackStart: number;
  /**
   * [_dram_start, _dram_end) and [_loader_text_start, _loader_text_end): the ends
   * depend on each bootloader build, so these are the linker segments' ends
   * (dram_seg, iram_loader_seg of bootloader.ld.in), which refuse a superset.
   */
  bootloaderData: Span;
  loaderText: Span;
  /** SOC_MMU_PAGE_SIZE_CONFIGURABLE: the page size comes from the app descriptor. */
  pageConfigurable: boolean;
  /** E: ESP_IMAGE_MAX_FLASH_ADDR_SIZE (UINT32_MAX with SOC_SPI_MEM_SUPPORT_CACHE_32BIT_ADDR_MAP). */
  maxFlashAddress: number;
  /** What a default build writes (Kconfig.hw_support, esptool_py/project_include.cmake): header min/max_chip_rev_full, legacy min_chip_rev byte, app descriptor eFuse block revisions. */
  build: { minRev: number; maxRev: number; legacyMinRev: number; minEfuseBlk: number; maxEfuseBlk: number };
}

const M16 = 0x1000000;
const M32 = 0xffffffff;

function rules(id: number, master: boolean, shape: Omit<ChipRules, "id" | "name" | "master">): ChipRules {
  return { id, name: chipName(id), master, ...shape };
}

/** The rules for one chip, or undefined for a chip id ESP-IDF does not have. */
export function chipRules(id: number): ChipRules | undefined {
  // Each row: soc/<chip>/include/soc/soc.h, soc_caps.h and ld/<chip>/bootloader.ld.in @v6.0.
  switch (id) {
    case 0x0000: // ESP32: DIRAM word order inverted; iram_loader_seg lies below SOC_IRAM_LOW (dual core), so "overlaps loader IRAM" cannot fire
      return rules(id, false, {
        irom: [0x400d0000, 0x40400000], drom: [0x3f400000, 0x3f800000],
        iram: [0x40080000, 0x400aa000], dram: [0x3ffae000, 0x40000000],
        diramIram: [0x400a0000, 0x400c0000], diramDram: [0x3ffe0000, 0x40000000], inverted: true,
        rtcIram: [0x400c0000, 0x400c2000], rtcDram: [0x3ff80000, 0x3ff82000], rtcSlow: [0x50000000, 0x50002000],
        romStackStart: 0x3ffe3f20, bootloaderData: [0x3fff0000, 0x3fff6000], loaderText: [0x40078000, 0x40080000],
        pageConfigurable: false, maxFlashAddress: M16,
        build: { minRev: 0, maxRev: 399, legacyMinRev: 0, minEfuseBlk: 0, maxEfuseBlk: 99 },
      });
    case 0x0002: // ESP32-S2
      return rules(id, false, {
        irom: [0x40080000, 0x40800000], drom: [0x3f000000, 0x3ff80000],
        iram: [0x40020000, 0x40070000], dram: [0x3ffb0000, 0x40000000],
        diramIram: [0x40020000, 0x40070000], diramDram: [0x3ffb0000, 0x40000000], inverted: false,
        rtcIram: [0x40070000, 0x40072000], rtcDram: [0x3ff9e000, 0x3ffa0000], rtcSlow: [0x50000000, 0x50002000],
        romStackStart: 0x3fffe70c, bootloaderData: [0x3ffe5000, 0x3ffeab00], loaderText: [0x4004e000, 0x40055000],
        pageConfigurable: false, maxFlashAddress: M16,
        build: { minRev: 0, maxRev: 199, legacyMinRev: 0, minEfuseBlk: 0, maxEfuseBlk: 99 },
      });
    case 0x0005: // ESP32-C3: RTC fast memory only
      return rules(id, false, {
        irom: [0x42000000, 0x42800000], drom: [0x3c000000, 0x3c800000],
        iram: [0x4037c000, 0x403e0000], dram: [0x3fc80000, 0x3fce0000],
        diramIram: [0x40380000, 0x403e0000], diramDram: [0x3fc80000, 0x3fce0000], inverted: false,
        rtcIram: [0x50000000, 0x50002000], rtcDram: [0x50000000, 0x50002000],
        romStackStart: 0x3fcde710, bootloaderData: [0x3fcd5710, 0x3fcda710], loaderText: [0x403ce710, 0x403d5710],
        pageConfigurable: false, maxFlashAddress: M16,
        build: { minRev: 3, maxRev: 199, legacyMinRev: 3, minEfuseBlk: 0, maxEfuseBlk: 199 },
      });
    case 0x0009: // ESP32-S3
      return rules(id, false, {
        irom: [0x42000000, 0x44000000], drom: [0x3c000000, 0x3e000000],
        iram: [0x40370000, 0x403e0000], dram: [0x3fc88000, 0x3fd00000],
        diramIram: [0x40378000, 0x403e0000], diramDram: [0x3fc88000, 0x3fcf0000], inverted: false,
        rtcIram: [0x600fe000, 0x60100000], rtcDram: [0x600fe000, 0x60100000], rtcSlow: [0x50000000, 0x50002000],
        romStackStart: 0x3fceb710, bootloaderData: [0x3fce2700, 0x3fce7700], loaderText: [0x403cb700, 0x403d2700],
        pageConfigurable: false, maxFlashAddress: M32,
        build: { minRev: 0, maxRev: 99, legacyMinRev: 0, minEfuseBlk: 0, maxEfuseBlk: 199 },
      });
    case 0x000c: // ESP32-C2: no RTC memory
      return rules(id, false, {
        irom: [0x42000000, 0x42400000], drom: [0x3c000000, 0x3c400000],
        iram: [0x4037c000, 0x403c0000], dram: [0x3fca0000, 0x3fce0000],
        diramIram: [0x40380000, 0x403c0000], diramDram: [0x3fca0000, 0x3fce0000], inverted: false,
        romStackStart: 0x3fcdeb70, bootloaderData: [0x3fcd5b70, 0x3fcdab70], loaderText: [0x403aeb70, 0x403b5b70],
        pageConfigurable: true, maxFlashAddress: M16,
        build: { minRev: 100, maxRev: 299, legacyMinRev: 0, minEfuseBlk: 0, maxEfuseBlk: 99 },
      });
    case 0x000d: // ESP32-C6: SOC_IROM_HIGH = SOC_IROM_LOW + (SOC_MMU_PAGE_SIZE << 8), with 64 KB pages
      return rules(id, false, {
        irom: [0x42000000, 0x43000000], drom: [0x42000000, 0x43000000],
        ...unified([0x40800000, 0x40880000]),
        rtcIram: [0x50000000, 0x50004000], rtcDram: [0x50000000, 0x50004000],
        romStackStart: 0x4087e610, bootloaderData: [0x40875610, 0x4087a610], loaderText: [0x4086e610, 0x40875610],
        pageConfigurable: true, maxFlashAddress: M16,
        build: { minRev: 0, maxRev: 99, legacyMinRev: 0, minEfuseBlk: 0, maxEfuseBlk: 99 },
      });
    case 0x0010: // ESP32-H2: IROM high as C6
      return rules(id, false, {
        irom: [0x42000000, 0x43000000], drom: [0x42000000, 0x43000000],
        ...unified([0x40800000, 0x40850000]),
        rtcIram: [0x50000000, 0x50001000], rtcDram: [0x50000000, 0x50001000],
        romStackStart: 0x4084f380, bootloaderData: [0x40845fd0, 0x4084afd0], loaderText: [0x4083efd0, 0x40845fd0],
        pageConfigurable: true, maxFlashAddress: M16,
        build: { minRev: 0, maxRev: 199, legacyMinRev: 0, minEfuseBlk: 0, maxEfuseBlk: 99 },
      });
    case 0x0012: // ESP32-P4: v3+ (the default): SOC_ROM_STACK_START_REV2 and ld/esp32p4/bootloader.rev3.ld.in; PSRAM mapped; TCM
      return rules(id, false, {
        irom: [0x40000000, 0x44000000], drom: [0x40000000, 0x44000000], extram: [0x48000000, 0x4c000000],
        ...unified([0x4ff00000, 0x4ffc0000]),
        rtcIram: [0x50108000, 0x50110000], rtcDram: [0x50108000, 0x50110000], tcm: [0x30100000, 0x30102000],
        romStackStart: 0x4ffbcfc0, bootloaderData: [0x4ffb5fc0, 0x4ffbafc0], loaderText: [0x4ffaefc0, 0x4ffb5fc0],
        pageConfigurable: false, maxFlashAddress: M32,
        build: { minRev: 301, maxRev: 399, legacyMinRev: 0, minEfuseBlk: 0, maxEfuseBlk: 199 },
      });
    case 0x0014: // ESP32-C61: no RTC memory
      return rules(id, false, {
        irom: [0x42000000, 0x44000000], drom: [0x42000000, 0x44000000],
        ...unified([0x40800000, 0x40850000]),
        romStackStart: 0x4084ea70, bootloaderData: [0x40845a70, 0x4084aa70], loaderText: [0x4083ea70, 0x40845a70],
        pageConfigurable: true, maxFlashAddress: M16,
        build: { minRev: 100, maxRev: 199, legacyMinRev: 0, minEfuseBlk: 0, maxEfuseBlk: 199 },
      });
    case 0x0017: // ESP32-C5
      return rules(id, false, {
        irom: [0x42000000, 0x44000000], drom: [0x42000000, 0x44000000],
        ...unified([0x40800000, 0x40860000]),
        rtcIram: [0x50000000, 0x50004000], rtcDram: [0x50000000, 0x50004000],
        romStackStart: 0x4085e5a0, bootloaderData: [0x408555a0, 0x4085a5a0], loaderText: [0x4084e5a0, 0x408555a0],
        pageConfigurable: false, maxFlashAddress: M32,
        build: { minRev: 100, maxRev: 199, legacyMinRev: 0, minEfuseBlk: 0, maxEfuseBlk: 99 },
      });
    case 0x0019: // ESP32-H21: _loader_text_start is ALIGN(16) of iram_loader_seg's origin 0x4083ba78
      return rules(id, false, {
        irom: [0x42000000, 0x43000000], drom: [0x42000000, 0x43000000],
        ...unified([0x40800000, 0x40850000]),
        rtcIram: [0x50000000, 0x50001000], rtcDram: [0x50000000, 0x50001000],
        romStackStart: 0x4084f380, bootloaderData: [0x40842a78, 0x40847a78], loaderText: [0x4083ba80, 0x40842a78],
        pageConfigurable: true, maxFlashAddress: M16,
        build: { minRev: 0, maxRev: 99, legacyMinRev: 0, minEfuseBlk: 0, maxEfuseBlk: 99 },
      });
    case 0x001c: // ESP32-H4: SOC_RTC_FAST_MEM_SUPPORTED is commented out in soc_caps.h
      return rules(id, false, {
        irom: [0x42000000, 0x44000000], drom: [0x42000000, 0x44000000],
        ...unified([0x40810000, 0x40860000]),
        romStackStart: 0x4085d350, bootloaderData: [0x40856350, 0x4085b350], loaderText: [0x4084f350, 0x40856350],
        pageConfigurable: true, maxFlashAddress: M16,
        build: { minRev: 0, maxRev: 99, legacyMinRev: 0, minEfuseBlk: 0, maxEfuseBlk: 99 },
      });
    case 0x0020: // ESP32-S31, from master 102122904a (soc/esp32s31, ld/esp32s31/bootloader.memory.ld.in)
      return rules(id, true, {
        irom: [0x40000000, 0x44000000], drom: [0x40000000, 0x44000000], extram: [0x50000000, 0x54000000],
        ...unified([0x2f000000, 0x2f080000]),
        rtcIram: [0x2e000000, 0x2e008000], rtcDram: [0x2e000000, 0x2e008000],
        romStackStart: 0x2f07cfb0, bootloaderData: [0x2f073fb0, 0x2f078fb0], loaderText: [0x2f06cfb0, 0x2f073fb0],
        pageConfigurable: true, maxFlashAddress: M32,
        build: { minRev: 0, maxRev: 99, legacyMinRev: 0, minEfuseBlk: 0, maxEfuseBlk: 99 },
      });
    default:
      return undefined;
  }
}

/** Chips whose SRAM has one address for code and data (SOC_IRAM == SOC_DRAM == both DIRAM ranges). */
function unified(ram: Span): Pick<ChipRules, "iram" | "dram" | "diramIram" | "diramDram" | "inverted"> {
  return { iram: ram, dram: ram, diramIram: ram, diramDram: ram, inverted: false };
}

// --- The rules, one function each.

function within(span: Span | undefined, address: number): boolean {
  return span !== undefined && address >= span[0] && address < span[1];
}

/** bootloader_util.h bootloader_util_regions_overlap: [s1, e1) and [s2, e2) share a byte. */
function overlaps(s1: number, e1: number, s2: number, e2: number): boolean {
  return e1 > s2 && e2 > s1;
}

/** E should_map: the segment is mapped from flash through the MMU (IROM, DROM, PSRAM), not copied. */
export function shouldMap(chip: ChipRules, address: number): boolean {
  return within(chip.irom, address) || within(chip.drom, address) || within(chip.extram, address);
}

/**
 * E should_load after a cold boot (not a deep-sleep wake-up, when RTC segments
 * are kept): copied into RAM unless mapped or below 0x10000000 (0 = esptool's
 * padding, 4 = reserved).
 */
export function shouldLoad(chip: ChipRules, address: number): boolean {
  return !shouldMap(chip, address) && address >= 0x10000000;
}

/** "0x400d0020" as ESP-IDF logs %08x. */
export function hex8(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
}

function version(rev: number): string {
  return `v${Math.floor(rev / 100)}.${rev % 100}`;
}

function isFieldSet(rev: number): boolean {
  return rev !== REV_UNSET && rev !== 0;
}

/**
 * B bootloader_common_check_chip_validity for an application image: the chip
 * id, then min_chip_rev_full (no IS_FIELD_SET: 0 always passes, 0xFFFF never
 * does) and max_chip_rev_full (only when set; the eFuse that disables the major
 * wafer version check is taken as not burned). Without a known revision only
 * the chip id is checked. An id no chip has is refused even when it equals
 * `chipId` (a caller without a board passes the image's own id; no bootloader
 * has it). Returns the refusal, or undefined.
 */
export function chipValidityProblem(header: Uint8Array, chipId: number, chipRevision: number | undefined): string | undefined {
  const found = readU16(header, 12);
  if (found !== chipId) return `Image is for ${chipName(found)}, this chip is ${chipName(chipId)} (ESP-IDF: "mismatch chip ID, expected ${chipId}, found ${found}")`;
  const unknown = unknownChipProblem(found);
  if (unknown) return unknown;
  if (chipRevision === undefined) return undefined;
  const min = readU16(header, 15);
  if (!(min <= chipRevision)) {
    return `Image needs chip revision ${version(min)} or later, this chip is ${version(chipRevision)} (ESP-IDF: "chip revision check failed. Required >= ${version(min)}, found ${version(chipRevision)}.")`;
  }
  const max = readU16(header, 17);
  if (isFieldSet(max) && chipRevision > max) {
    return `Image supports chip revisions up to ${version(max)}, this chip is ${version(chipRevision)} (ESP-IDF: "chip revision check failed. Required <= ${version(max)}, found ${version(chipRevision)}.")`;
  }
  return undefined;
}

/** B bootloader_common_check_efuse_blk_validity (not on ESP32): the app descriptor's eFuse block revision limits. */
export function efuseBlockProblem(min: number, max: number, revision: number): string | undefined {
  if (isFieldSet(min) && !(min <= revision)) {
    return `Image needs eFuse block revision ${version(min)} or later, this chip has ${version(revision)} (ESP-IDF: "Image requires efuse blk rev >= ${version(min)}, but chip is ${version(revision)}")`;
  }
  if (isFieldSet(max) && revision > max) {
    return `Image supports eFuse block revisions up to ${version(max)}, this chip has ${version(revision)} (ESP-IDF: "Image requires efuse blk rev <= ${version(max)}, but chip is ${version(revision)}")`;
  }
  return undefined;
}

/** E verify_segment_header, first test: a whole number of words, below ESP_IMAGE_MAX_FLASH_ADDR_SIZE. */
export function segmentLengthProblem(chip: ChipRules | undefined, index: number, length: number): string | undefined {
  if ((length & 3) !== 0) return `Segment ${index} length ${hex8(length)} is not a multiple of 4 (ESP-IDF: "invalid segment length 0x${length.toString(16)}")`;
  const limit = chip?.maxFlashAddress ?? M16;
  if (length >= limit) return `Segment ${index} length ${hex8(length)} is ${limit === M16 ? "16 MB" : "4 GB"} or more (ESP-IDF: "invalid segment length 0x${length.toString(16)}")`;
  return undefined;
}

/**
 * E verify_segment_header, last test: a mapped segment's data must sit at the
 * same offset within its flash page as its load address within its MMU page.
 * `flashAddress` is where the data is in flash (partition offset + file offset).
 */
export function mappingProblem(chip: ChipRules, index: number, loadAddress: number, flashAddress: number, fileOffset: number, pageSize: number): string | undefined {
  if (!shouldMap(chip, loadAddress) || flashAddress % pageSize === loadAddress % pageSize) return undefined;
  const page = pageSize >= 1024 ? `${pageSize / 1024} KB` : `${pageSize}-byte`;
  return `Segment ${index} load address ${hex8(loadAddress)} does not match its data offset ${hex8(fileOffset)} modulo the ${page} MMU page (ESP-IDF: "doesn't match data")`;
}

// esp_ptr_diram_dram_to_iram / esp_ptr_diram_iram_to_dram (bootloader_memory_utils.h).
function dramToIram(chip: ChipRules, p: number): number {
  return chip.inverted ? chip.diramIram[0] + (chip.diramDram[1] - p) - 4 : chip.diramIram[0] + (p - chip.diramDram[0]);
}
function iramToDram(chip: ChipRules, p: number): number {
  return chip.inverted ? chip.diramDram[0] + (chip.diramIram[1] - p) - 4 : chip.diramDram[0] + (p - chip.diramIram[0]);
}

/**
 * E verify_load_addresses (compiled into the bootloader only: esp_ota_end
 * never runs it). Checks that copying [start, end) does not clobber the
 * bootloader's stack, data or loader code, and lands in RAM it may load:
 * DRAM, IRAM (re-checked at their DIRAM alias, once), RTC fast/slow, TCM.
 * Returns ESP-IDF's log line ("Segment %d 0x%08x-0x%08x invalid: %s", with
 * the alias addresses after a recursion) or undefined.
 *
 * The stack test uses the live stack pointer, which only the running
 * bootloader knows. The 2nd-stage bootloader runs on the ROM's boot stack, and
 * by the time process_segment calls this it is a few calls deep (a few hundred
 * bytes to 1-2 KB), so sp = ROM_STACK_START - 2 KB: the protected region is
 * then at least as large as the real one for any call depth up to 2 KB.
 */
export function loadAddressProblem(chip: ChipRules, index: number, start: number, end: number, noRecurse = false): string | undefined {
  if (end === start) return undefined;
  const last = end - 1;
  const refuse = (reason: string) => `Segment ${index} ${hex8(start)}-${hex8(end)} invalid: ${reason}`;
  if (within(chip.dram, start) && within(chip.dram, last)) {
    const sp = chip.romStackStart - 0x800;
    if (overlaps(sp - STACK_LOAD_HEADROOM, chip.romStackStart, start, end)) return refuse("overlaps bootloader stack");
    if (overlaps(chip.bootloaderData[0], chip.bootloaderData[1], start, end)) return refuse("overlaps bootloader data");
    if (!noRecurse && overlaps(chip.diramDram[0], chip.diramDram[1], start, end)) {
      const a = dramToIram(chip, within(chip.diramDram, start) ? start : chip.diramDram[0]);
      const b = dramToIram(chip, within(chip.diramDram, last) ? end : chip.diramDram[1]);
      return b < a ? loadAddressProblem(chip, index, b, a, true) : loadAddressProblem(chip, index, a, b, true);
    }
    return undefined;
  }
  if (within(chip.iram, start) && within(chip.iram, last)) {
    if (overlaps(chip.loaderText[0], chip.loaderText[1], start, end)) return refuse("overlaps loader IRAM");
    if (!noRecurse && overlaps(chip.diramIram[0], chip.diramIram[1], start, end)) {
      // esp_ptr_in_diram_iram is compiled to false where IRAM and DRAM share addresses
      const inDiramIram = (p: number) => chip.diramIram[0] !== chip.diramDram[0] && within(chip.diramIram, p);
      const a = iramToDram(chip, inDiramIram(start) ? start : chip.diramIram[0]);
      const b = iramToDram(chip, inDiramIram(last) ? end : chip.diramIram[1]);
      return b < a ? loadAddressProblem(chip, index, b, a, true) : loadAddressProblem(chip, index, a, b, true);
    }
    return undefined;
  }
  if (within(chip.rtcIram, start) && within(chip.rtcIram, last)) return undefined;
  if (within(chip.rtcDram, start) && within(chip.rtcDram, last)) return undefined;
  if (within(chip.rtcSlow, start) && within(chip.rtcSlow, last)) return undefined;
  if (within(chip.tcm, start) && within(chip.tcm, last)) return undefined;
  return refuse("bad load address range");
}

/** loadAddressProblem's log line, worded for the user. */
function loadAddressMessage(chip: ChipRules, index: number, start: number, end: number, log: string): string {
  const where = `Segment ${index} loads to ${hex8(start)}-${hex8(end)}`;
  const what = log.endsWith("stack")
    ? "over the bootloader's stack"
    : log.endsWith("data")
      ? "over the bootloader's own data"
      : log.endsWith("loader IRAM")
        ? "over the bootloader's loader code"
        : `outside the ${chip.name} RAM the bootloader loads into`;
  return `${where}, ${what} (ESP-IDF: "${log}")`;
}

/** A problem worded as a refusal: who would refuse the image (the bootloader, or esp_ota_end in the app). */
export function refusal(problem: string, bootloader: boolean): string {
  return `${problem}; ${bootloader ? "the bootloader" : "esp_ota_end"} would refuse this image`;
}

// --- Checking an image as it streams in.

export interface ImageCheckOptions {
  /** esp_chip_id_t of the board (CONFIG_IDF_FIRMWARE_CHIP_ID of its bootloader and app). */
  chipId: number;
  /** efuse_hal_chip_revision() of the board (major * 100 + minor); when unknown the revision checks are left out. */
  chipRevision?: number;
  /** efuse_hal_blk_version() of the board; when unknown the eFuse block check is left out. */
  efuseBlockRevision?: number;
  /**
   * Check as the bootloader loading the image (ESP_IMAGE_LOAD, with
   * verify_load_addresses), not as esp_ota_end / esp_ota_set_boot_partition
   * (ESP_IMAGE_VERIFY in the app, where verify_load_addresses is compiled out).
   */
  bootloader?: boolean;
  /** part->size: the image (and its appended hash) must fit. */
  partitionSize?: number;
  /** part->offset, where the image starts in flash; only its remainder modulo the MMU page matters, and app partitions are 64 KB aligned. Default 0. */
  partitionOffset?: number;
  /** How many bytes there are to read (a download's Content-Length, a file's length); the image must end within them. */
  available?: number;
}

/** One segment, as the checker saw it: load address, data offset in the image, data length. */
export interface SegmentLayout {
  index: number;
  loadAddress: number;
  offset: number;
  length: number;
}

/**
 * Follows an image through its bytes, in order and in chunks of any size, and
 * stops at the first thing ESP-IDF would refuse, in ESP-IDF's order: header
 * (magic, chip, revision, segment count), then each segment header as it
 * arrives (length, app descriptor, mapping, load address, eFuse block), then
 * the image's end (checksum block and appended SHA-256) against the partition
 * and the bytes available. Bytes after the image's end (a secure-boot
 * signature block, padding) are allowed, as ESP-IDF allows them. It keeps no
 * image bytes beyond one segment header; the checksum and hash are not its job.
 */
export class ImageCheck {
  /** The first refusal, once there is one. */
  error: string | undefined;
  /** Offset just past the image (checksum block, then the SHA-256 when appended); -1 until the last segment header is read. */
  end = -1;
  /** Offset of the checksum byte; -1 until known. */
  checksumAt = -1;
  /** Told about each segment as its header is accepted (for whole-image layouts; the update session leaves it unset). */
  onSegment: ((segment: SegmentLayout) => void) | undefined;

  private readonly header = new Uint8Array(SEGMENT_HEADER_SIZE);
  private readonly chip: ChipRules | undefined;
  private readonly bootloader: boolean;
  private filled = 0;
  private at = 0;
  private next = IMAGE_HEADER_SIZE;
  private index = 0;
  private count = -1;
  private hashAppended = false;
  private pageSize = MMU_PAGE_SIZE;
  private descriptorMagic = 0;
  private descriptorPage = 0;
  private efuseMin = 0;
  private efuseMax = 0;

  private available: number | undefined;
  private partitionSize: number | undefined;

  constructor(private readonly options: ImageCheckOptions) {
    this.chip = chipRules(options.chipId);
    this.available = options.available;
    this.partitionSize = options.partitionSize;
    this.bootloader = options.bootloader === true;
  }

  /** True once a whole image lies within the bytes pushed so far. */
  get complete(): boolean {
    return this.error === undefined && this.end >= 0 && this.end <= this.at;
  }

  /** Forgets everything, for a download that starts over. */
  reset(): void {
    this.error = undefined;
    this.end = this.checksumAt = this.count = -1;
    this.filled = this.at = this.index = 0;
    this.next = IMAGE_HEADER_SIZE;
  }

  /**
   * Checks the image header and reads the app descriptor fields the rules need
   * from the image's first bytes (the 24-byte header, the 256-byte descriptor
   * after it, as far as the image has them). `limits` replaces the options'
   * available bytes and partition size for this image. Returns the refusal, if any.
   */
  start(head: Uint8Array, limits?: { available?: number; partitionSize?: number }): string | undefined {
    this.reset();
    if (limits) {
      this.available = limits.available;
      this.partitionSize = limits.partitionSize;
    }
    const chip = this.chip;
    const partitionSize = this.partitionSize;
    if (partitionSize !== undefined && partitionSize > (chip?.maxFlashAddress ?? M16)) {
      return this.refuse(`Partition size 0x${partitionSize.toString(16)} is larger than 16 MB (ESP-IDF: "partition size invalid, larger than 16MB")`);
    }
    if (head.length < IMAGE_HEADER_SIZE) return this.truncated("its header", IMAGE_HEADER_SIZE, head.length);
    if (head[0] !== IMAGE_MAGIC) return this.refuse(`Not an ESP32 app image: first byte 0x${head[0].toString(16).toUpperCase().padStart(2, "0")}, expected 0xE9 (ESP-IDF: "invalid magic byte")`);
    const chipProblem = chipValidityProblem(head, this.options.chipId, this.options.chipRevision);
    if (chipProblem) return this.refuse(chipProblem);
    this.count = head[1];
    if (this.count > ESP_IMAGE_MAX_SEGMENTS) {
      return this.refuse(`Image has ${this.count} segments, more than the ${ESP_IMAGE_MAX_SEGMENTS} ESP-IDF allows (ESP-IDF: "segment count ${this.count} exceeds max ${ESP_IMAGE_MAX_SEGMENTS}")`);
    }
    this.hashAppended = head[23] !== 0;
    // verify_segment_header reads these at segment 0's data (file offset 32) whatever its length.
    const desc = APP_DESC_OFFSET;
    const needed = chip?.pageConfigurable || (chip && chip.id !== 0 && this.options.efuseBlockRevision !== undefined) ? desc + APP_DESC_MMU_PAGE_SIZE + 4 : 0;
    if (this.count > 0 && head.length < needed) return this.truncated("its app descriptor", needed, head.length);
    if (needed > 0) {
      this.descriptorMagic = readU32(head, desc);
      this.descriptorPage = head[desc + APP_DESC_MMU_PAGE_SIZE];
      this.efuseMin = readU16(head, desc + APP_DESC_EFUSE_BLK_REV);
      this.efuseMax = readU16(head, desc + APP_DESC_EFUSE_BLK_REV + 2);
    }
    if (this.count === 0) this.finishSegments();
    return this.error;
  }

  /** Follows the next bytes of the image (every byte from offset 0, in order). Returns the refusal, if any. */
  push(chunk: Uint8Array): string | undefined {
    if (this.count < 0 && this.error === undefined) return this.refuse("The image was checked before its header was read");
    const length = chunk.length;
    while (this.error === undefined && this.index < this.count) {
      const at = this.next + this.filled - this.at; // next segment-header byte, within this chunk
      if (at >= length) break;
      while (this.filled < SEGMENT_HEADER_SIZE && this.filled + this.next - this.at < length) {
        this.header[this.filled] = chunk[this.next + this.filled - this.at];
        this.filled++;
      }
      if (this.filled < SEGMENT_HEADER_SIZE) break;
      this.segment(readU32(this.header, 0), readU32(this.header, 4));
    }
    this.at += length;
    return this.error;
  }

  /** At the end of the bytes: the refusal, or undefined when a whole image was in the first `received` bytes. */
  finish(received: number): string | undefined {
    if (this.error !== undefined) return this.error;
    if (this.count < 0) return this.refuse("The image was checked before its header was read");
    if (this.index < this.count) {
      // the last segment read runs past the bytes, or the next one's header does
      return this.next > received ? this.truncated(`segment ${this.index - 1}`, this.next, received) : this.truncated(`segment ${this.index}'s header`, this.next + SEGMENT_HEADER_SIZE, received);
    }
    if (this.end > received) return this.truncated(this.hashAppended ? "its appended SHA-256" : "its checksum", this.end, received);
    return undefined;
  }

  /** process_segment for the header just read. */
  private segment(loadAddress: number, length: number): void {
    const o = this.options;
    const chip = this.chip;
    const index = this.index;
    const offset = this.next + SEGMENT_HEADER_SIZE;
    this.filled = 0;
    const lengthProblem = segmentLengthProblem(chip, index, length);
    if (lengthProblem) return void this.refuse(lengthProblem);
    if (chip) {
      if (index === 0 && chip.pageConfigurable) {
        if (this.descriptorMagic !== APP_DESC_MAGIC) {
          return void this.refuse(`Segment 0 does not start with an app descriptor (esp_app_desc_t), which ${chip.name} images need for their MMU page size (ESP-IDF: "Failed to fetch app description header!")`);
        }
        // 1 << byte in C; a byte of 32 or more is undefined there, RISC-V's sll uses byte & 31
        this.pageSize = this.descriptorPage > 0 ? 2 ** (this.descriptorPage & 31) : MMU_PAGE_SIZE;
      }
      const mapping = mappingProblem(chip, index, loadAddress, (o.partitionOffset ?? 0) + offset, offset, this.pageSize);
      if (mapping) return void this.refuse(mapping);
      if (o.bootloader && length > 0 && shouldLoad(chip, loadAddress)) {
        const log = loadAddressProblem(chip, index, loadAddress, loadAddress + length);
        if (log) return void this.refuse(loadAddressMessage(chip, index, loadAddress, loadAddress + length, log));
      }
      if (index === 0 && chip.id !== 0 && o.efuseBlockRevision !== undefined) {
        const efuse = efuseBlockProblem(this.efuseMin, this.efuseMax, o.efuseBlockRevision);
        if (efuse) return void this.refuse(efuse);
      }
    }
    const dataEnd = offset + length;
    if (this.beyond(`segment ${index}`, dataEnd)) return;
    this.onSegment?.({ index, loadAddress, offset, length });
    this.next = dataEnd;
    this.index++;
    if (this.index === this.count) this.finishSegments();
    else this.beyond(`segment ${this.index}`, this.next + SEGMENT_HEADER_SIZE);
  }

  /** process_segments' end, process_checksum and process_appended_hash_and_sig: where the image ends. */
  private finishSegments(): void {
    if ((this.options.partitionOffset ?? 0) + this.next > M32) return void this.refuse(`Image runs past the end of the flash address space (ESP-IDF: "image offset has wrapped")`);
    const blockEnd = (Math.floor(this.next / 16) + 1) * 16; // the checksum is the last byte of the next 16-byte block
    this.checksumAt = blockEnd - 1;
    const end = blockEnd + (this.hashAppended ? 32 : 0);
    if (this.beyond(this.hashAppended ? "its appended SHA-256" : "its checksum", end)) return;
    this.end = end;
  }

  /** Refuses an image that needs more than the partition or the bytes available; true when it did. */
  private beyond(what: string, needed: number): boolean {
    const { partitionSize, available } = this;
    if (partitionSize !== undefined && needed > partitionSize) {
      this.refuse(`Image does not fit its partition: ${what} ends at byte ${needed}, the partition holds ${partitionSize} (ESP-IDF: "doesn't fit in partition length ${partitionSize}")`);
      return true;
    }
    if (available !== undefined && needed > available) {
      this.truncated(what, needed, available);
      return true;
    }
    return false;
  }

  private truncated(what: string, needed: number, have: number): string {
    this.error ??= `Image is truncated: ${what} needs ${needed} bytes, but the image has ${have}`;
    return this.error;
  }

  private refuse(problem: string): string {
    this.error ??= refusal(problem, this.bootloader);
    return this.error;
  }
}

/** An image's layout once the rules accept it. */
export interface ImageLayout {
  segments: SegmentLayout[];
  checksumAt: number;
  /** Offset just past the image (the checksum block, then the SHA-256 when appended). */
  end: number;
  hashAppended: boolean;
}

/**
 * Checks a whole image (or a whole partition starting with one) with the
 * streaming rules; the bytes after the image's end are not looked at.
 * `available` defaults to the bytes given.
 */
export function checkImage(bytes: Uint8Array, options: ImageCheckOptions): ImageLayout | string {
  const check = new ImageCheck({ ...options, available: options.available ?? bytes.length });
  const segments: SegmentLayout[] = [];
  check.onSegment = (s) => segments.push(s);
  const problem = check.start(bytes.subarray(0, Math.min(bytes.length, APP_DESC_OFFSET + APP_DESC_SIZE))) ?? check.push(bytes) ?? check.finish(bytes.length);
  if (problem !== undefined) return problem;
  return { segments, checksumAt: check.checksumAt, end: check.end, hashAppended: bytes[23] !== 0 };
}

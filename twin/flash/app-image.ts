// Finds and checks an app image inside a flash partition, the way ESP-IDF's
// esp_image_format.c walks it: header, segment headers, checksum block, then
// the appended SHA-256 when the header says so. The rules are
// modules/core/esp-image-rules.ts (the same the device's update session
// applies); tools/esp-image.ts verifyImageLayout adds the checksum and hash.
import { createHash } from "node:crypto";
import { parseAppDescriptor, parseImageHeader, type AppDescriptor, type ImageHeader } from "../../modules/core/image";
import type { ImageLayout } from "../../modules/core/esp-image-rules";
import type { XsVersion } from "../../modules/core/mods/archive";
import { BEHAVIOUR_TAG, verifyImageLayout } from "../../tools/esp-image";
import type { FlashFile } from "./flash-file";
import type { Partition } from "./partition-table";

export interface AppInfo {
  header: ImageHeader;
  descriptor: AppDescriptor;
  /** Image length in bytes. */
  size: number;
  /** MD5 (lowercase hex) of the image bytes. */
  md5: string;
  /**
   * What this firmware does on the twin when it is not the plain demo app: the
   * tag tools/esp-image.ts writes at the start of a segment ("no-wifi": never
   * brings the station up, so it fails its start-up check; "crash": resets
   * before it can be confirmed; "xs=16.7.0": built with another XS than the
   * twin's default, see firmwareXs). Several are separated by commas.
   */
  behaviour?: string;
}

export interface VerifyMode {
  /** esp_chip_id_t of the emulated chip (CONFIG_IDF_FIRMWARE_CHIP_ID). */
  chipId: number;
  /** Its revision, major * 100 + minor (efuse_hal_chip_revision). */
  chipRevision: number;
  /**
   * Verify as the bootloader loading the image (ESP_IMAGE_LOAD: this project's
   * sdkconfig turns CONFIG_BOOTLOADER_SKIP_VALIDATE_ALWAYS off, so it validates),
   * with the checks only the bootloader makes (verify_load_addresses is
   * BOOTLOADER_BUILD only); else as esp_ota_end / esp_ota_set_boot_partition (ESP_IMAGE_VERIFY).
   */
  bootloader?: boolean;
}

/** Verifies the image in `partition`; returns its facts or the reason it would not boot. */
export function readApp(flash: FlashFile, partition: Partition, mode: VerifyMode): AppInfo | string {
  const bytes = flash.read(partition.offset, partition.size);
  const layout = verifyImageLayout(bytes, { ...mode, partitionSize: partition.size, partitionOffset: partition.offset });
  if (typeof layout === "string") return layout;
  const image = bytes.subarray(0, layout.end);
  const header = parseImageHeader(image);
  const descriptor = parseAppDescriptor(image);
  if (!descriptor) return "app descriptor (esp_app_desc_t) missing";
  const info: AppInfo = { header, descriptor, size: layout.end, md5: createHash("md5").update(image).digest("hex") };
  const behaviour = behaviourOf(image, layout);
  if (behaviour) info.behaviour = behaviour;
  return info;
}

/** The behaviour tag at the start of one of the image's segments, if any. */
function behaviourOf(image: Uint8Array, layout: ImageLayout): string | undefined {
  const tag = new TextEncoder().encode(BEHAVIOUR_TAG);
  for (const { offset, length } of layout.segments) {
    if (length < tag.length || !tag.every((b, i) => image[offset + i] === b)) continue;
    const end = image.indexOf(0, offset + tag.length);
    return new TextDecoder().decode(image.subarray(offset + tag.length, end < 0 ? offset + length : Math.min(end, offset + length)));
  }
  return undefined;
}

/** The behaviour tag names `word` ("no-wifi", "crash"). */
export function behaves(app: AppInfo, word: string): boolean {
  return (app.behaviour ?? "").split(",").includes(word);
}

/** The XS version the firmware was built with, when its tag says ("xs=16.7.0"); undefined: the twin's default. */
export function firmwareXs(app: AppInfo): XsVersion | undefined {
  for (const word of (app.behaviour ?? "").split(",")) {
    const m = /^xs=(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(word);
    if (m) return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
  }
  return undefined;
}

/** The behaviour tag for `words` and an XS version (tools/esp-image.ts BuildOptions.behaviour). */
export function behaviourTag(words: readonly string[], xs?: XsVersion): string | undefined {
  const all = [...words, ...(xs ? [`xs=${xs.major}.${xs.minor}.${xs.patch}`] : [])];
  return all.length ? all.join(",") : undefined;
}

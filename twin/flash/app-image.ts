// Finds and checks an app image inside a flash partition, the way the
// bootloader's esp_image_verify walks it: header, segment headers, checksum
// block, then the appended SHA-256 when the header says so. The check itself is
// tools/esp-image.ts imageLength/verifyImage (a port of esp_image_format.c's rules).
import { createHash } from "node:crypto";
import { parseAppDescriptor, parseImageHeader, type AppDescriptor, type ImageHeader } from "../../modules/core/image";
import { BEHAVIOUR_TAG, imageLayout, imageLength, verifyImage } from "../../tools/esp-image";
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
   * before it can be confirmed).
   */
  behaviour?: string;
}

export interface VerifyMode {
  /** Also the checks only the bootloader makes (verify_load_addresses in esp_image_format.c is BOOTLOADER_BUILD only). */
  bootloader?: boolean;
}

/** Verifies the image in `partition`; returns its facts or the reason it would not boot. */
export function readApp(flash: FlashFile, partition: Partition, chipId?: number, _mode: VerifyMode = {}): AppInfo | string {
  const bytes = flash.read(partition.offset, partition.size);
  const length = imageLength(bytes);
  if (typeof length === "string") return length;
  const image = bytes.subarray(0, length);
  const problem = verifyImage(image);
  if (problem) return problem;
  const header = parseImageHeader(image);
  // esp_image_format.c verify_image_header: "mismatch chip ID, expected %d, found %d"
  if (chipId !== undefined && header.chipId !== chipId) return `mismatch chip ID, expected ${chipId}, found ${header.chipId}`;
  const descriptor = parseAppDescriptor(image);
  if (!descriptor) return "app descriptor (esp_app_desc_t) missing";
  const info: AppInfo = { header, descriptor, size: length, md5: createHash("md5").update(image).digest("hex") };
  const behaviour = behaviourOf(image);
  if (behaviour) info.behaviour = behaviour;
  return info;
}

/** The behaviour tag at the start of one of the image's segments, if any. */
function behaviourOf(image: Uint8Array): string | undefined {
  const layout = imageLayout(image);
  if (typeof layout === "string") return undefined;
  const tag = new TextEncoder().encode(BEHAVIOUR_TAG);
  for (const [offset, length] of layout.segments) {
    if (length < tag.length || !tag.every((b, i) => image[offset + i] === b)) continue;
    const end = image.indexOf(0, offset + tag.length);
    return new TextDecoder().decode(image.subarray(offset + tag.length, end < 0 ? offset + length : Math.min(end, offset + length)));
  }
  return undefined;
}

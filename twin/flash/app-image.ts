// Finds and checks an app image inside a flash partition, the way the
// bootloader's esp_image_verify walks it: header, segment headers, checksum
// block, then the appended SHA-256 when the header says so. The check itself is
// tools/esp-image.ts imageLength/verifyImage (a port of esp_image_format.c's rules).
import { createHash } from "node:crypto";
import { parseAppDescriptor, parseImageHeader, type AppDescriptor, type ImageHeader } from "../../modules/core/image";
import { imageLength, verifyImage } from "../../tools/esp-image";
import type { FlashFile } from "./flash-file";
import type { Partition } from "./partition-table";

export interface AppInfo {
  header: ImageHeader;
  descriptor: AppDescriptor;
  /** Image length in bytes. */
  size: number;
  /** MD5 (lowercase hex) of the image bytes. */
  md5: string;
}

/** Verifies the image in `partition`; returns its facts or the reason it would not boot. */
export function readApp(flash: FlashFile, partition: Partition, chipId?: number): AppInfo | string {
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
  return { header, descriptor, size: length, md5: createHash("md5").update(image).digest("hex") };
}

// Finds and checks an app image inside a flash partition, the way the
// bootloader's esp_image_verify walks it: header, segment headers, checksum
// block, then the appended SHA-256 when the header says so. The check itself is
// tools/esp-image.ts verifyImage (a port of esp_image_format.c's rules).
import { createHash } from "node:crypto";
import { IMAGE_HEADER_SIZE, SEGMENT_HEADER_SIZE, parseAppDescriptor, parseImageHeader, type AppDescriptor, type ImageHeader } from "../../modules/core/image";
import { verifyImage } from "../../tools/esp-image";
import type { FlashFile } from "./flash-file";
import type { Partition } from "./partition-table";

/** Length of the image at the start of `bytes` (checksum block and hash included), or an error text. */
export function imageLength(bytes: Uint8Array): number | string {
  let header: ImageHeader;
  try {
    header = parseImageHeader(bytes);
  } catch (error) {
    return (error as Error).message;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = IMAGE_HEADER_SIZE;
  for (let s = 0; s < header.segmentCount; s++) {
    if (at + SEGMENT_HEADER_SIZE > bytes.length) return `segment ${s} header is outside the partition`;
    at += SEGMENT_HEADER_SIZE + view.getUint32(at + 4, true);
    if (at > bytes.length) return `segment ${s} runs past the partition`;
  }
  const end = at + (15 - (at % 16)) + 1 + (header.hashAppended ? 32 : 0);
  return end <= bytes.length ? end : "image runs past the partition";
}

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

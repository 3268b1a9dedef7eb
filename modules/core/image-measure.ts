// The running image's length and MD5, as the ESP32 core's ESP.getSketchSize()
// and getSketchMD5() give them to HTTPUpdate (x-ESP32-sketch-size / -md5):
// walk the header and segment headers to the end of the image (checksum block,
// then the appended SHA-256 when the header says so; esp_image_format.c
// process_checksum / process_appended_hash), then hash that many bytes. Reads
// go through the host (flash on a board, a file in the simulator) in 4 KB
// pieces into one buffer: nothing grows with the image.
import type { Digest } from "./ports";
import { readU32, toHex } from "./bytes";
import { IMAGE_HEADER_SIZE, IMAGE_MAGIC, SEGMENT_HEADER_SIZE } from "./image";

/** Fills `into` with the partition's bytes from `offset`. */
export type PartitionReader = (offset: number, into: Uint8Array) => void;

const PIECE = 4096;
/** esp_image_format.c ESP_IMAGE_MAX_SEGMENTS. */
const MAX_SEGMENTS = 16;

/** Image length from its headers, or undefined when the partition holds no image that fits it. */
export function imageEnd(read: PartitionReader, partitionSize: number): number | undefined {
  const header = new Uint8Array(IMAGE_HEADER_SIZE);
  if (partitionSize < IMAGE_HEADER_SIZE) return undefined;
  read(0, header);
  if (header[0] !== IMAGE_MAGIC || header[1] > MAX_SEGMENTS) return undefined;
  const segment = header.subarray(0, SEGMENT_HEADER_SIZE);
  let at = IMAGE_HEADER_SIZE;
  for (let s = header[1]; s > 0; s--) {
    if (at + SEGMENT_HEADER_SIZE > partitionSize) return undefined;
    read(at, segment);
    at += SEGMENT_HEADER_SIZE + readU32(segment, 4);
  }
  const end = at + (16 - (at % 16)) + (header[23] === 1 ? 32 : 0);
  return end <= partitionSize ? end : undefined;
}

/** { size, md5 } of the image at the start of a partition; undefined when there is none. */
export function measureImage(read: PartitionReader, partitionSize: number, md5: Digest): { size: number; md5: string } | undefined {
  const size = imageEnd(read, partitionSize);
  if (size === undefined) return undefined;
  const piece = new Uint8Array(PIECE);
  for (let at = 0; at < size; at += PIECE) {
    const part = size - at < PIECE ? piece.subarray(0, size - at) : piece;
    read(at, part);
    md5.write(part);
  }
  return { size, md5: toHex(md5.close()) };
}

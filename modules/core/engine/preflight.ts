// Pre-flight checks: everything that can refuse an image before the first
// byte is written (and the update slot erased): the response head (size,
// checksums) and the image's own 24-byte header (magic, chip).
import type { HttpResponseHead } from "../ports";
import { isHex } from "../bytes";
import { IMAGE_HEADER_SIZE, ImageFormatError, chipName, parseImageHeader } from "../image";
import { formatSize, modTooLarge, tooLarge, wrongChip } from "../messages";
import type { UpdateKind } from "../updater-api";
import { flashSizeProblem } from "../flash-size";

export interface HeadLimits {
  /** Bytes the update slot holds. */
  capacity: number;
  /** Refuse a response without x-MD5. */
  requireMd5: boolean;
  /** An app mod's capacity is a mod slot's, and said so. Default firmware. */
  kind?: UpdateKind;
}

export interface AcceptedHead {
  size: number;
  /** Lowercase hex, when the server sent them. */
  md5?: string;
  sha256?: string;
}

/** Checks a 200 response head for a firmware (or app mod) download. */
export function checkHead(head: HttpResponseHead, limits: HeadLimits): AcceptedHead | { error: string } {
  const length = head.headers.get("content-length");
  const encoding = head.headers.get("transfer-encoding");
  if (encoding !== undefined && encoding.toLowerCase() !== "identity") return { error: "Server sent the image without a size (chunked transfer); a Content-Length is required" };
  if (length === undefined) return { error: "Server did not report the image size (no Content-Length)" };
  if (!/^\d{1,10}$/.test(length.trim())) return { error: `Server sent an invalid Content-Length (${length.slice(0, 20)})` };
  const size = Number(length.trim());
  if (size === 0) return { error: "Server sent an empty image (Content-Length 0)" };
  if (size < IMAGE_HEADER_SIZE) return { error: `Image is ${formatSize(size)}, too small to be firmware` };
  if (size > limits.capacity) return { error: limits.kind === "mod" ? modTooLarge(size, limits.capacity) : tooLarge(size, limits.capacity) };
  const md5 = head.headers.get("x-md5")?.trim();
  if (md5 === undefined) {
    if (limits.requireMd5) return { error: "Server sent no MD5 checksum (x-MD5 header)" };
  } else if (!isHex(md5, 32)) return { error: "Server sent a malformed MD5 checksum (x-MD5 needs 32 hex digits)" };
  const sha256 = head.headers.get("x-sha256")?.trim();
  if (sha256 !== undefined && !isHex(sha256, 64)) return { error: "Server sent a malformed SHA-256 checksum (x-SHA256 needs 64 hex digits)" };
  return { size, md5: md5?.toLowerCase(), sha256: sha256?.toLowerCase() };
}

/** Checks the first 24 bytes of the image against the running chip and its flash; an error text or undefined. */
export function checkImageHeader(header: Uint8Array, runningChipId: number, boardFlashSize?: number): string | undefined {
  try {
    const parsed = parseImageHeader(header);
    if (parsed.chipId !== runningChipId) return wrongChip(chipName(parsed.chipId), chipName(runningChipId));
    return flashSizeProblem(header[3], "esp32", boardFlashSize);
  } catch (error) {
    return error instanceof ImageFormatError ? error.message : String(error);
  }
}

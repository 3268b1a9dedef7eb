// Builds ESP32 app images that carry an esp_app_desc_t, in plain typed-array
// writes (engine-neutral, for core tests on Node and in XS): image.ts's layout
// (header, segment 0 in DROM starting with the 256-byte descriptor at offset 32,
// two small RAM segments, the checksum) with every descriptor field filled. Layout:
// ESP-IDF esp_app_format.h / esp_app_desc.h (as modules/core/image.ts reads it).
import { crc32Le } from "../../twin/flash/crc32";
import { APP_DESC_MAGIC, APP_DESC_OFFSET } from "../../modules/core/image";
import { utf8Encode } from "../../modules/core/bytes";
import { buildImage, resealImage } from "./image";

export interface AppImageOptions {
  size: number;
  version: string;
  projectName?: string;
  secureVersion?: number;
  chipId?: number;
  seed?: number;
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}

function putString(b: Uint8Array, at: number, field: number, text: string): void {
  const bytes = utf8Encode(text);
  if (bytes.length >= field) throw new Error(`"${text}" does not fit in ${field - 1} bytes`);
  b.fill(0, at, at + field);
  b.set(bytes, at);
}

export function buildAppImage(o: AppImageOptions): Uint8Array {
  // image.ts lays out the segments (segment 0 in DROM starts with the descriptor) and the checksum
  const image = buildImage({ size: o.size, chipId: o.chipId, seed: o.seed, version: o.version, projectName: o.projectName ?? "ota-device" });
  const d = APP_DESC_OFFSET;
  put32(image, d, APP_DESC_MAGIC);
  put32(image, d + 4, o.secureVersion ?? 0);
  putString(image, d + 16, 32, o.version);
  putString(image, d + 48, 32, o.projectName ?? "ota-device");
  putString(image, d + 80, 16, "10:55:15");
  putString(image, d + 96, 16, "Nov 22 2026");
  putString(image, d + 112, 32, "v5.4.1");
  return resealImage(image);
}

/**
 * The same image as `espsecure sign-data --version 2` leaves it: padded with
 * 0xFF to a 4 KB boundary, then a 4 KB signature sector whose first block has
 * the magic 0xE7, version 0x02, the SHA-256 of the padded image, placeholder key
 * and signature bytes and a valid CRC32 over its first 1196 bytes; the rest of
 * the sector 0xFF (espsecure/__init__.py sign_secure_boot_v2; ESP-IDF
 * ets_secure_boot_sig_block_t). The key and signature are not a real RSA pair:
 * nothing here checks Espressif's signature, only that ours leaves it alone.
 * tools/espsecure-v2.ts makes a real one on Node.
 */
export function appendEspSignatureSector(image: Uint8Array, sha256: (bytes: Uint8Array) => Uint8Array): Uint8Array {
  const padded = Math.ceil(image.length / 4096) * 4096;
  const out = new Uint8Array(padded + 4096).fill(0xff);
  out.set(image, 0);
  const block = out.subarray(padded, padded + 1216);
  block.fill(0);
  block[0] = 0xe7;
  block[1] = 0x02;
  block.set(sha256(out.subarray(0, padded)), 4);
  for (let i = 36; i < 1196; i++) block[i] = (i * 31) & 0xff;
  put32(block, 1196, crc32Le(0, block.subarray(0, 1196))); // zlib's CRC-32: what espsecure stores and esp_rom_crc32_le(0, ...) checks
  return out;
}

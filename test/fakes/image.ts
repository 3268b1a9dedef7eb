// Builds small ESP32 app images in plain typed-array writes (engine-neutral,
// unlike tools/esp-image.ts): a valid 24-byte header and deterministic filler.
import { APP_DESC_MAGIC, APP_DESC_OFFSET, CHIP_IDS } from "../../modules/core/image";
import { utf8Encode } from "../../modules/core/bytes";

export interface TestImageOptions {
  size: number;
  /** esp_chip_id_t, default ESP32 (0). */
  chipId?: number;
  /** First byte, default 0xE9. */
  magic?: number;
  /** Varies the filler so two images differ. */
  seed?: number;
  /** Writes an esp_app_desc_t with this version (and projectName) after the first segment header. */
  version?: string;
  projectName?: string;
}

export function buildImage(options: TestImageOptions): Uint8Array {
  const out = new Uint8Array(options.size);
  let x = (options.seed ?? 1) * 2654435761 >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  if (out.length >= 24) {
    out[0] = options.magic ?? 0xe9;
    out[1] = 4; // segments
    out[2] = 2; // SPI mode DIO
    out[3] = 0x20; // 4 MB, 40 MHz
    out.set([0x1c, 0x11, 0x08, 0x40], 4); // entry 0x4008111c
    const chip = options.chipId ?? CHIP_IDS.ESP32;
    out[12] = chip & 0xff;
    out[13] = chip >> 8;
    for (let i = 14; i < 23; i++) out[i] = 0;
    out[23] = 0; // no appended SHA-256
  }
  if (options.version !== undefined) {
    if (out.length < APP_DESC_OFFSET + 256) throw new Error("an image with an app descriptor needs 288 bytes or more");
    const d = APP_DESC_OFFSET;
    out.fill(0, d, d + 256);
    new DataView(out.buffer).setUint32(d, APP_DESC_MAGIC, true);
    out.set(utf8Encode(options.version), d + 16);
    out.set(utf8Encode(options.projectName ?? "ota-demo"), d + 48);
  }
  return out;
}

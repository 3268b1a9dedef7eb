// Builds small ESP32 app images in plain typed-array writes (engine-neutral,
// unlike tools/esp-image.ts): a valid 24-byte header and deterministic filler.
import { CHIP_IDS } from "../../modules/core/image";

export interface TestImageOptions {
  size: number;
  /** esp_chip_id_t, default ESP32 (0). */
  chipId?: number;
  /** First byte, default 0xE9. */
  magic?: number;
  /** Varies the filler so two images differ. */
  seed?: number;
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
  return out;
}

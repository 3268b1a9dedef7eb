// One decision, shared by the device's pre-flight and the update server's:
// an image whose header says it was built for more flash than the board has is
// refused, for ESP32 and ESP8266 alike, before a byte is written or sent.
//
// Why refuse on ESP32, where ESP-IDF v6.0 would start it: the app's header
// size only matters there with CONFIG_SPI_FLASH_SIZE_OVERRIDE
// (components/spi_flash/esp_flash_spi_init.c, esp_flash_init_default_chip),
// but an image built for a 16 MB board was built with that board's partition
// table and filesystem offsets in mind: on a 4 MB board it is the wrong build.
// On ESP8266 the core itself refuses it after the download
// (cores/esp8266/Updater.cpp _verifyEnd, ESP8266httpUpdate.cpp "New Binary
// Does Not Fit Flash Size"), so the server saves the transfer.
//
// Byte 3's high nibble encodes the size differently per family:
// - ESP32 (esp_image_spi_size_t, esp_app_format.h): 0 = 1 MB, 1 = 2 MB ... 7 = 128 MB;
// - ESP8266 (Esp.cpp magicFlashChipSize): 0 = 512 KB, 1 = 256 KB, 2 = 1 MB, 3 = 2 MB,
//   4 = 4 MB, 8 = 8 MB, 9 = 16 MB, anything else 0 (unknown: passes, as in the core).
import { formatSize } from "./messages";

export type ImageFamily = "esp32" | "esp8266";

const MB = 1024 * 1024;
const ESP8266_SIZES = [0x80000, 0x40000, MB, 2 * MB, 4 * MB, 0, 0, 0, 8 * MB, 16 * MB];

/** Flash size byte 3 of an image header declares, in bytes; 0 when the code is unknown. */
export function declaredFlashSize(headerByte3: number, family: ImageFamily): number {
  const code = (headerByte3 >> 4) & 0x0f;
  if (family === "esp8266") return ESP8266_SIZES[code] ?? 0;
  return code <= 7 ? MB << code : 0;
}

/** Why the board cannot take this image, or undefined. boardFlashSize 0 or unknown: no refusal. */
export function flashSizeProblem(headerByte3: number, family: ImageFamily, boardFlashSize: number | undefined): string | undefined {
  const declared = declaredFlashSize(headerByte3, family);
  if (!declared || !boardFlashSize || declared <= boardFlashSize) return undefined;
  return `Image is built for ${formatSize(declared)} of flash, this board has ${formatSize(boardFlashSize)}`;
}

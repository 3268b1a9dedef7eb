// Our native module for esp32 builds: modules/moddable/esp32/system.js + system.c.

declare module "esp32-system" {
  /** esp_restart(); never returns. */
  export function restart(): void;
  /** Label of the running app partition, e.g. "ota_0"; undefined if unknown. */
  export function runningPartition(): string | undefined;
  /** CONFIG_IDF_FIRMWARE_CHIP_ID: the chip id app image headers carry. */
  export function chipId(): number;
  export function flashSize(): number;
  export function idfVersion(): string;
}

// Our native module for esp32 builds: modules/moddable/esp32/system.js + system.c.

declare module "esp32-system" {
  /** esp_restart(); never returns. */
  export function restart(): void;
  /** Label of the running app partition, e.g. "ota_0"; undefined if unknown. */
  export function runningPartition(): string | undefined;
  /** CONFIG_IDF_FIRMWARE_CHIP_ID: the chip id app image headers carry. */
  export function chipId(): number;
  /** efuse_hal_chip_revision(): major * 100 + minor, as min/max_chip_rev_full in image headers. */
  export function chipRevision(): number;
  export function flashSize(): number;
  export function idfVersion(): string;
  /** 0 = the running app slot, 1 = the other one (esp_ota_get_next_update_partition). */
  type Slot = 0 | 1;
  export function slotLabel(which: Slot): string;
  /** esp_ota_get_state_partition in kebab case ("undefined" when the slot has no otadata entry). */
  export function slotState(which: Slot): import("../core/ports").OtaImageState;
  /** esp_app_desc_t: [version, project name, secure_version]; undefined when the slot holds no app. */
  export function slotApp(which: Slot): [string, string, number] | undefined;
  /** esp_ota_check_rollback_is_possible(). */
  export function rollbackPossible(): boolean;
  /** esp_ota_mark_app_valid_cancel_rollback(); throws on failure. */
  export function markValid(): void;
  /** esp_ota_mark_app_invalid_rollback_and_reboot(): returns only by throwing. */
  export function markInvalidAndReboot(): void;
  /** esp_ota_set_boot_partition(other); throws when its image does not verify. */
  export function bootOther(): void;
  /** The slot partition's size in bytes. */
  export function slotSize(which: Slot): number;
  /** esp_partition_read into the whole of `buffer` from `offset`; throws on failure. */
  export function slotRead(which: Slot, offset: number, buffer: Uint8Array): void;
  /** Mod partitions (type 0x40) by label: "xs" (subtype 1, the one XS maps), "xs_a", "xs_b". Each throws when there is no such partition or ESP-IDF fails. */
  export function modPartitionSize(label: string): number;
  /** The partition's erase_size (4096). */
  export function modPartitionBlockSize(label: string): number;
  /** esp_partition_erase_range: offset and length on erase_size boundaries. */
  export function modPartitionErase(label: string, offset: number, length: number): void;
  /** esp_partition_read into the whole of `buffer`. */
  export function modPartitionRead(label: string, offset: number, buffer: Uint8Array): void;
  /** esp_partition_write of the whole of `buffer`. */
  export function modPartitionWrite(label: string, offset: number, buffer: Uint8Array): void;
}

// The app-side half of ESP-IDF's OTA support on the emulated flash, ported
// from components/app_update/esp_ota_ops.c (with CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
// as this project's sdkconfig sets it, or without, as Moddable's default):
// - esp_ota_get_state_partition, esp_ota_get_next_update_partition;
// - esp_ota_set_boot_partition: image_validate, then esp_rewrite_ota_data writes
//   the next seq into the OTHER sector with set_new_state_otadata() (NEW or UNDEFINED);
// - esp_ota_current_ota_is_workable(true/false) behind esp_ota_mark_app_valid_cancel_rollback
//   and esp_ota_mark_app_invalid_rollback_and_reboot: they rewrite the ACTIVE
//   entry (highest valid seq) in place, VALID or INVALID; invalid only when
//   esp_ota_check_rollback_is_possible();
// - esp_ota_check_rollback_is_possible: the entry in the other sector must be
//   valid and its slot's image must verify.
import { readApp, type AppInfo } from "./app-image";
import type { DeviceFlash } from "./device-flash";
import { OtaState, activeEntry, entryValid, nextBootEntry, slotOfSeq, slotState } from "./otadata";

export interface EspOtaOptions {
  /** esp_chip_id_t of the emulated chip. */
  chipId: number;
  /** Its revision, major * 100 + minor (efuse_hal_chip_revision). */
  chipRevision: number;
  /** CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE in the app's sdkconfig. */
  rollback: boolean;
}

export class OtaError extends Error {
  override name = "OtaError";
}

export class EspOta {
  constructor(
    private readonly flash: DeviceFlash,
    /** Index of the running slot (esp_ota_get_running_partition). */
    readonly runningSlot: number,
    private readonly options: EspOtaOptions,
  ) {}

  get slotCount(): number {
    return this.flash.slots.length;
  }

  /** esp_ota_get_next_update_partition(NULL): the slot after the running one. */
  get nextSlot(): number {
    return (this.runningSlot + 1) % this.slotCount;
  }

  /** esp_ota_get_state_partition; undefined for ESP_ERR_NOT_FOUND. */
  state(slot: number): number | undefined {
    return slotState(this.flash.readOtadata(), slot, this.slotCount);
  }

  /** esp_image_verify(ESP_IMAGE_VERIFY) of a slot, as the app runs it (no load-address checks): its facts, or why it does not verify. */
  image(slot: number): AppInfo | string {
    return readApp(this.flash.chip, this.flash.slots[slot], { chipId: this.options.chipId, chipRevision: this.options.chipRevision });
  }

  /** esp_ota_begin's refusal while the running app is unconfirmed (ESP_ERR_OTA_ROLLBACK_INVALID_STATE). */
  checkBegin(): void {
    if (this.options.rollback && this.state(this.runningSlot) === OtaState.PENDING_VERIFY) {
      throw new OtaError("Running app has not confirmed state (ESP_OTA_IMG_PENDING_VERIFY) (ESP_ERR_OTA_ROLLBACK_INVALID_STATE)");
    }
  }

  /** esp_ota_set_boot_partition(slot). */
  setBootPartition(slot: number): void {
    const image = this.image(slot);
    if (typeof image === "string") throw new OtaError(`image does not verify: ${image} (ESP_ERR_OTA_VALIDATE_FAILED)`);
    const { sector, entry } = nextBootEntry(this.flash.readOtadata(), slot, this.slotCount, this.options.rollback);
    this.flash.writeOtadata(sector, entry);
  }

  /** esp_ota_check_rollback_is_possible, for a table without a factory app. */
  rollbackPossible(): boolean {
    const entries = this.flash.readOtadata();
    const active = activeEntry(entries);
    if (active === -1) return false;
    const last = active ^ 1;
    if (!entryValid(entries[last])) return false;
    const slot = slotOfSeq(entries[last].seq, this.slotCount);
    return typeof this.image(slot) !== "string";
  }

  /** esp_ota_mark_app_valid_cancel_rollback. */
  markValid(): void {
    const entries = this.flash.readOtadata();
    const active = activeEntry(entries);
    if (active === -1) throw new OtaError("Running firmware is factory (ESP_FAIL)");
    if (entries[active].state === OtaState.VALID) return;
    this.flash.writeOtadata(active, { ...entries[active], state: OtaState.VALID });
  }

  /** esp_ota_mark_app_invalid_rollback_and_reboot, up to (not including) esp_restart. */
  markInvalid(): void {
    const entries = this.flash.readOtadata();
    const active = activeEntry(entries);
    if (active === -1) throw new OtaError("Running firmware is factory (ESP_FAIL)");
    if (!this.rollbackPossible()) throw new OtaError("Rollback is not possible, do not have any suitable apps in slots (ESP_ERR_OTA_ROLLBACK_FAILED)");
    this.flash.writeOtadata(active, { ...entries[active], state: OtaState.INVALID });
  }
}

// BootControl over the emulated esp_ota_ops (twin/flash/esp-ota.ts): the same
// calls the board's native esp32-system functions make, on the twin's flash.
import type { BootControl, SlotInfo } from "../../modules/core/ports";
import type { AppInfo } from "../flash/app-image";
import type { EspOta } from "../flash/esp-ota";
import type { DeviceFlash } from "../flash/device-flash";
import { OtaState, stateName } from "../flash/otadata";

export class TwinBootControl implements BootControl {
  constructor(
    private readonly flash: DeviceFlash,
    private readonly ota: EspOta,
    private readonly runningApp: AppInfo,
    /** Resets the twin (esp_restart). */
    private readonly restart: () => void,
  ) {}

  running(): SlotInfo {
    const slot = this.ota.runningSlot;
    return { partition: this.flash.slots[slot].label, app: appOf(this.runningApp), state: stateName(this.ota.state(slot)), bootable: true };
  }

  other(): SlotInfo {
    const slot = this.ota.nextSlot;
    const state = this.ota.state(slot);
    const image = this.ota.image(slot);
    const info: SlotInfo = { partition: this.flash.slots[slot].label, state: stateName(state), bootable: false };
    if (typeof image === "string") return info;
    info.app = appOf(image);
    // As the board's adapter (modules/moddable/boot-esp32.ts): esp_ota_check_rollback_is_possible too.
    info.bootable = state !== OtaState.INVALID && state !== OtaState.ABORTED && this.ota.rollbackPossible();
    return info;
  }

  markValid(): void {
    this.ota.markValid();
  }

  markInvalidAndRestart(): void {
    this.ota.markInvalid();
    this.restart();
  }

  bootOther(): void {
    this.ota.setBootPartition(this.ota.nextSlot);
  }
}

function appOf(app: AppInfo): NonNullable<SlotInfo["app"]> {
  return { version: app.descriptor.version, projectName: app.descriptor.projectName, secureVersion: app.descriptor.secureVersion };
}

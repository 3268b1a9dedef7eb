// BootControl over our native esp32-system functions (esp32/system.c): the
// running image's otadata state and app descriptor, the other slot, and
// ESP-IDF's confirm / reject / switch calls (esp_ota_ops.c).
import { bootOther, markInvalidAndReboot, markValid, rollbackPossible, slotApp, slotLabel, slotState } from "esp32-system";
import type { BootControl, SlotInfo } from "../core/ports";

function slot(which: 0 | 1): SlotInfo {
  const info: SlotInfo = { partition: slotLabel(which), state: slotState(which), bootable: which === 0 };
  const app = slotApp(which);
  if (app) info.app = { version: app[0], projectName: app[1], secureVersion: app[2] };
  return info;
}

export class Esp32BootControl implements BootControl {
  running(): SlotInfo {
    return slot(0);
  }

  other(): SlotInfo {
    const info = slot(1);
    // esp_ota_check_rollback_is_possible verifies the image of the entry before the active one:
    // the other slot, unless its entry is invalid, aborted or never written.
    info.bootable = info.app !== undefined && info.state !== "invalid" && info.state !== "aborted" && rollbackPossible();
    return info;
  }

  markValid(): void {
    markValid();
  }

  markInvalidAndRestart(): void {
    markInvalidAndReboot();
  }

  bootOther(): void {
    bootOther();
  }
}

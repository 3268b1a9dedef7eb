// The second-stage bootloader's choice of app, on the emulated flash, ported
// from ESP-IDF components/bootloader_support/src/bootloader_utility.c:
// - bootloader_utility_get_selected_boot_partition: with
//   CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE, first every PENDING_VERIFY entry
//   becomes ABORTED (the app did not confirm before this reset), then the valid
//   entry with the highest seq picks the slot, and a NEW one becomes
//   PENDING_VERIFY (each change is write_otadata: erase the sector, program the entry);
// - bootloader_utility_load_boot_image: tries that slot and, if its image does
//   not load, works backwards to the first slot and then forwards through the
//   rest; booting from blank otadata writes {seq = slot + 1, VALID} to sector 0
//   (set_actual_ota_seq).
// Loading validates the image (ESP_IMAGE_LOAD: this project's sdkconfig turns
// CONFIG_BOOTLOADER_SKIP_VALIDATE_ALWAYS off), with the bootloader-only
// load-address checks (app-image.ts readApp, modules/core/esp-image-rules.ts).
import type { AppInfo } from "./app-image";
import { readApp } from "./app-image";
import type { DeviceFlash } from "./device-flash";
import { OtaState, initialEntry, selectBootSlot, slotOfSeq } from "./otadata";
import type { Partition } from "./partition-table";

export interface BootResult {
  slot: number;
  partition: Partition;
  app: AppInfo;
  /** Slots tried and rejected, with the reason (as the bootloader logs them). */
  rejected: Array<{ slot: number; reason: string }>;
  /** Slots whose PENDING_VERIFY entry this boot marked ABORTED. */
  aborted: number[];
}

export interface BootOptions {
  /** esp_chip_id_t of the chip. */
  chipId: number;
  /** Its revision, major * 100 + minor (efuse_hal_chip_revision). */
  chipRevision: number;
  /** The bootloader was built with CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE. */
  rollback: boolean;
}

export class NoBootableApp extends Error {
  override name = "NoBootableApp";
}

export function boot(flash: DeviceFlash, options: BootOptions): BootResult {
  const count = flash.slots.length;
  const entries = flash.readOtadata();
  const aborted: number[] = [];
  if (options.rollback) {
    for (let i = 0; i < 2; i++) {
      if (entries[i].state !== OtaState.PENDING_VERIFY) continue;
      entries[i] = { ...entries[i], state: OtaState.ABORTED };
      flash.writeOtadata(i, entries[i]);
      aborted.push(slotOfSeq(entries[i].seq, count));
    }
  }
  const selection = selectBootSlot(entries, count);
  const active = selection.activeSector;
  if (options.rollback && active !== -1 && entries[active].state === OtaState.NEW) {
    flash.writeOtadata(active, { ...entries[active], state: OtaState.PENDING_VERIFY });
  }
  const order: number[] = [];
  for (let i = selection.slot; i >= 0; i--) order.push(i);
  for (let i = selection.slot + 1; i < count; i++) order.push(i);
  const rejected: BootResult["rejected"] = [];
  for (const slot of order) {
    const app = readApp(flash.chip, flash.slots[slot], { chipId: options.chipId, chipRevision: options.chipRevision, bootloader: true });
    if (typeof app === "string") {
      rejected.push({ slot, reason: app });
      continue;
    }
    if (selection.initial) flash.writeOtadata(0, initialEntry(slot));
    return { slot, partition: flash.slots[slot], app, rejected, aborted };
  }
  throw new NoBootableApp(`No bootable app partitions in the partition table (${rejected.map((r) => `${flash.slots[r.slot].label}: ${r.reason}`).join("; ")})`);
}

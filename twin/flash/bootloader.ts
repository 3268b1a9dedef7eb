// The second-stage bootloader's choice of app, on the emulated flash:
// bootloader_utility_get_selected_boot_partition picks a slot from otadata,
// bootloader_utility_load_boot_image tries it and, if its image does not
// verify, works backwards to the first slot and then forwards through the rest
// (ESP-IDF components/bootloader_support/src/bootloader_utility.c). Booting from
// blank otadata writes {seq = slot + 1, VALID} to sector 0 (set_actual_ota_seq).
import type { AppInfo } from "./app-image";
import { readApp } from "./app-image";
import type { DeviceFlash } from "./device-flash";
import { initialEntry, selectBootSlot } from "./otadata";
import type { Partition } from "./partition-table";

export interface BootResult {
  slot: number;
  partition: Partition;
  app: AppInfo;
  /** Slots tried and rejected, with the reason (as the bootloader logs them). */
  rejected: Array<{ slot: number; reason: string }>;
}

export class NoBootableApp extends Error {
  override name = "NoBootableApp";
}

export function boot(flash: DeviceFlash, chipId: number): BootResult {
  const count = flash.slots.length;
  const selection = selectBootSlot(flash.readOtadata(), count);
  const order: number[] = [];
  for (let i = selection.slot; i >= 0; i--) order.push(i);
  for (let i = selection.slot + 1; i < count; i++) order.push(i);
  const rejected: BootResult["rejected"] = [];
  for (const slot of order) {
    const app = readApp(flash.chip, flash.slots[slot], chipId);
    if (typeof app === "string") {
      rejected.push({ slot, reason: app });
      continue;
    }
    if (selection.initial) flash.writeOtadata(0, initialEntry(slot));
    return { slot, partition: flash.slots[slot], app, rejected };
  }
  throw new NoBootableApp(`No bootable app partitions in the partition table (${rejected.map((r) => `${flash.slots[r.slot].label}: ${r.reason}`).join("; ")})`);
}

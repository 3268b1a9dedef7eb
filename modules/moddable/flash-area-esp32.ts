// FlashArea over the board's mod partitions (sdkconfig/partitions.csv, type 0x40):
// "xs", the one XS maps at VM creation, and the slots "xs_a", "xs_b". Native
// functions of esp32-system (esp32/system.c: esp_partition_erase_range, _read,
// _write; "xs" found as xsHost.c finds it, the slots by label). Not the SDK's
// ECMA-419 flash (modules/io/flash/esp32/flash-esp32.c): its open({path})
// finds "xs" but looks any other label up as a data partition, so it cannot
// open a slot of type 0x40. Every call throws on an ESP-IDF error.
import { modPartitionBlockSize, modPartitionErase, modPartitionRead, modPartitionSize, modPartitionWrite } from "esp32-system";
import type { FlashArea, ModFlash } from "../core/ports";

export class PartitionFlashArea implements FlashArea {
  readonly label: string;
  readonly size: number;
  readonly blockSize: number;

  /** Throws when the partition table has no such mod partition. */
  constructor(label: string) {
    this.label = label;
    this.size = modPartitionSize(label);
    this.blockSize = modPartitionBlockSize(label);
  }

  erase(offset: number, length: number): void {
    modPartitionErase(this.label, offset, length);
  }

  write(offset: number, bytes: Uint8Array): void {
    modPartitionWrite(this.label, offset, bytes);
  }

  read(offset: number, into: Uint8Array): void {
    modPartitionRead(this.label, offset, into);
  }
}

/** The board's mod partitions; throws on a board flashed with a table without them. */
export function esp32ModFlash(): ModFlash {
  return { active: new PartitionFlashArea("xs"), slots: [new PartitionFlashArea("xs_a"), new PartitionFlashArea("xs_b")] };
}

// The FlashArea and ModFlash ports over the twin's emulated chip: one
// partition each, addressed from its start, as esp_partition_read / _write /
// _erase_range address it. Every erase and write goes to the FlashFile, so the
// chip's NOR rules hold (erase whole 4 KB sectors to 0xFF, a write only clears
// bits) and an armed power cut (FlashFile.armPowerCut, Twin.cutPower) stops a
// mod's erase or write half done as it stops an OTA write.
import type { FlashArea, ModFlash } from "../../modules/core/ports";
import { SECTOR_SIZE, type FlashFile } from "./flash-file";
import { SUBTYPE_XS, SUBTYPE_XS_A, SUBTYPE_XS_B, TYPE_MODS, findPartition, type Partition } from "./partition-table";

export class PartitionArea implements FlashArea {
  readonly label: string;
  readonly size: number;
  readonly blockSize = SECTOR_SIZE;

  constructor(
    private readonly chip: FlashFile,
    readonly partition: Partition,
  ) {
    this.label = partition.label;
    this.size = partition.size;
  }

  /** esp_partition_*: ESP_ERR_INVALID_SIZE outside the partition. */
  private bounds(what: string, offset: number, length: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new Error(`${this.label}: ${what} of ${offset}+${length} is outside the ${this.size}-byte partition`);
    }
  }

  erase(offset: number, length: number): void {
    this.bounds("erase", offset, length);
    if (offset % SECTOR_SIZE !== 0 || length % SECTOR_SIZE !== 0) throw new Error(`${this.label}: erase of ${offset}+${length} is not sector aligned`);
    this.chip.erase(this.partition.offset + offset, length);
  }

  write(offset: number, bytes: Uint8Array): void {
    this.bounds("write", offset, bytes.length);
    this.chip.write(this.partition.offset + offset, bytes);
  }

  read(offset: number, into: Uint8Array): void {
    this.bounds("read", offset, into.length);
    into.set(this.chip.read(this.partition.offset + offset, into.length));
  }
}

/** `xs` (0x40/1) and the slots `xs_a`, `xs_b` (0x40/2, 0x40/3); undefined when the table lacks one (a flash made before mods). */
export function modFlashOf(chip: FlashFile, partitions: readonly Partition[]): ModFlash | undefined {
  const [xs, a, b] = [SUBTYPE_XS, SUBTYPE_XS_A, SUBTYPE_XS_B].map((subtype) => findPartition(partitions, TYPE_MODS, subtype));
  if (!xs || !a || !b) return undefined;
  return { active: new PartitionArea(chip, xs), slots: [new PartitionArea(chip, a), new PartitionArea(chip, b)] };
}

/** The flash region the mod partitions cover (for a power cut counting only mod operations). */
export function modRegion(flash: ModFlash): { offset: number; length: number } {
  const areas = [flash.active, ...flash.slots] as PartitionArea[];
  const start = Math.min(...areas.map((a) => a.partition.offset));
  const end = Math.max(...areas.map((a) => a.partition.offset + a.partition.size));
  return { offset: start, length: end - start };
}

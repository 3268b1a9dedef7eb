// The twin's flash as the ESP-IDF sees it: partition table at 0x8000, the
// otadata partition's two select entries, the OTA app slots. Provisioning
// writes what `idf.py flash` would: the table and an app in ota_0, otadata erased.
// The mod partitions (`xs`, `xs_a`, `xs_b`) start erased, as after a flash.
import type { ModFlash } from "../../modules/core/ports";
import { FlashFile, SECTOR_SIZE } from "./flash-file";
import { modFlashOf } from "./flash-area";
import { DEMO_TABLE, PARTITION_TABLE_OFFSET, MAX_PARTITION_LENGTH, SUBTYPE_DATA_NVS, SUBTYPE_DATA_OTA, buildPartitionTable, findData, otaSlots, parsePartitionTable, type Partition } from "./partition-table";
import { OTADATA_SECTOR, OTA_SELECT_ENTRY_SIZE, decodeEntry, encodeEntry, type OtaSelectEntry } from "./otadata";

export class DeviceFlash {
  readonly partitions: Partition[];
  readonly otadata: Partition;
  readonly slots: Partition[];
  readonly nvs: Partition | undefined;
  /** `xs` and its two slots; undefined on a flash file whose table predates them. */
  readonly mods: ModFlash | undefined;

  constructor(readonly chip: FlashFile) {
    this.partitions = parsePartitionTable(chip.read(PARTITION_TABLE_OFFSET, MAX_PARTITION_LENGTH));
    const otadata = findData(this.partitions, SUBTYPE_DATA_OTA);
    if (!otadata || otadata.size < 2 * OTADATA_SECTOR) throw new Error("partition table has no otadata partition");
    this.otadata = otadata;
    this.slots = otaSlots(this.partitions);
    if (this.slots.length < 2) throw new Error("partition table needs two OTA app slots");
    this.nvs = findData(this.partitions, SUBTYPE_DATA_NVS);
    this.mods = modFlashOf(chip, this.partitions);
  }

  /**
   * Opens the flash file; when it is new (or `fresh`), writes the partition table,
   * `firstApp` into ota_0 and leaves otadata erased, like a serial flash of a
   * table without a factory app.
   */
  static open(path: string, options: { fresh?: boolean; firstApp: () => Uint8Array; table?: readonly Partition[] }): DeviceFlash {
    const chip = new FlashFile(path, undefined, options.fresh);
    const table = chip.read(PARTITION_TABLE_OFFSET, 2);
    if (table[0] === 0xff && table[1] === 0xff) {
      chip.write(PARTITION_TABLE_OFFSET, buildPartitionTable(options.table ?? DEMO_TABLE));
      const flash = new DeviceFlash(chip);
      const app = options.firstApp();
      if (app.length > flash.slots[0].size) throw new Error("first app does not fit ota_0");
      chip.erase(flash.slots[0].offset, Math.ceil(app.length / SECTOR_SIZE) * SECTOR_SIZE);
      chip.write(flash.slots[0].offset, app);
      return flash;
    }
    return new DeviceFlash(chip);
  }

  readOtadata(): [OtaSelectEntry, OtaSelectEntry] {
    const at = this.otadata.offset;
    return [decodeEntry(this.chip.read(at, OTA_SELECT_ENTRY_SIZE)), decodeEntry(this.chip.read(at + OTADATA_SECTOR, OTA_SELECT_ENTRY_SIZE))];
  }

  /** write_otadata / rewrite_ota_seq: erase the sector, then program the entry. */
  writeOtadata(sector: number, entry: OtaSelectEntry): void {
    const at = this.otadata.offset + sector * OTADATA_SECTOR;
    this.chip.erase(at, OTADATA_SECTOR);
    this.chip.write(at, encodeEntry(entry));
  }

  close(): void {
    this.chip.close();
  }
}

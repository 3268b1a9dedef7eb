// The OtaWriter port over the emulated flash, with esp_ota_ops.c semantics
// (ESP-IDF components/app_update/esp_ota_ops.c):
// - target: esp_ota_get_next_update_partition(running), the slot after the running one;
// - begin(size): esp_ota_begin refuses while the running app is PENDING_VERIFY (with
//   rollback), then erases the sectors covering `size` (sector granular);
// - write: appends; the first byte must be the image magic 0xE9 (esp_ota_write's
//   "OTA image has invalid magic byte" check);
// - complete: esp_ota_end verifies the written image (esp_image_verify, chip id
//   included), then esp_ota_set_boot_partition (esp-ota.ts) verifies it again and
//   rewrites otadata (state NEW with rollback);
// - abort: esp_ota_abort only forgets the handle; nothing on flash changes.
import type { OtaWriter } from "../../modules/core/ports";
import type { DeviceFlash } from "./device-flash";
import type { EspOta } from "./esp-ota";
import { SECTOR_SIZE } from "./flash-file";
import type { Partition } from "./partition-table";

export type OtaWriterState = "idle" | "open" | "completed" | "aborted" | "failed";

export class FlashOtaWriter implements OtaWriter {
  state: OtaWriterState = "idle";
  private declared = 0;
  private offset = 0;
  readonly targetSlot: number;
  readonly target: Partition;

  constructor(
    private readonly flash: DeviceFlash,
    private readonly ota: EspOta,
  ) {
    this.targetSlot = ota.nextSlot;
    this.target = flash.slots[this.targetSlot];
  }

  get capacity(): number {
    return this.target.size;
  }

  /** Bytes written in the open session. */
  get written(): number {
    return this.offset;
  }

  begin(size: number): void {
    if (this.state === "open") throw new Error("esp_ota_begin: an OTA session is already open (ESP_ERR_OTA_PARTITION_CONFLICT)");
    if (!Number.isInteger(size) || size <= 0) throw new Error(`esp_ota_begin: bad image size ${size} (ESP_ERR_INVALID_ARG)`);
    if (size > this.capacity) throw new Error(`esp_ota_begin: ${size} bytes do not fit ${this.target.label} (${this.capacity} bytes) (ESP_ERR_INVALID_SIZE)`);
    this.ota.checkBegin();
    this.flash.chip.erase(this.target.offset, Math.ceil(size / SECTOR_SIZE) * SECTOR_SIZE);
    this.declared = size;
    this.offset = 0;
    this.state = "open";
  }

  write(chunk: Uint8Array): void {
    if (this.state !== "open") throw new Error(`esp_ota_write while ${this.state} (ESP_ERR_INVALID_ARG)`);
    if (chunk.length === 0) return;
    if (this.offset === 0 && chunk[0] !== 0xe9) {
      this.state = "failed";
      throw new Error(`OTA image has invalid magic byte (expected 0xE9, saw 0x${chunk[0].toString(16).padStart(2, "0")}) (ESP_ERR_OTA_VALIDATE_FAILED)`);
    }
    if (this.offset + chunk.length > this.declared) throw new Error(`esp_ota_write past the ${this.declared} bytes begun (ESP_ERR_INVALID_SIZE)`);
    this.flash.chip.write(this.target.offset + this.offset, chunk);
    this.offset += chunk.length;
  }

  complete(): void {
    if (this.state !== "open") throw new Error(`esp_ota_end while ${this.state} (ESP_ERR_NOT_FOUND)`);
    this.state = "failed"; // esp_ota_end frees the handle whatever happens
    if (this.offset !== this.declared) throw new Error(`esp_ota_end after ${this.offset} of ${this.declared} bytes (ESP_ERR_OTA_VALIDATE_FAILED)`);
    const app = this.ota.image(this.targetSlot);
    if (typeof app === "string") throw new Error(`esp_ota_end: image does not verify: ${app} (ESP_ERR_OTA_VALIDATE_FAILED)`);
    this.ota.setBootPartition(this.targetSlot);
    this.state = "completed";
  }

  abort(): void {
    if (this.state === "open") this.state = "aborted";
  }
}

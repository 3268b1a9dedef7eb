// Simulator stand-in for embedded:update: the lin build has no flash, no `ota`
// and no `embedded:update`. The image goes into the next slot's file through
// ECMA-419 files (sim-flash.ts). Like esp_ota_end, complete() refuses an image
// that is short or lacks the 0xE9 magic, and only then moves the boot
// selection (state "new", as esp_ota_set_boot_partition writes with rollback);
// abort() deletes the partial slot. Like esp_ota_begin, begin() refuses while
// the running image is still pending verification.

import { files, type FileHandle } from "./files-root";
import type { OtaWriter } from "../core/ports";
import { IMAGE_MAGIC } from "../core/image";
import type { SimFlash } from "./sim-flash";

export class FileOtaWriter implements OtaWriter {
  readonly capacity: number;
  #flash: SimFlash;
  #file: FileHandle | undefined;
  #expected = 0;
  #written = 0;
  #first = -1;

  /** capacity defaults to ota_1 of the board's table (sdkconfig/partitions.csv). */
  constructor(flash: SimFlash, capacity = 0x1d0000) {
    this.#flash = flash;
    this.capacity = capacity;
  }

  begin(size: number): void {
    this.abort();
    if (size > this.capacity) throw new RangeError("New Binary Does Not Fit Flash Size");
    if (this.#flash.slot(this.#flash.running()).state === "pending-verify") throw new Error("Running app has not confirmed state (ESP_ERR_OTA_ROLLBACK_INVALID_STATE)");
    const label = this.#flash.next();
    this.#flash.setState(label, "undefined"); // erased, as esp_ota_begin erases: whatever the slot held is gone
    this.#file = files.openFile({ path: this.#flash.slotFile(label), mode: "w" }); // truncates what the slot held
    this.#expected = size;
    this.#written = 0;
    this.#first = -1;
  }

  write(chunk: Uint8Array): void {
    const file = this.#file;
    if (!file) throw new Error("OTA write without begin");
    if (this.#written + chunk.byteLength > this.#expected) throw new RangeError("image larger than announced");
    if (chunk.byteLength === 0) return;
    if (this.#written === 0) this.#first = chunk[0];
    file.write(chunk, this.#written); // a view is written in place (xsmcGetBufferWritable)
    this.#written += chunk.byteLength;
  }

  complete(): void {
    const file = this.#file;
    if (!file) throw new Error("OTA complete without begin");
    this.#file = undefined;
    file.close();
    const label = this.#flash.next();
    if (this.#written !== this.#expected || this.#first !== IMAGE_MAGIC) {
      this.#flash.remove(this.#flash.slotFile(label));
      throw new Error(this.#written !== this.#expected ? `image incomplete: ${this.#written} of ${this.#expected} bytes` : "image magic is not 0xE9");
    }
    this.#flash.setBoot(label);
  }

  abort(): void {
    const file = this.#file;
    if (!file) return;
    this.#file = undefined;
    file.close();
    this.#flash.remove(this.#flash.slotFile(this.#flash.next()));
  }
}

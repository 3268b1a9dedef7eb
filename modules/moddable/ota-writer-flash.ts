// OtaWriter over ECMA-419 `embedded:update` on the "nextota" flash partition
// (modules/io/update/esp32/update-esp32.c, modules/io/flash/esp32/flash-esp32.c).
// Append mode: esp_ota_begin(OTA_WITH_SEQUENTIAL_WRITES) erases sector by
// sector as data arrives, so a refused image costs no full-slot erase.
// complete() runs esp_ota_end (image verification) and then switches the boot
// partition; close() before that aborts and leaves otadata alone.

import Flash from "embedded:storage/flash";
import OTA from "embedded:update";
import type { OtaWriter } from "../core/ports";

/** What this writer uses of an embedded:update instance (Uint8Array satisfies both our and the SDK's typings). */
interface Update {
  write(buffer: Uint8Array): void;
  complete(): void;
  close(): void;
}

export class FlashOtaWriter implements OtaWriter {
  #update: Update | undefined;
  #expected = 0;
  #written = 0;

  get capacity(): number {
    const partition = Flash.open({ path: "nextota", mode: "r" });
    try {
      return partition.status().size;
    } finally {
      partition.close();
    }
  }

  begin(size: number): void {
    this.abort();
    if (size > this.capacity) throw new RangeError("New Binary Does Not Fit Flash Size");
    const partition = Flash.open({ path: "nextota" });
    try {
      this.#update = OTA.open({ partition, mode: "a" });
    } finally {
      partition.close();
    }
    this.#expected = size;
    this.#written = 0;
  }

  write(chunk: Uint8Array): void {
    const update = this.#update;
    if (!update) throw new Error("OTA write without begin");
    if (this.#written + chunk.byteLength > this.#expected) throw new RangeError("image larger than announced");
    update.write(chunk);
    this.#written += chunk.byteLength;
  }

  complete(): void {
    const update = this.#update;
    if (!update) throw new Error("OTA complete without begin");
    if (this.#written !== this.#expected) throw new RangeError(`image incomplete: ${this.#written} of ${this.#expected} bytes`);
    try {
      update.complete();
    } finally {
      this.#update = undefined;
      update.close();
    }
  }

  abort(): void {
    const update = this.#update;
    this.#update = undefined;
    update?.close();
  }
}

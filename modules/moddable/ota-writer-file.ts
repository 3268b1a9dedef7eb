// Simulator stand-in for the OTA slots: the lin build has no flash, no `ota`
// and no `embedded:update`. Two files play ota_0/ota_1 and a third plays
// otadata (the boot selection). Like esp_ota_end, complete() refuses an image
// that is short or lacks the 0xE9 magic, and only then moves the boot
// selection; abort() deletes the partial slot.

import { File } from "file";
import type { OtaWriter } from "../core/ports";

const SLOTS = ["ota_0", "ota_1"];
const IMAGE_MAGIC = 0xe9;

export class FileOtaWriter implements OtaWriter {
  readonly capacity: number;
  #prefix: string;
  #file: File | undefined;
  #expected = 0;
  #written = 0;
  #first = -1;

  /** prefix: path prefix of the three files, e.g. "/tmp/ota-sim-"; capacity defaults to ota_1 of the autosplit 4 MB table. */
  constructor(prefix: string, capacity = 0x1fe000) {
    this.#prefix = prefix;
    this.capacity = capacity;
  }

  /** Label of the slot otadata selects ("ota_0" until an update completes). */
  running(): string {
    const path = this.#prefix + "otadata";
    if (!File.exists(path)) return SLOTS[0];
    const file = new File(path);
    try {
      const label = file.read(String).trim();
      return SLOTS.includes(label) ? label : SLOTS[0];
    } finally {
      file.close();
    }
  }

  next(): string {
    return this.running() === SLOTS[0] ? SLOTS[1] : SLOTS[0];
  }

  /** Path of a slot's image file, for inspection. */
  slotPath(label: string): string {
    return `${this.#prefix}${label}.bin`;
  }

  begin(size: number): void {
    this.abort();
    if (size > this.capacity) throw new RangeError("New Binary Does Not Fit Flash Size");
    const path = this.slotPath(this.next());
    File.delete(path); // File(path, true) opens "rb+" and would keep old bytes past the new end
    this.#file = new File(path, true);
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
    // The lin file module writes ArrayBuffers only, not views.
    const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
    file.write(whole ? (chunk.buffer as ArrayBuffer) : chunk.slice().buffer);
    this.#written += chunk.byteLength;
  }

  complete(): void {
    const file = this.#file;
    if (!file) throw new Error("OTA complete without begin");
    this.#file = undefined;
    file.close();
    const label = this.next();
    if (this.#written !== this.#expected || this.#first !== IMAGE_MAGIC) {
      File.delete(this.slotPath(label));
      throw new Error(this.#written !== this.#expected ? `image incomplete: ${this.#written} of ${this.#expected} bytes` : "image magic is not 0xE9");
    }
    const otadata = this.#prefix + "otadata";
    File.delete(otadata);
    const selection = new File(otadata, true);
    selection.write(label);
    selection.close();
  }

  abort(): void {
    const file = this.#file;
    if (!file) return;
    this.#file = undefined;
    file.close();
    File.delete(this.slotPath(this.next()));
  }
}

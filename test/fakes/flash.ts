// A byte-exact emulated flash: two OTA app slots and the otadata boot
// selection, with an OtaWriter that behaves like esp_ota_begin/write/end +
// esp_ota_set_boot_partition. Tests compare bytes to prove the running image
// and the boot partition are unchanged after a failure.
import type { BootControl, OtaImageState, OtaWriter, SlotInfo } from "../../modules/core/ports";
import { parseAppDescriptor } from "../../modules/core/image";

export const SECTOR = 4096;

export interface FakeFlashOptions {
  /** Bytes per OTA slot (the update capacity). */
  slotSize: number;
  /** The running firmware, written into slot 0 (which is also the boot slot). */
  runningImage: Uint8Array;
  /** Make the writer throw: at begin, on the write that would pass byte `offset`, or at complete. */
  fail?: { at: "begin" } | { at: "write"; offset: number } | { at: "complete" };
  /** otadata state of the running image. Default "valid". */
  runningState?: OtaImageState;
  /** The other slot holds this (bootable) image to begin with. */
  otherImage?: Uint8Array;
}

/** "failed": complete() threw (esp_ota_end frees the handle whatever happens). */
export type WriterState = "idle" | "open" | "completed" | "aborted" | "failed";

export class FakeFlash {
  readonly slots: [Uint8Array, Uint8Array];
  /** Slot the device booted from (never changes until a restart). */
  readonly running = 0;
  /** otadata: slot the bootloader will start next. */
  bootSlot = 0;
  /** otadata state of each slot's entry. */
  readonly states: [OtaImageState, OtaImageState];
  /** Whether each slot holds a whole image that verifies (esp_image_verify). */
  readonly intact: [boolean, boolean];
  readonly writer: FakeOtaWriter;
  readonly boot: FakeBootControl;

  constructor(readonly options: FakeFlashOptions) {
    if (options.runningImage.length > options.slotSize) throw new Error("running image larger than a slot");
    this.slots = [new Uint8Array(options.slotSize).fill(0xff), new Uint8Array(options.slotSize).fill(0xff)];
    this.slots[0].set(options.runningImage);
    this.states = [options.runningState ?? "valid", "undefined"];
    this.intact = [true, false];
    if (options.otherImage) {
      this.slots[1].set(options.otherImage);
      this.intact[1] = true;
      this.states[1] = "valid";
    }
    this.writer = new FakeOtaWriter(this);
    this.boot = new FakeBootControl(this);
  }

  /** The slot an update writes to. */
  get nextSlot(): number {
    return 1 - this.running;
  }

  /** True when slot 0 still holds exactly the running image and the boot selection still points at it. */
  untouched(): boolean {
    if (this.bootSlot !== this.running) return false;
    const img = this.options.runningImage;
    const slot = this.slots[this.running];
    for (let i = 0; i < img.length; i++) if (slot[i] !== img[i]) return false;
    return true;
  }

  /** The first `length` bytes of the update slot. */
  written(length: number): Uint8Array {
    return this.slots[this.nextSlot].slice(0, length);
  }
}

export class FakeOtaWriter implements OtaWriter {
  state: WriterState = "idle";
  declaredSize = 0;
  offset = 0;
  begins = 0;
  erasedBytes = 0;
  largestWrite = 0;
  writes = 0;

  constructor(private readonly flash: FakeFlash) {}

  get capacity(): number {
    return this.flash.options.slotSize;
  }

  begin(size: number): void {
    if (this.state === "open") throw new Error("OTA already open");
    if (this.flash.options.fail?.at === "begin") throw new Error("esp_ota_begin failed (ESP_ERR_OTA_PARTITION_CONFLICT)");
    if (size <= 0 || size > this.capacity) throw new Error(`size ${size} does not fit the slot`);
    const slot = this.flash.slots[this.flash.nextSlot];
    this.flash.intact[this.flash.nextSlot] = false;
    const erase = Math.ceil(size / SECTOR) * SECTOR;
    slot.fill(0xff, 0, Math.min(erase, slot.length));
    this.erasedBytes += erase;
    this.begins++;
    this.state = "open";
    this.declaredSize = size;
    this.offset = 0;
  }

  write(chunk: Uint8Array): void {
    if (this.state !== "open") throw new Error(`write while ${this.state}`);
    const fail = this.flash.options.fail;
    if (fail?.at === "write" && this.offset + chunk.length > fail.offset) throw new Error("esp_ota_write failed (ESP_ERR_FLASH_OP_FAIL)");
    if (this.offset + chunk.length > this.declaredSize) throw new Error("write past the declared size");
    const slot = this.flash.slots[this.flash.nextSlot];
    // NOR flash only clears bits: writing over unerased bytes would corrupt them.
    for (let i = 0; i < chunk.length; i++) slot[this.offset + i] &= chunk[i];
    this.offset += chunk.length;
    this.writes++;
    if (chunk.length > this.largestWrite) this.largestWrite = chunk.length;
  }

  complete(): void {
    if (this.state !== "open") throw new Error(`complete while ${this.state}`);
    const problem =
      this.flash.options.fail?.at === "complete"
        ? "esp_ota_end failed (ESP_ERR_OTA_VALIDATE_FAILED)"
        : this.offset !== this.declaredSize
          ? `complete after ${this.offset} of ${this.declaredSize} bytes`
          : this.flash.slots[this.flash.nextSlot][0] !== 0xe9
            ? "esp_ota_end: image magic missing"
            : undefined;
    if (problem) {
      this.state = "failed";
      throw new Error(problem);
    }
    this.state = "completed";
    this.flash.intact[this.flash.nextSlot] = true;
    this.flash.bootSlot = this.flash.nextSlot;
    this.flash.states[this.flash.nextSlot] = "new"; // esp_ota_set_boot_partition with rollback enabled
  }

  abort(): void {
    // esp_ota_end freed the handle: esp_ota_abort on it is ESP_ERR_NOT_FOUND.
    if (this.state === "completed") throw new Error("abort after complete (ESP_ERR_NOT_FOUND)");
    // esp_ota_abort: the half-written slot stays unbootable; boot selection untouched.
    if (this.state === "open") this.state = "aborted";
  }
}

/**
 * BootControl over the fake flash, with esp_ota_ops.c's refusals: no rollback
 * without a bootable other slot, no boot switch to a slot that does not verify.
 * Restarts are counted, not performed (the slot the bootloader would start is bootSlot).
 */
export class FakeBootControl implements BootControl {
  restarts = 0;
  markedValid = 0;

  constructor(private readonly flash: FakeFlash) {}

  private slot(index: number, app: Uint8Array): SlotInfo {
    const state = this.flash.states[index];
    const info: SlotInfo = { partition: `ota_${index}`, state, bootable: this.flash.intact[index] && state !== "invalid" && state !== "aborted" };
    const descriptor = this.flash.intact[index] ? parseAppDescriptor(app) : undefined;
    if (descriptor) info.app = { version: descriptor.version, projectName: descriptor.projectName, secureVersion: descriptor.secureVersion };
    return info;
  }

  running(): SlotInfo {
    return this.slot(this.flash.running, this.flash.options.runningImage);
  }

  other(): SlotInfo {
    const index = this.flash.nextSlot;
    return this.slot(index, this.flash.slots[index].subarray(0, 512));
  }

  markValid(): void {
    this.flash.states[this.flash.running] = "valid";
    this.markedValid++;
  }

  markInvalidAndRestart(): void {
    if (!this.other().bootable) throw new Error("Rollback is not possible, do not have any suitable apps in slots (ESP_ERR_OTA_ROLLBACK_FAILED)");
    this.flash.states[this.flash.running] = "invalid";
    this.flash.bootSlot = this.flash.nextSlot;
    this.restarts++;
  }

  bootOther(): void {
    if (!this.flash.intact[this.flash.nextSlot]) throw new Error("esp_ota_set_boot_partition: image does not verify (ESP_ERR_OTA_VALIDATE_FAILED)");
    this.flash.bootSlot = this.flash.nextSlot;
    this.flash.states[this.flash.nextSlot] = "new";
  }
}

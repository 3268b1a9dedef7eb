// A NOR flash chip emulated in a file: reads anywhere, erases whole 4 KB
// sectors to 0xFF, and programs by clearing bits only (a write over unerased
// bytes ANDs into them, as on the real chip, so a missing erase shows up as
// corrupt data instead of being silently papered over).
import { closeSync, existsSync, fstatSync, openSync, readSync, writeSync } from "node:fs";

export const SECTOR_SIZE = 0x1000;
export const FLASH_SIZE_4MB = 4 * 1024 * 1024;

export interface FlashCounters {
  sectorsErased: number;
  bytesWritten: number;
  writes: number;
}

/** Thrown by every erase and write from the moment the power is cut until the chip is reopened. */
export class PowerLoss extends Error {
  override name = "PowerLoss";
}

export interface PowerCut {
  /** Flash operations (one sector erased, or one write call) that still complete. */
  afterOps: number;
  /** Count only operations touching [offset, offset + length): e.g. the otadata partition. */
  region?: { offset: number; length: number };
  /** Called once, when the power goes. */
  onCut?: () => void;
}

export class FlashFile {
  private fd: number;
  readonly counters: FlashCounters = { sectorsErased: 0, bytesWritten: 0, writes: 0 };
  private cut: PowerCut | undefined;
  /** The power is off: nothing more reaches the chip until powerRestored(). */
  dead = false;

  /** Opens `path`, creating a blank (all 0xFF) chip of `size` bytes when the file is missing or `fresh`. */
  constructor(
    readonly path: string,
    readonly size = FLASH_SIZE_4MB,
    fresh = false,
  ) {
    const create = fresh || !existsSync(path);
    this.fd = openSync(path, create ? "w+" : "r+");
    if (create) {
      const blank = new Uint8Array(1024 * 1024).fill(0xff);
      for (let at = 0; at < size; at += blank.length) writeSync(this.fd, blank, 0, Math.min(blank.length, size - at), at);
    } else if (fstatSync(this.fd).size !== size) {
      closeSync(this.fd);
      throw new Error(`${path} is not a ${size}-byte flash image (delete it or start with --fresh)`);
    }
  }

  private check(offset: number, length: number): void {
    if (!Number.isInteger(offset) || offset < 0 || length < 0 || offset + length > this.size) throw new Error(`flash access 0x${offset.toString(16)}+${length} outside the chip`);
  }

  /**
   * Arms a power cut: after `afterOps` more operations (in `region`, when given)
   * the next one is cut short (a write programs only its first half, an erase
   * blanks only the first half of its sector) and every later erase or write throws PowerLoss.
   */
  armPowerCut(cut: PowerCut): void {
    this.cut = { ...cut };
  }

  /** The board is powered again (the file keeps whatever the cut left). */
  powerRestored(): void {
    this.dead = false;
    this.cut = undefined;
  }

  /** True when this operation is the one the power cut stops; throws once the power is gone. */
  private cutsHere(offset: number, length: number): boolean {
    if (this.dead) throw new PowerLoss("flash is unpowered");
    const cut = this.cut;
    if (!cut) return false;
    if (cut.region && (offset + length <= cut.region.offset || offset >= cut.region.offset + cut.region.length)) return false;
    if (cut.afterOps > 0) {
      cut.afterOps--;
      return false;
    }
    this.dead = true;
    this.cut = undefined;
    cut.onCut?.();
    return true;
  }

  read(offset: number, length: number): Uint8Array {
    this.check(offset, length);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) done += readSync(this.fd, out, done, length - done, offset + done);
    return out;
  }

  /** Programs bytes: each stored bit can only go from 1 to 0. */
  write(offset: number, bytes: Uint8Array): void {
    this.check(offset, bytes.length);
    const partial = this.cutsHere(offset, bytes.length);
    const length = partial ? bytes.length >> 1 : bytes.length;
    const current = this.read(offset, length);
    for (let i = 0; i < length; i++) current[i] &= bytes[i];
    writeSync(this.fd, current, 0, current.length, offset);
    if (partial) throw new PowerLoss(`power cut while programming 0x${offset.toString(16)}`);
    this.counters.bytesWritten += bytes.length;
    this.counters.writes++;
  }

  /** Erases whole sectors; offset and length must be sector aligned (esp_partition_erase_range). */
  erase(offset: number, length: number): void {
    this.check(offset, length);
    if (offset % SECTOR_SIZE !== 0 || length % SECTOR_SIZE !== 0) throw new Error(`erase 0x${offset.toString(16)}+0x${length.toString(16)} is not sector aligned`);
    const blank = new Uint8Array(SECTOR_SIZE).fill(0xff);
    for (let at = offset; at < offset + length; at += SECTOR_SIZE) {
      if (this.cutsHere(at, SECTOR_SIZE)) {
        writeSync(this.fd, blank, 0, SECTOR_SIZE >> 1, at); // an erase cut short: part of the sector is blank
        throw new PowerLoss(`power cut while erasing 0x${at.toString(16)}`);
      }
      writeSync(this.fd, blank, 0, SECTOR_SIZE, at);
      this.counters.sectorsErased++;
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

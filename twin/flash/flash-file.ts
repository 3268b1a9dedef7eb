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

export class FlashFile {
  private fd: number;
  readonly counters: FlashCounters = { sectorsErased: 0, bytesWritten: 0, writes: 0 };

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
    const current = this.read(offset, bytes.length);
    for (let i = 0; i < bytes.length; i++) current[i] &= bytes[i];
    writeSync(this.fd, current, 0, current.length, offset);
    this.counters.bytesWritten += bytes.length;
    this.counters.writes++;
  }

  /** Erases whole sectors; offset and length must be sector aligned (esp_partition_erase_range). */
  erase(offset: number, length: number): void {
    this.check(offset, length);
    if (offset % SECTOR_SIZE !== 0 || length % SECTOR_SIZE !== 0) throw new Error(`erase 0x${offset.toString(16)}+0x${length.toString(16)} is not sector aligned`);
    const blank = new Uint8Array(SECTOR_SIZE).fill(0xff);
    for (let at = offset; at < offset + length; at += SECTOR_SIZE) writeSync(this.fd, blank, 0, SECTOR_SIZE, at);
    this.counters.sectorsErased += length / SECTOR_SIZE;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

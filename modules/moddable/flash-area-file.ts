// The simulator's mod partitions: one file each under the ECMA-419 files root
// (manifest config "files", /tmp), named after the board's partitions:
// "<prefix>xs.xsa" (what the board's XS maps; the simulator maps the archive
// mcsim is started with instead, so pass it this file: README "Mods in the
// simulator"), "<prefix>xs_a.bin", "<prefix>xs_b.bin". Not NOR flash: a write
// replaces bytes. Erase writes 0xFF; bytes past the file's end read as 0xFF
// (erased), as a fresh partition does. Offsets are checked against the size.
import { files } from "./files-root";
import type { FlashArea, ModFlash } from "../core/ports";

const BLOCK = 4096;
let erased: Uint8Array | undefined; // one 4 KB block of 0xFF, made on the first erase

export class FileFlashArea implements FlashArea {
  readonly label: string;
  readonly size: number;
  readonly blockSize = BLOCK;
  readonly path: string;

  constructor(label: string, path: string, size: number) {
    this.label = label;
    this.path = path;
    this.size = size;
  }

  #check(offset: number, length: number): void {
    if (!(offset >= 0 && length >= 0 && offset + length <= this.size)) throw new RangeError(`${this.label}: ${length} bytes at ${offset} outside ${this.size}`);
  }

  erase(offset: number, length: number): void {
    this.#check(offset, length);
    if (offset % BLOCK || length % BLOCK) throw new RangeError(`${this.label}: erase not on ${BLOCK}-byte blocks`);
    if (!erased) erased = new Uint8Array(BLOCK).fill(0xff);
    const file = files.openFile({ path: this.path, mode: this.#exists() ? "r+" : "w+" });
    try {
      for (let at = offset; at < offset + length; at += BLOCK) file.write(erased, at);
    } finally {
      file.close();
    }
  }

  write(offset: number, bytes: Uint8Array): void {
    this.#check(offset, bytes.byteLength);
    const file = files.openFile({ path: this.path, mode: this.#exists() ? "r+" : "w+" });
    try {
      // A gap before offset would read as zeros: make it erased flash first.
      let end = file.status().size;
      if (end < offset && !erased) erased = new Uint8Array(BLOCK).fill(0xff);
      while (end < offset) {
        const gap = Math.min(BLOCK, offset - end);
        file.write(gap === BLOCK ? erased! : erased!.subarray(0, gap), end);
        end += gap;
      }
      file.write(bytes, offset);
    } finally {
      file.close();
    }
  }

  read(offset: number, into: Uint8Array): void {
    this.#check(offset, into.byteLength);
    into.fill(0xff);
    if (!this.#exists()) return;
    const file = files.openFile({ path: this.path });
    try {
      file.read(into, offset);
    } finally {
      file.close();
    }
  }

  #exists(): boolean {
    try {
      return files.status(this.path).isFile();
    } catch {
      return false;
    }
  }
}

/** size: each partition's, as on the board (0x18000). */
export function fileModFlash(prefix: string, size: number): ModFlash {
  return {
    active: new FileFlashArea("xs", `${prefix}xs.xsa`, size),
    slots: [new FileFlashArea("xs_a", `${prefix}xs_a.bin`, size), new FileFlashArea("xs_b", `${prefix}xs_b.bin`, size)],
  };
}

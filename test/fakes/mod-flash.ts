// Strict NOR flash areas for mods (the FlashArea and ModFlash ports): erase
// only whole blocks to 0xFF, write only clears bits (writing a 1 over a 0 is
// refused: the caller forgot an erase), every access in bounds. One `Power`
// is shared by a board's areas: it counts erases and writes, and a cut armed
// at the Nth one leaves that operation half done (the first half of its bytes
// erased or written) and throws PowerCut; every later access throws too until
// the board is "powered up" again (power.restore()). The bytes survive, as
// flash does. Engine-neutral (Node and XS).
import type { FlashArea, ModFlash } from "../../modules/core/ports";

export const MOD_BLOCK = 4096;

export class PowerCut extends Error {
  override name = "PowerCut";
}

export class Power {
  /** Erases and writes so far (all areas of the board). */
  ops = 0;
  erases = 0;
  writes = 0;
  /** Bytes written by the largest single write. */
  largestWrite = 0;
  private cutAt = 0;
  /** The power is off: a cut happened and restore() was not called. */
  off = false;

  /** Cuts the power during the nth erase or write from now (1 = the next one). */
  arm(n: number): void {
    this.cutAt = this.ops + n;
  }

  disarm(): void {
    this.cutAt = 0;
  }

  restore(): void {
    this.off = false;
    this.cutAt = 0;
  }

  /** Counts an operation; true when it is the one to cut. */
  step(kind: "erase" | "write"): boolean {
    if (this.off) throw new PowerCut("the power is off");
    this.ops++;
    if (kind === "erase") this.erases++;
    else this.writes++;
    if (this.cutAt !== 0 && this.ops === this.cutAt) {
      this.off = true;
      return true;
    }
    return false;
  }
}

export class FakeFlashArea implements FlashArea {
  readonly bytes: Uint8Array;
  readonly blockSize = MOD_BLOCK;

  constructor(
    readonly label: string,
    readonly size: number,
    readonly power: Power = new Power(),
  ) {
    if (size % MOD_BLOCK !== 0) throw new Error("area size must be whole blocks");
    this.bytes = new Uint8Array(size).fill(0xff);
  }

  private bounds(offset: number, length: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new Error(`${this.label}: ${offset}+${length} is outside the ${this.size}-byte partition`);
    }
  }

  erase(offset: number, length: number): void {
    this.bounds(offset, length);
    if (offset % MOD_BLOCK !== 0 || length % MOD_BLOCK !== 0) throw new Error(`${this.label}: erase of ${offset}+${length} is not block-aligned`);
    if (this.power.step("erase")) {
      this.bytes.fill(0xff, offset, offset + Math.floor(length / 2));
      throw new PowerCut(`power cut while erasing ${this.label} ${offset}+${length}`);
    }
    this.bytes.fill(0xff, offset, offset + length);
  }

  write(offset: number, data: Uint8Array): void {
    this.bounds(offset, data.length);
    for (let i = 0; i < data.length; i++) {
      if ((data[i] & ~this.bytes[offset + i]) !== 0) throw new Error(`${this.label}: write at ${offset + i} sets bits a NOR write cannot (erase first)`);
    }
    const cut = this.power.step("write");
    if (data.length > this.power.largestWrite) this.power.largestWrite = data.length;
    const n = cut ? Math.floor(data.length / 2) : data.length;
    for (let i = 0; i < n; i++) this.bytes[offset + i] &= data[i];
    if (cut) throw new PowerCut(`power cut while writing ${this.label} ${offset}+${data.length}`);
  }

  read(offset: number, into: Uint8Array): void {
    this.bounds(offset, into.length);
    if (this.power.off) throw new PowerCut("the power is off");
    into.set(this.bytes.subarray(offset, offset + into.length));
  }
}

/** `xs` and the two slots of a board, sharing one Power. */
export class FakeModFlash implements ModFlash {
  readonly power = new Power();
  readonly active: FakeFlashArea;
  readonly slots: readonly [FakeFlashArea, FakeFlashArea];

  constructor(size = 16 * 1024) {
    this.active = new FakeFlashArea("xs", size, this.power);
    this.slots = [new FakeFlashArea("xs_a", size, this.power), new FakeFlashArea("xs_b", size, this.power)];
  }
}

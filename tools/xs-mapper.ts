// What a Moddable host's XS does to the `xs` partition at VM creation
// (Moddable 8.2.3 xs/sources/xsAPI.c fxMapArchive, with the ESP32 callbacks of
// xs/platforms/esp/xsHost.c spiRead/spiWrite), over a FlashArea, for tests and
// the twin (which cannot run XS byte code). Engine-neutral: no Node imports.
//
// Faithful in what the core's safety rests on:
// - It reads the archive through one 4 KB buffer aligned on sector boundaries
//   (bufferSize = kFlashSectorSize) and writes a buffer back only when it
//   changed something in it ("dirty"); spiWrite erases the sector first when
//   the write starts on a sector boundary (every write does), then writes the
//   buffer: a power cut there leaves a sector erased or half written.
// - Not an XS_A atom at offset 0: nothing is mapped, nothing written.
// - VERS not 4 bytes, major or minor not the host's, SIGN not 16 bytes, an atom
//   out of place: the header is replaced by a 9-byte XS_E atom whose last byte
//   is the status (XS_FATAL_CHECK_EXIT = 3), through spiWrite (sector 0 erased).
// - IDEN already holds this host's ids: nothing is written ("clean").
//   Otherwise IDEN is rewritten with the host's ids and every id in CODE too
//   (fxMapperMapID marks its buffer dirty even when the bytes do not change).
// Emulated: where the ids sit in CODE. XS walks the byte code (gxCodeSizes);
// the archives of tools/xs-archive.ts carry opaque bytes, so here the MAPS
// entries are taken in order, one per id, at CODE offsets 16, 48, 80, ...
// (every 32 bytes) of each module until MAPS runs out. A host's ids are a
// function of the symbol's name and the host's `seed` (another firmware build
// numbers them differently: a firmware update remaps every mod).
import type { FlashArea } from "../modules/core/ports";
import { utf8Decode } from "../modules/core/bytes";
import { MOD_INFO_PATH, type XsVersion } from "../modules/core/mods/archive";

/** xsffi.h exit codes that fxMapArchive writes as the XS_E status byte. */
export const XS_NOT_ENOUGH_MEMORY_EXIT = 1;
export const XS_FATAL_CHECK_EXIT = 3;
export const XS_NO_MORE_KEYS_EXIT = 6;
/** txID XS_NO_ID (-1), as IDEN holds it for symbol 0. */
const XS_NO_ID = 0xffff;
const SECTOR = 4096;
const HEADER = 44;
/** Where the emulated ids sit in each CODE atom's content. */
export const ID_FIRST = 16;
export const ID_STEP = 32;

export interface XsHostIds {
  xs: XsVersion;
  /** Numbers the host's symbols; another seed is another firmware build. */
  seed: number;
}

/** The id this host gives a symbol (never XS_NO_ID). */
export function hostId(host: XsHostIds, name: string): number {
  let h = (host.seed * 2654435761) >>> 0;
  for (let i = 0; i < name.length; i++) h = (Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0);
  return 0x100 + (h % 0x7e00);
}

export type MapResult = { mapped: false; status?: number } | { mapped: true; wrote: boolean };

class Refused extends Error {
  constructor(readonly status: number) {
    super(`fxMapArchive: status ${status}`);
  }
}

class Mapper {
  private readonly buffer = new Uint8Array(SECTOR);
  private offset = 0; // flash offset of buffer[0]
  private at = 0; // index in buffer
  private length = 0; // valid bytes in buffer
  private dirty = false;
  wrote = false;

  constructor(
    private readonly area: FlashArea,
    private size: number,
  ) {
    this.length = Math.min(SECTOR, size);
    area.read(0, this.buffer.subarray(0, this.length));
  }

  get position(): number {
    return this.offset + this.at;
  }

  private flush(): void {
    if (this.dirty) {
      spiWrite(this.area, this.offset, this.buffer.subarray(0, this.length));
      this.wrote = true;
      this.dirty = false;
    }
  }

  // fxMapperStep
  private step(): void {
    this.flush();
    this.offset += this.length;
    this.size -= this.length;
    this.length = Math.min(SECTOR, this.size);
    if (this.length <= 0) throw new Refused(XS_FATAL_CHECK_EXIT); // read past the archive
    this.area.read(this.offset, this.buffer.subarray(0, this.length));
    this.at = 0;
  }

  read1(): number {
    if (this.at === this.length) this.step();
    return this.buffer[this.at++];
  }

  read2(): number {
    return this.read1() | (this.read1() << 8);
  }

  read4(): number {
    return ((this.read1() << 24) | (this.read1() << 16) | (this.read1() << 8) | this.read1()) >>> 0;
  }

  atom(): { size: number; type: string } {
    const size = this.read4();
    const t = this.read4();
    return { size, type: String.fromCharCode(t >>> 24, (t >>> 16) & 0xff, (t >>> 8) & 0xff, t & 0xff) };
  }

  skip(n: number): void {
    for (let i = 0; i < n; i++) {
      if (this.at === this.length) this.step();
      this.at++;
    }
  }

  /** Sets the byte at the cursor (marks dirty when it changes, or always with `force`), then moves on. */
  put(value: number, force: boolean): boolean {
    if (this.at === this.length) this.step();
    const changed = this.buffer[this.at] !== value;
    if (changed || force) {
      this.buffer[this.at] = value;
      this.dirty = true;
    }
    this.at++;
    return changed;
  }

  finish(): void {
    // the last buffer: fxMapArchive writes bufferOffset bytes of it
    if (this.dirty) {
      spiWrite(this.area, this.offset, this.buffer.subarray(0, this.at));
      this.wrote = true;
      this.dirty = false;
    }
  }
}

/** xsHost.c spiWrite: a write starting on a sector boundary erases the sectors it covers first. */
export function spiWrite(area: FlashArea, offset: number, bytes: Uint8Array): void {
  if (offset % SECTOR === 0) area.erase(offset, Math.ceil(bytes.length / SECTOR) * SECTOR);
  area.write(offset, bytes);
}

const check = (ok: boolean): void => {
  if (!ok) throw new Refused(XS_FATAL_CHECK_EXIT);
};

/**
 * fxMapArchive at VM creation. Throws only what the flash throws (a power cut);
 * a refusal is written as XS_E and answered as { mapped: false, status }.
 */
export function mapArchive(area: FlashArea, host: XsHostIds): MapResult {
  const head = new Uint8Array(HEADER);
  area.read(0, head);
  const type = String.fromCharCode(head[4], head[5], head[6], head[7]);
  if (type !== "XS_A") return { mapped: false };
  const size = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
  try {
    check(String.fromCharCode(head[12], head[13], head[14], head[15]) === "VERS");
    check(((head[8] << 24) | (head[9] << 16) | (head[10] << 8) | head[11]) === 12);
    check(head[16] === host.xs.major && head[17] === host.xs.minor);
    check(String.fromCharCode(head[24], head[25], head[26], head[27]) === "SIGN");
    check(((head[20] << 24) | (head[21] << 16) | (head[22] << 8) | head[23]) === 24);
    check(size >= HEADER && size <= area.size);
    const m = new Mapper(area, size);
    m.skip(HEADER);
    let a = m.atom();
    check(a.type === "NAME");
    m.skip(a.size - 8);
    a = m.atom();
    check(a.type === "SYMB");
    const count = m.read2();
    const ids: number[] = [];
    for (let i = 0; i < count; i++) {
      const bytes: number[] = [];
      for (let b = m.read1(); b !== 0; b = m.read1()) {
        check(bytes.length < 1024);
        bytes.push(b);
      }
      ids.push(i === 0 ? XS_NO_ID : hostId(host, utf8Decode(Uint8Array.from(bytes))));
    }
    a = m.atom();
    check(a.type === "IDEN" && a.size - 8 === count * 2);
    let clean = true;
    for (let i = 0; i < count; i++) {
      if (m.put(ids[i] & 0xff, false)) clean = false;
      if (m.put(ids[i] >> 8, false)) clean = false;
    }
    if (clean) return { mapped: true, wrote: false };
    a = m.atom();
    check(a.type === "MAPS");
    const maps: number[] = [];
    for (let i = 0; i < (a.size - 8) / 2; i++) maps.push(m.read2());
    a = m.atom();
    check(a.type === "MODS");
    const modsEnd = m.position - 8 + a.size;
    let next = 0;
    while (m.position < modsEnd) {
      a = m.atom();
      check(a.type === "PATH");
      m.skip(a.size - 8);
      a = m.atom();
      check(a.type === "CODE");
      const length = a.size - 8;
      let at = 0;
      for (let p = ID_FIRST; p + 2 <= length && next < maps.length; p += ID_STEP) {
        m.skip(p - at);
        const symbol = maps[next++];
        check(symbol < ids.length);
        m.put(ids[symbol] & 0xff, true);
        m.put(ids[symbol] >> 8, true);
        at = p + 2;
      }
      m.skip(length - at);
    }
    a = m.atom();
    check(a.type === "RSRC");
    const rsrcEnd = m.position - 8 + a.size;
    while (m.position < rsrcEnd) {
      a = m.atom();
      check(a.type === "PATH");
      m.skip(a.size - 8);
      a = m.atom();
      check(a.type === "DATA");
      m.skip(a.size - 8);
    }
    m.finish();
    return { mapped: true, wrote: m.wrote };
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    const xse = Uint8Array.of(0, 0, 0, 9, 0x58, 0x53, 0x5f, 0x45, e.status); // "XS_E" + status
    spiWrite(area, 0, xse);
    return { mapped: false, status: e.status };
  }
}

/**
 * The ota-mod.json of the mod in `area` (the twin reads a demo mod's behaviour
 * from its "twin" field), read the way fxGetArchiveData finds a resource;
 * undefined when there is no archive or no such resource.
 */
export function readModInfo(area: FlashArea): Record<string, unknown> | undefined {
  const h = new Uint8Array(8);
  const atomAt = (at: number): { size: number; type: string } => {
    area.read(at, h);
    return { size: ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0, type: String.fromCharCode(h[4], h[5], h[6], h[7]) };
  };
  const root = atomAt(0);
  if (root.type !== "XS_A" || root.size > area.size) return undefined;
  let at = 8;
  while (at + 8 <= root.size) {
    const a = atomAt(at);
    if (a.size < 8) return undefined;
    if (a.type === "RSRC") {
      let r = at + 8;
      while (r + 8 <= at + a.size) {
        const path = atomAt(r);
        const name = new Uint8Array(Math.min(64, path.size - 8));
        area.read(r + 8, name);
        const nul = name.indexOf(0);
        const dataAt = r + path.size;
        const data = atomAt(dataAt);
        if (path.size < 8 || data.size < 8) return undefined;
        if (nul >= 0 && utf8Decode(name.subarray(0, nul)) === MOD_INFO_PATH && data.size - 8 <= 512) {
          const bytes = new Uint8Array(data.size - 8);
          area.read(dataAt + 8, bytes);
          try {
            const value: unknown = JSON.parse(utf8Decode(bytes));
            return value && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
          } catch {
            return undefined;
          }
        }
        r = dataAt + data.size;
      }
      return undefined;
    }
    at += a.size;
  }
  return undefined;
}

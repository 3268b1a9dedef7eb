// What a Moddable mod is on the wire: an XS archive (.xsa) as mcrun's linker
// writes it (xs/tools/xslBase.c fxWriteArchive) and the host's XS maps it at VM
// creation (xs/sources/xsAPI.c fxMapArchive). Atoms are a 4-byte big-endian size
// (header included) and a fourCC:
//   XS_A { VERS(4: major, minor, patch, 0)  SIGN(16: MD5)  NAME(C string)
//          SYMB(u16le count, C strings)  IDEN(u16le per symbol, zeros from mcrun)
//          MAPS(u16le symbol indexes)  MODS{ PATH CODE ... }  RSRC{ PATH DATA ... } }
// fxMapArchive refuses (and writes an XS_E header over the mod) when VERS's
// major or minor differs from the host's or an atom is out of place; it checks
// SIGN's size only. We check more, before anything is erased or kept: the
// whole layout, sizes that add up, and SIGN as the MD5 fxWriteArchive computed
// over NAME, SYMB, MAPS, each module's PATH and CODE and each resource's PATH
// (without its pad) and DATA, in that order. Only the unmapped bytes have that
// MD5: once a host has mapped a mod (IDEN and the ids in CODE rewritten in
// place), its flash copy no longer does.
//
// ArchiveCheck reads a mod as it streams by, in pieces of any size, keeping
// only the atom it is in (at most three levels), a 64-byte name and the small
// `ota-mod.json` resource that names the mod for people.
import { toHex, utf8Decode } from "../bytes";
import type { Digest, DigestFactory } from "../ports";

/** Bytes of XS_A + VERS + SIGN: fxMapArchive reads these first (mxArchiveHeaderSize). */
export const ARCHIVE_HEADER_SIZE = 8 + 12 + 24;
/** The head kept back and written last, as serial2xsbug does: a mod is valid only once every byte is in. */
export const ARCHIVE_HEAD_KEPT = 64;
/** The resource that names a mod and its version for the portal, the catalog and the fleet. */
export const MOD_INFO_PATH = "ota-mod.json";
const MOD_INFO_MAX = 512;
const NAME_MAX = 64;

export interface XsVersion {
  major: number;
  minor: number;
  patch: number;
}

export interface ArchiveFacts {
  /** The NAME atom: mcrun's dotted name (e.g. "tech.moddable.hello"). */
  archiveName: string;
  /** From ota-mod.json, else archiveName and "". */
  name: string;
  version: string;
  xs: XsVersion;
  size: number;
  /** SIGN, lowercase hex: the MD5 of the unmapped modules and data. */
  sign: string;
  modules: number;
  resources: number;
  /** The archive has the `check` module mcrun generates. */
  hasCheck: boolean;
}

export function xsVersionText(v: XsVersion): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** fxMapArchive's test: the major and minor the host's XS was built with (patch and the fourth byte are not compared). */
export function xsVersionFits(mod: XsVersion, host: XsVersion): boolean {
  return mod.major === host.major && mod.minor === host.minor;
}

const fourCC = (b: Uint8Array, at: number): string => String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);

// The atoms a level holds, in order ("*" repeats the pairs that follow).
const TOP = ["VERS", "SIGN", "NAME", "SYMB", "IDEN", "MAPS", "MODS", "RSRC"];

interface Frame {
  type: string;
  end: number;
}

/**
 * Checks an XS archive streamed through write(); end() answers the facts or
 * throws an Error whose message says what is wrong (for people).
 */
export class ArchiveCheck {
  private offset = 0;
  private total = -1;
  private readonly stack: Frame[] = [];
  private readonly header = new Uint8Array(8);
  private headerFill = 0;
  private topIndex = 0;
  private pairIndex = 0; // within MODS/RSRC: even PATH, odd CODE/DATA
  private atom: Frame | undefined; // a leaf atom whose content is streaming
  private atomStart = 0;
  private readonly keep = new Uint8Array(MOD_INFO_MAX);
  private keepFill = 0;
  private keepLimit = 0;
  private hashUntil = -1; // in a resource PATH: hash up to and including its NUL
  private readonly md5: Digest;
  private vers: XsVersion | undefined;
  private sign = "";
  private archiveName = "";
  private modules = 0;
  private resources = 0;
  private hasCheck = false;
  private lastPath = "";
  private info: string | undefined;
  private problem: string | undefined;

  constructor(digests: DigestFactory, private readonly capacity = Infinity) {
    this.md5 = digests("MD5");
  }

  /** Bytes seen so far. */
  get received(): number {
    return this.offset;
  }

  /** The archive's size from its root atom, once its first 8 bytes are in. */
  get declaredSize(): number | undefined {
    return this.total < 0 ? undefined : this.total;
  }

  /** The XS version, once the first 20 bytes are in: enough to refuse another host's mod before anything is written. */
  get xs(): XsVersion | undefined {
    return this.vers;
  }

  write(chunk: Uint8Array): void {
    if (this.problem) throw new Error(this.problem);
    try {
      let i = 0;
      while (i < chunk.length) i += this.step(chunk, i);
    } catch (e) {
      this.problem = e instanceof Error ? e.message : String(e);
      throw e;
    }
  }

  end(): ArchiveFacts {
    if (this.problem) throw new Error(this.problem);
    if (this.total < 0 || this.offset < this.total) this.fail(`Mod archive cut short: ${this.offset} of ${this.total < 0 ? "?" : this.total} bytes`);
    if (this.topIndex < TOP.length) this.fail(`Mod archive has no ${TOP[this.topIndex]} atom`);
    const md5 = toHex(this.md5.close());
    if (md5 !== this.sign) this.fail("Mod archive damaged: its contents do not match its SIGN digest");
    let name = this.archiveName;
    let version = "";
    if (this.info !== undefined) {
      const parsed = parseModInfo(this.info);
      if (typeof parsed === "string") this.fail(parsed);
      name = parsed.name;
      version = parsed.version;
    }
    return {
      archiveName: this.archiveName,
      name,
      version,
      xs: this.vers as XsVersion,
      size: this.total,
      sign: this.sign,
      modules: this.modules,
      resources: this.resources,
      hasCheck: this.hasCheck,
    };
  }

  private fail(message: string): never {
    this.problem = message;
    throw new Error(message);
  }

  // Consumes bytes of chunk from i; returns how many.
  private step(chunk: Uint8Array, i: number): number {
    if (this.total >= 0 && this.offset >= this.total) this.fail(`Mod archive has bytes after its end (${this.total} bytes)`);
    if (this.atom) return this.content(chunk, i);
    // An atom header (8 bytes), possibly split across chunks.
    const take = Math.min(8 - this.headerFill, chunk.length - i);
    this.header.set(chunk.subarray(i, i + take), this.headerFill);
    this.headerFill += take;
    this.offset += take;
    if (this.headerFill === 8) {
      this.headerFill = 0;
      this.open(((this.header[0] << 24) | (this.header[1] << 16) | (this.header[2] << 8) | this.header[3]) >>> 0, fourCC(this.header, 4));
    }
    return take;
  }

  private open(size: number, type: string): void {
    const start = this.offset - 8;
    if (start === 0) {
      if (type !== "XS_A") this.fail(type === "XS_E" ? "Mod archive is marked failed (XS_E): a host refused it" : "Not a mod: no XS_A archive atom");
      if (size < ARCHIVE_HEADER_SIZE + 8 * 5) this.fail(`Mod archive too small (${size} bytes)`);
      if (size > this.capacity) this.fail(`Mod is ${size} bytes; the mod partition holds ${this.capacity}`);
      this.total = size;
      this.stack.push({ type, end: size });
      return;
    }
    if (size < 8) this.fail(`Mod archive damaged: ${type} atom of ${size} bytes`);
    const parent = this.stack[this.stack.length - 1];
    if (start + size > parent.end) this.fail(`Mod archive damaged: ${type} atom runs past its ${parent.type}`);
    const frame = { type, end: start + size };
    if (parent.type === "XS_A") {
      const want = TOP[this.topIndex];
      if (type !== want) this.fail(`Mod archive damaged: ${want ?? "end"} expected, ${type} found`);
      this.topIndex++;
      if (type === "VERS" && size !== 12) this.fail("Mod archive damaged: VERS is not 4 bytes");
      if (type === "SIGN" && size !== 24) this.fail("Mod archive damaged: SIGN is not 16 bytes");
      if (type === "MODS" || type === "RSRC") {
        this.pairIndex = 0;
        this.stack.push(frame);
        this.closeEmpty();
        return;
      }
    } else {
      const want = this.pairIndex % 2 === 0 ? "PATH" : parent.type === "MODS" ? "CODE" : "DATA";
      if (type !== want) this.fail(`Mod archive damaged: ${want} expected in ${parent.type}, ${type} found`);
      this.pairIndex++;
    }
    this.atom = frame;
    this.atomStart = this.offset;
    this.keepFill = 0;
    this.keepLimit = this.keepSize(type, parent.type);
    this.hashUntil = -1;
    if (this.offset === frame.end) this.close();
  }

  private keepSize(type: string, parent: string): number {
    if (type === "VERS" || type === "SIGN") return 16;
    if (type === "NAME" || type === "PATH") return NAME_MAX;
    if (type === "DATA" && parent === "RSRC" && this.lastPath === MOD_INFO_PATH) return MOD_INFO_MAX;
    return 0;
  }

  private hashed(type: string, parent: string): boolean {
    return type === "NAME" || type === "SYMB" || type === "MAPS" || (parent === "MODS" && (type === "PATH" || type === "CODE")) || (parent === "RSRC" && type === "DATA");
  }

  private content(chunk: Uint8Array, i: number): number {
    const atom = this.atom as Frame;
    const take = Math.min(atom.end - this.offset, chunk.length - i);
    const piece = chunk.subarray(i, i + take);
    const parent = this.stack[this.stack.length - 1].type;
    if (this.hashed(atom.type, parent)) this.md5.write(piece);
    else if (atom.type === "PATH" && parent === "RSRC") this.hashResourcePath(piece);
    if (this.keepFill < this.keepLimit) {
      const n = Math.min(take, this.keepLimit - this.keepFill);
      this.keep.set(piece.subarray(0, n), this.keepFill);
      this.keepFill += n;
    } else if (this.keepLimit === MOD_INFO_MAX && take > 0) {
      this.fail(`Mod archive's ${MOD_INFO_PATH} is over ${MOD_INFO_MAX} bytes`);
    }
    this.offset += take;
    if (this.offset === atom.end) this.close();
    return take;
  }

  // A resource's PATH is padded after its NUL (fxWriteArchive pads with SIGN's bytes); the MD5 stops at the NUL.
  private hashResourcePath(piece: Uint8Array): void {
    if (this.hashUntil === -2) return;
    const nul = piece.indexOf(0);
    if (nul < 0) return this.md5.write(piece);
    this.md5.write(piece.subarray(0, nul + 1));
    this.hashUntil = -2;
  }

  private cString(): string {
    const bytes = this.keep.subarray(0, this.keepFill);
    const nul = bytes.indexOf(0);
    if (nul < 0) this.fail(`Mod archive damaged: a ${(this.atom as Frame).type} is not a string of at most ${NAME_MAX - 1} bytes`);
    return utf8Decode(bytes.subarray(0, nul));
  }

  private close(): void {
    const atom = this.atom as Frame;
    const parent = this.stack[this.stack.length - 1].type;
    this.atom = undefined;
    const length = atom.end - this.atomStart;
    switch (atom.type) {
      case "VERS":
        this.vers = { major: this.keep[0], minor: this.keep[1], patch: this.keep[2] };
        break;
      case "SIGN":
        this.sign = toHex(this.keep.subarray(0, 16));
        break;
      case "NAME":
        this.archiveName = this.cString();
        break;
      case "PATH":
        this.lastPath = this.cString();
        if (parent === "MODS") {
          this.modules++;
          if (this.lastPath === "check") this.hasCheck = true;
        } else this.resources++;
        break;
      case "DATA":
        if (this.lastPath === MOD_INFO_PATH) this.info = utf8Decode(this.keep.subarray(0, length));
        break;
      default:
        break;
    }
    this.closeEmpty();
  }

  // Leaves every container that ends here (MODS, RSRC, and XS_A at the very end).
  private closeEmpty(): void {
    while (this.stack.length > 1 && this.offset === this.stack[this.stack.length - 1].end) {
      const done = this.stack.pop() as Frame;
      if (this.pairIndex % 2 !== 0) this.fail(`Mod archive damaged: a PATH in ${done.type} has no ${done.type === "MODS" ? "CODE" : "DATA"}`);
      this.pairIndex = 0;
    }
  }
}

/** ota-mod.json: {"name": "...", "version": "..."}: printable, at most 31 and 31 characters (esp_app_desc_t's limits). */
export function parseModInfo(text: string): { name: string; version: string } | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `${MOD_INFO_PATH} is not JSON`;
  }
  const o = value as { name?: unknown; version?: unknown } | null;
  const ok = (s: unknown): s is string => typeof s === "string" && s.length > 0 && s.length <= 31 && !/[^\x20-\x7e]/.test(s);
  if (!o || typeof o !== "object" || !ok(o.name) || !ok(o.version)) return `${MOD_INFO_PATH} needs "name" and "version": printable text of 1 to 31 characters`;
  return { name: o.name, version: o.version };
}

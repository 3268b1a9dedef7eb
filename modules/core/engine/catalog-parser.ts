// Incremental parser for AutoConnect's catalog, a JSON array of flat objects
// (and for our server's chip/version list, the same shape of array).
// It never holds the body: bytes are scanned as they arrive and only the
// object being read is buffered (bounded), then decoded with JSON.parse.
import type { CatalogEntry } from "../updater-api";
import { utf8Decode } from "../bytes";

export interface CatalogLimits {
  /** `bin` rows kept. */
  maxEntries: number;
  /** Bytes in the whole body. */
  maxBytes: number;
  /** Bytes of one object (the reference device uses a 256-byte document). */
  maxEntryBytes: number;
}

export const DEFAULT_CATALOG_LIMITS: CatalogLimits = { maxEntries: 64, maxBytes: 16 * 1024, maxEntryBytes: 1024 };

export class CatalogError extends Error {
  override name = "CatalogError";
}

export const NOT_A_CATALOG = "Not a catalog: the server did not send a firmware list";

const enum S {
  Start, // before "["
  First, // after "[": an object or "]"
  Object, // inside an object
  After, // after an object: "," or "]"
  Next, // after ",": an object
  Done, // after "]"
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Maps one decoded object to a kept row, or undefined to skip it. */
export type RowMapper<T> = (row: Record<string, unknown>) => T | undefined;

export class JsonRowParser<T> {
  readonly entries: T[] = [];
  private state = S.Start;
  private readonly buffer: Uint8Array;
  private fill = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private total = 0;

  constructor(
    private readonly toRow: RowMapper<T>,
    private readonly limits: CatalogLimits = DEFAULT_CATALOG_LIMITS,
  ) {
    this.buffer = new Uint8Array(limits.maxEntryBytes);
  }

  /** Feeds the next chunk; throws CatalogError with a user-facing message. */
  push(chunk: Uint8Array): void {
    this.total += chunk.length;
    if (this.total > this.limits.maxBytes) throw new CatalogError(`Catalog too large: over ${this.limits.maxBytes / 1024} KB`);
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      switch (this.state) {
        case S.Start:
          if (c === 0xef || c === 0xbb || c === 0xbf) break; // tolerate a UTF-8 BOM
          if (isSpace(c)) break;
          if (c !== 0x5b) throw new CatalogError(NOT_A_CATALOG);
          this.state = S.First;
          break;
        case S.First:
        case S.Next:
          if (isSpace(c)) break;
          if (c === 0x5d && this.state === S.First) this.state = S.Done;
          else if (c === 0x7b) this.open(c);
          else throw new CatalogError(NOT_A_CATALOG);
          break;
        case S.Object:
          this.collect(c);
          break;
        case S.After:
          if (isSpace(c)) break;
          if (c === 0x2c) this.state = S.Next;
          else if (c === 0x5d) this.state = S.Done;
          else throw new CatalogError(NOT_A_CATALOG);
          break;
        case S.Done:
          if (!isSpace(c)) throw new CatalogError(NOT_A_CATALOG);
          break;
      }
    }
  }

  /** Call at the end of the body; returns the kept rows. */
  end(): T[] {
    if (this.state !== S.Done) throw new CatalogError(this.total === 0 ? "Not a catalog: the server sent an empty answer" : NOT_A_CATALOG);
    return this.entries;
  }

  private open(c: number): void {
    this.state = S.Object;
    this.fill = 0;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.collect(c);
  }

  private collect(c: number): void {
    if (this.fill === this.buffer.length) throw new CatalogError(`Catalog too large: an entry is over ${this.buffer.length} bytes`);
    this.buffer[this.fill++] = c;
    if (this.inString) {
      if (this.escaped) this.escaped = false;
      else if (c === 0x5c) this.escaped = true;
      else if (c === 0x22) this.inString = false;
      return;
    }
    if (c === 0x22) this.inString = true;
    else if (c === 0x7b || c === 0x5b) this.depth++;
    else if (c === 0x7d || c === 0x5d) {
      this.depth--;
      if (this.depth === 0) {
        this.state = S.After;
        this.take(utf8Decode(this.buffer.subarray(0, this.fill)));
      }
    }
  }

  private take(text: string): void {
    // The text starts at "{" and ends where its depth closes, so what parses is an object.
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new CatalogError(NOT_A_CATALOG);
    }
    const entry = this.toRow(row);
    if (!entry) return;
    if (this.entries.length === this.limits.maxEntries) throw new CatalogError(`Catalog too large: more than ${this.limits.maxEntries} firmwares`);
    this.entries.push(entry);
  }
}

export interface CatalogParserOptions {
  /** The board hosts app mods: `file` rows named `*.xsa` are kept too, as mods. */
  mods?: boolean;
}

/** AutoConnect's catalog: keeps the `bin` rows (and, on a board with mods, the `.xsa` files). */
export class CatalogParser extends JsonRowParser<CatalogEntry> {
  constructor(limits: CatalogLimits = DEFAULT_CATALOG_LIMITS, options: CatalogParserOptions = {}) {
    super((row) => toEntry(row, options.mods === true), limits);
  }
}

/** An app mod's file name (AutoConnect lists it as a plain `file`). */
export function isModName(name: string): boolean {
  return /\.xsa$/i.test(name);
}

/**
 * A `bin` row with a usable name and size, or a mod's `.xsa` file row (its size
 * when it has one: updateserver.py, and our server as it, lists a plain file by
 * name and type only); anything else (files, folders, broken rows) is skipped.
 */
function toEntry(row: Record<string, unknown>, mods: boolean): CatalogEntry | undefined {
  const { name, size, date, time, type } = row;
  if (typeof name !== "string" || name.length === 0 || name.length > 255) return undefined;
  const mod = mods && type === "file" && isModName(name);
  if (type !== "bin" && !mod) return undefined;
  const sized = typeof size === "number" && Number.isSafeInteger(size) && size >= 0;
  if (!sized && !(mod && size === undefined)) return undefined;
  const entry: CatalogEntry = { name, date: typeof date === "string" ? date : "", time: typeof time === "string" ? time : "" };
  if (sized) entry.size = size;
  if (mod) entry.kind = "mod";
  return entry;
}

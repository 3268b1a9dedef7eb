// XS side of bench/engine-xs.ts (engine-neutral: it is bundled and evaluated
// inside xsnap). Streams a 4 MB image through a real UpdateSession and counts
// every typed-array / ArrayBuffer allocation made while it runs.
import type { Digest, DigestFactory, OtaWriter } from "../modules/core/ports";
import type { Progress, UpdateRecorder } from "../modules/core/updater-api";
import { UpdateSession } from "../modules/core/engine/session";
import { CatalogParser } from "../modules/core/engine/catalog-parser";
import { utf8Encode } from "../modules/core/bytes";
import { FakeClock } from "../test/fakes/clock";
import { ScriptedHttp, serveBytes } from "../test/fakes/http";
import { buildImage } from "../test/fakes/image";
import { md5Hex, nobleDigest } from "../test/fakes/digest";

export type Report = (line: Record<string, unknown>) => void;

const IMAGE_SIZE = 4 * 1024 * 1024;

/** Allocation counter: swaps the global constructors for counting subclasses while enabled. */
class Allocations {
  largest = 0;
  count = 0;
  bytes = 0;
  readonly sizes = new Map<number, number>();
  private restore: Array<() => void> = [];

  note(n: number): void {
    this.count++;
    this.bytes += n;
    if (n > this.largest) this.largest = n;
    this.sizes.set(n, (this.sizes.get(n) ?? 0) + 1);
  }

  start(): void {
    this.largest = 0;
    this.count = 0;
    this.bytes = 0;
    this.sizes.clear();
    const g = globalThis as unknown as Record<string, unknown>;
    const note = (n: number) => this.note(n);
    for (const name of ["Uint8Array", "Uint16Array", "Uint32Array", "Int32Array", "Float64Array", "DataView", "ArrayBuffer"]) {
      const Native = g[name] as new (...args: unknown[]) => object;
      const per = name === "ArrayBuffer" || name === "DataView" ? 1 : (Native as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
      const Counting = class extends Native {
        constructor(...args: unknown[]) {
          const a = args[0];
          if (typeof a === "number") note(name === "DataView" ? 0 : a * per);
          else if (a !== null && typeof a === "object" && !(a instanceof ArrayBuffer) && "length" in a) note((a as { length: number }).length * per);
          super(...args);
        }
      };
      Object.defineProperty(Counting, "name", { value: name });
      g[name] = Counting;
      this.restore.push(() => (g[name] = Native));
    }
    const proto = Object.getPrototypeOf(Uint8Array.prototype) as { slice: (this: ArrayLike<number> & { BYTES_PER_ELEMENT: number }, ...a: number[]) => unknown };
    const slice = proto.slice;
    proto.slice = function (this: ArrayLike<number> & { BYTES_PER_ELEMENT: number }, ...a: number[]) {
      const out = slice.apply(this, a) as { byteLength: number };
      note(out.byteLength);
      return out;
    };
    this.restore.push(() => (proto.slice = slice));
    const abSlice = ArrayBuffer.prototype.slice;
    ArrayBuffer.prototype.slice = function (this: ArrayBuffer, begin?: number, end?: number) {
      const out = abSlice.call(this, begin, end);
      note(out.byteLength);
      return out;
    };
    this.restore.push(() => (ArrayBuffer.prototype.slice = abSlice));
  }

  stop(): void {
    for (const undo of this.restore.reverse()) undo();
    this.restore = [];
  }

  top(): string {
    return [...this.sizes.entries()].sort((a, b) => b[0] - a[0]).slice(0, 6).map(([size, n]) => `${size} B x${n}`).join(", ");
  }
}

/** A slot writer that keeps the image (native copy) so the result can be checked. */
class SlotWriter implements OtaWriter {
  readonly capacity: number;
  private readonly slot: Uint8Array;
  offset = 0;
  largestWrite = 0;
  committed = false;
  constructor(size: number) {
    this.capacity = size;
    this.slot = new Uint8Array(size);
  }
  begin(): void {
    this.offset = 0;
  }
  write(chunk: Uint8Array): void {
    this.slot.set(chunk, this.offset);
    this.offset += chunk.length;
    if (chunk.length > this.largestWrite) this.largestWrite = chunk.length;
  }
  complete(): void {
    this.committed = true;
  }
  abort(): void {}
  equals(image: Uint8Array): boolean {
    for (let i = 0; i < image.length; i += 997) if (this.slot[i] !== image[i]) return false;
    return this.offset === image.length;
  }
}

/** The bench measures the stream, not the boot records. */
const noRecords: UpdateRecorder = { blocked: () => undefined, writing() {}, committing() {}, failed() {}, lastUpdate: () => undefined };

const nullDigest: DigestFactory = (): Digest => ({
  write() {},
  close: () => new Uint8Array(16),
});

async function stream(label: string, image: Uint8Array, digest: DigestFactory, md5: string | undefined, report: Report, alloc: Allocations): Promise<void> {
  const clock = new FakeClock();
  const http = new ScriptedHttp((r) => serveBytes(image, r, { headers: md5 ? [["x-MD5", md5]] : [] }));
  const ota = new SlotWriter(image.length);
  let final: Progress | undefined;
  alloc.start(); // the session's own buffers count too
  const session = new UpdateSession(
    { http, ota, digest, clock, boot: noRecords },
    { name: "bench.bin", host: "127.0.0.1", port: 8000, path: "/bench.bin" },
    { chipId: 0, stallMs: 8000, maxResumes: 3, requireMd5: md5 !== undefined, resumeDelayMs: 1000 },
    (p) => (final = p),
  );
  const t0 = Date.now();
  session.start();
  await http.settle();
  const ms = Math.max(1, Date.now() - t0);
  alloc.stop();
  if (final?.phase !== "done" || !ota.equals(image)) throw new Error(`${label}: session ended ${final?.phase} ${final?.error ?? ""}`);
  report({
    bench: label,
    bytes: image.length,
    ms,
    mbPerS: Math.round((image.length / (1024 * 1024) / (ms / 1000)) * 100) / 100,
    largestChunkIn: http.largestChunk,
    largestWrite: ota.largestWrite,
    largestAllocation: alloc.largest,
    allocations: alloc.count,
    allocatedBytes: alloc.bytes,
    topSizes: alloc.top(),
  });
}

export async function runEngineBench(report: Report): Promise<void> {
  const image = buildImage({ size: IMAGE_SIZE, seed: 42 });
  const md5 = md5Hex(image);
  const alloc = new Allocations();
  await stream("4 MB, engine only (no-op digest)", image, nullDigest, undefined, report, alloc);
  await stream("4 MB, engine + JS MD5 (@noble/hashes)", image, nobleDigest, md5, report, alloc);

  // catalog: a 16 KB body at the cap, in 1 KB chunks
  const row = '{"name":"firmware-000.bin","type":"bin","date":"11/22/26","time":"10:55:15","size":1048576}';
  const body = utf8Encode(`[${Array.from({ length: 64 }, (_, i) => row.replace("000", String(i).padStart(3, "0"))).join(",")}]`);
  alloc.start();
  const t0 = Date.now();
  const parser = new CatalogParser();
  for (let i = 0; i < body.length; i += 1024) parser.push(body.subarray(i, i + 1024));
  const entries = parser.end().length;
  const ms = Math.max(1, Date.now() - t0);
  alloc.stop();
  report({ bench: "catalog, 64 entries", bytes: body.length, ms, entries, largestAllocation: alloc.largest, allocations: alloc.count, topSizes: alloc.top() });
}

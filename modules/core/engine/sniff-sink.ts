// A check-in's answer on a board that hosts mods: firmware or an app mod?
// The answer's `x-Ota-Kind` header may say ("firmware" or "mod"); the first
// 8 bytes always do (an XS archive starts with its size and `XS_A`, a
// firmware image with 0xE9). This sink keeps those 8 bytes, then hands the
// body to the ImageSink or the ModSink; a header that says one kind over
// bytes of the other is refused there, before either sink has begun, so
// nothing is erased.
import type { Announced } from "./image-sink";
import type { UpdateSink } from "../mods/mod-sink";
import type { UpdateKind } from "../updater-api";
import type { SignatureInput } from "../signature/policy";

/** Bytes that tell a mod from an image: the archive's size and its `XS_A`. */
const SNIFF_BYTES = 8;
const ESP_IMAGE_MAGIC = 0xe9;

/** The kind the first bytes show: "mod" for an XS archive, else "firmware" (the ImageSink judges what else it is). */
export function kindOfBytes(head: Uint8Array): UpdateKind {
  return head.length >= 8 && head[4] === 0x58 && head[5] === 0x53 && head[6] === 0x5f && head[7] === 0x41 ? "mod" : "firmware";
}

/** The x-Ota-Kind header's kind; an error text for a value this board does not know. */
export function kindOfHeader(value: string | undefined): UpdateKind | undefined | { error: string } {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v === "mod") return "mod";
  if (v === "firmware") return "firmware";
  if (v === "") return undefined;
  return { error: `Server sent x-Ota-Kind: ${value.slice(0, 20)}; this board takes firmware or mod` };
}

export class SniffSink implements UpdateSink {
  private chosen: UpdateSink | undefined;
  private announced: Announced = { size: 0 };
  private signature: { header: string } | { input: SignatureInput } = { input: undefined };
  private readonly first = new Uint8Array(SNIFF_BYTES);
  private fill = 0;

  constructor(
    private readonly image: UpdateSink,
    private readonly mod: UpdateSink,
    /** What the answer's header said, if anything. */
    private readonly expected?: UpdateKind,
  ) {}

  get kind(): UpdateKind {
    return this.chosen?.kind ?? this.expected ?? "firmware";
  }

  get received(): number {
    return this.chosen ? this.chosen.received : this.fill;
  }

  get total(): number {
    return this.chosen ? this.chosen.total : this.announced.size;
  }

  get version(): string | undefined {
    return this.chosen?.version;
  }

  get identity(): { name: string; version: string } | undefined {
    return this.chosen?.identity;
  }

  /** Before the bytes say: the larger destination (each sink checks its own on the bytes). */
  get capacity(): number {
    if (this.chosen) return this.chosen.capacity;
    if (this.expected) return this.expected === "mod" ? this.mod.capacity : this.image.capacity;
    return Math.max(this.image.capacity, this.mod.capacity);
  }

  get writing(): boolean {
    return this.chosen?.writing ?? false;
  }

  get signaturesRequired(): boolean {
    return this.image.signaturesRequired || this.mod.signaturesRequired;
  }

  begin(announced: Announced): void {
    this.discard();
    this.chosen = undefined;
    this.announced = announced;
    this.signature = { input: undefined };
    this.fill = 0;
  }

  takeSignature(signature: SignatureInput): void {
    this.signature = { input: signature };
  }

  takeSignatureHeader(value: string): void {
    this.signature = { header: value };
  }

  push(chunk: Uint8Array): string | undefined {
    if (this.chosen) return this.chosen.push(chunk);
    const want = Math.min(SNIFF_BYTES, this.announced.size);
    const take = Math.min(want - this.fill, chunk.length);
    this.first.set(chunk.subarray(0, take), this.fill);
    this.fill += take;
    if (this.fill < want) return undefined;
    const head = this.first.subarray(0, this.fill);
    const kind = kindOfBytes(head);
    if (this.expected !== undefined && this.expected !== kind) return mismatch(this.expected, head);
    const sink = kind === "mod" ? this.mod : this.image;
    sink.begin(this.announced);
    if ("header" in this.signature) sink.takeSignatureHeader(this.signature.header);
    else sink.takeSignature(this.signature.input);
    this.chosen = sink;
    const refused = sink.push(head);
    if (refused) return refused;
    const rest = chunk.subarray(take);
    return rest.length > 0 ? sink.push(rest) : undefined;
  }

  commit(what?: "download" | "upload"): string | undefined {
    return this.chosen ? this.chosen.commit(what) : "Nothing was written";
  }

  discard(): void {
    this.chosen?.discard();
  }
}

function mismatch(expected: UpdateKind, head: Uint8Array): string {
  if (expected === "mod") {
    const what = head[0] === ESP_IMAGE_MAGIC ? "a firmware image" : "not an XS archive";
    return `The server sent an app mod (x-Ota-Kind: mod), but the bytes are ${what}; nothing was installed`;
  }
  return "The server sent firmware (x-Ota-Kind: firmware), but the bytes are an app mod (an XS archive); nothing was installed";
}

// The mod side of every update (a catalog download, a check-in answer, a
// phone's upload), the same shape as the firmware's ImageSink
// (engine/image-sink.ts) so the sessions can drive either (`UpdateSink`).
//
// Pre-flight on the first 64 bytes, before anything is erased: an XS archive
// (a firmware image or anything else is "not a mod"), the size it declares is
// the one announced and fits a slot, its VERS is the host's XS major.minor,
// and on a board with signing keys the .sig (mod-statement.ts). Then the free
// slot (the one whose mod is not in `xs`) is forgotten in the state record,
// erased, and written in the pieces that arrive (at most 4 KB) with running
// MD5 and SHA-256 and the archive check (layout, SIGN); its first 64 bytes are
// kept back and written last at the commit, so a slot is a mod only once every
// byte is in. The commit records the slot as staged; the mod goes into `xs`
// only at the restart (ModManager.stagedRestart). RAM: the 64-byte head and
// ArchiveCheck's bounded buffers; never the mod.
import type { Digest, DigestFactory, FlashArea, KeyValueStore, ModFlash, ModHost } from "../ports";
import type { UpdateKind } from "../updater-api";
import { toHex } from "../bytes";
import { modTooLarge, modWrongXs } from "../messages";
import type { SignatureCheck, SignatureInput } from "../signature/policy";
import { signatureFromHeader } from "../signature/header";
import { ArchiveCheck, ARCHIVE_HEAD_KEPT, xsVersionFits, type ArchiveFacts } from "./archive";
import { checkModSignatureAtHead, modSignedBytesRefusal, type ModClaim } from "./mod-statement";
import { ModStore, type ModRecord, type ModState, type SlotIndex } from "./mod-store";
import { PIECE } from "./activate";

/** What the sender says before the bytes (the same as ImageSink's Announced). */
export interface ModAnnounced {
  size: number;
  md5?: string;
  sha256?: string;
}

/**
 * The sink shape the update sessions drive: ImageSink (firmware) and ModSink
 * both have it. push() and commit() answer a refusal's text or undefined.
 */
export interface UpdateSink {
  /** What it installs: the session records a failure and restarts by it. */
  readonly kind: UpdateKind;
  readonly received: number;
  readonly total: number;
  readonly version: string | undefined;
  /** For a mod, once known: its name and version (ota-mod.json, or the signed claim). */
  readonly identity?: { name: string; version: string };
  /** Bytes the destination holds (the OTA slot, a mod slot). */
  readonly capacity: number;
  readonly writing: boolean;
  readonly signaturesRequired: boolean;
  begin(announced: ModAnnounced): void;
  takeSignature(signature: SignatureInput): void;
  takeSignatureHeader(value: string): void;
  push(chunk: Uint8Array): string | undefined;
  commit(what?: "download" | "upload"): string | undefined;
  discard(): void;
}

export interface ModSinkDeps {
  flash: ModFlash;
  host: Pick<ModHost, "xs">;
  digest: DigestFactory;
  store: KeyValueStore;
  /** The board's signing keys and verifier; the host name mods are signed for is policy.board.projectName. */
  signatures?: SignatureCheck;
}

const ESP_IMAGE_MAGIC = 0xe9;

/** The slot an install may overwrite: not the one whose mod is in `xs` (the running or last-good mod). */
export function freeSlot(state: ModState): SlotIndex {
  if (state.xs !== null) return state.xs === 0 ? 1 : 0;
  if (!state.slots[0]) return 0;
  if (!state.slots[1]) return 1;
  return state.slots[1].failed && !state.slots[0].failed ? 1 : 0;
}

export class ModSink implements UpdateSink {
  readonly kind = "mod";
  received = 0;
  total = 0;
  /** "name version" once known (the signed claim at the head, else the archive at the commit). */
  version: string | undefined;
  /** The same, as two fields. */
  identity: { name: string; version: string } | undefined;
  /** After a commit: what was staged, and where. */
  committed: { slot: SlotIndex; record: ModRecord; facts: ArchiveFacts } | undefined;
  private readonly records: ModStore;
  private readonly head = new Uint8Array(ARCHIVE_HEAD_KEPT);
  private open = false;
  private slot: SlotIndex = 0;
  private check: ArchiveCheck | undefined;
  private md5: Digest | undefined;
  private sha256: Digest | undefined;
  private md5Expected: string | undefined;
  private sha256Expected: string | undefined;
  private signature: SignatureInput;
  private vouched: ModClaim | undefined;

  constructor(private readonly deps: ModSinkDeps) {
    this.records = new ModStore(deps.store);
  }

  get writing(): boolean {
    return this.open;
  }

  get signaturesRequired(): boolean {
    return this.deps.signatures?.policy.required === true;
  }

  /** Bytes a slot holds. */
  get capacity(): number {
    return Math.min(this.deps.flash.slots[0].size, this.deps.flash.slots[1].size, this.deps.flash.active.size);
  }

  takeSignature(signature: SignatureInput): void {
    this.signature = signature;
  }

  takeSignatureHeader(value: string): void {
    const decoded = signatureFromHeader(value);
    this.signature = decoded instanceof Uint8Array ? decoded : { unreadable: decoded.error };
  }

  begin(announced: ModAnnounced): void {
    this.discard();
    this.received = 0;
    this.total = announced.size;
    this.version = undefined;
    this.identity = undefined;
    this.committed = undefined;
    this.md5Expected = announced.md5;
    this.sha256Expected = announced.sha256;
    this.check = new ArchiveCheck(this.deps.digest, this.capacity);
    this.md5 = this.deps.digest("MD5");
    this.sha256 = this.deps.digest("SHA256");
    this.signature = undefined;
    this.vouched = undefined;
  }

  push(chunk: Uint8Array): string | undefined {
    if (!this.check) return "The mod install was not started";
    if (this.received + chunk.length > this.total) return `More than the ${this.total} bytes announced`;
    let body = chunk;
    if (!this.open) {
      const headLength = Math.min(ARCHIVE_HEAD_KEPT, this.total);
      const take = Math.min(headLength - this.received, chunk.length);
      this.head.set(chunk.subarray(0, take), this.received);
      this.received += take;
      if (this.received < headLength) return undefined;
      const refused = this.preflight(this.head.subarray(0, headLength));
      if (refused) return refused;
      body = chunk.subarray(take);
    }
    for (let i = 0; i < body.length; i += PIECE) {
      const failed = this.write(body.subarray(i, Math.min(body.length, i + PIECE)));
      if (failed) return failed;
    }
    return undefined;
  }

  commit(what: "download" | "upload" = "download"): string | undefined {
    if (!this.open || !this.check) return "The mod was not written";
    if (this.received !== this.total) return `The mod ended early (${this.received} of ${this.total} bytes)`;
    const md5 = toHex((this.md5 as Digest).close());
    const sha256 = toHex((this.sha256 as Digest).close());
    this.md5 = this.sha256 = undefined;
    if (this.md5Expected !== undefined && md5 !== this.md5Expected.toLowerCase()) return `MD5 mismatch: the ${what} was corrupted`;
    if (this.sha256Expected !== undefined && sha256 !== this.sha256Expected.toLowerCase()) return `SHA-256 mismatch: the ${what} was corrupted`;
    let facts: ArchiveFacts;
    try {
      facts = this.check.end();
    } catch (e) {
      return reason(e);
    }
    this.version = `${facts.name} ${facts.version}`.trim();
    this.identity = { name: facts.name, version: facts.version };
    if (this.signaturesRequired) {
      if (!this.vouched) return "The signature was not checked"; // pre-flight refuses every mod it does not vouch for
      const refused = modSignedBytesRefusal(this.vouched, { sha256, size: this.received, name: facts.name, version: facts.version });
      if (refused) return refused.message;
    }
    const area = this.area();
    try {
      area.write(0, this.head.subarray(0, Math.min(ARCHIVE_HEAD_KEPT, this.total))); // last: now the slot is a mod
    } catch (e) {
      return `Flash write failed at the mod's head: ${reason(e)}`;
    }
    const record: ModRecord = { name: facts.name, version: facts.version, size: this.total, sha256 };
    const state = this.records.load();
    state.slots[this.slot] = record;
    state.staged = this.slot;
    this.records.save(state);
    this.open = false;
    this.committed = { slot: this.slot, record, facts };
    return undefined;
  }

  /** Drops a partly written slot: its record is already gone and its head was never written. */
  discard(): void {
    this.open = false;
  }

  private area(): FlashArea {
    return this.deps.flash.slots[this.slot];
  }

  private preflight(head: Uint8Array): string | undefined {
    const check = this.check as ArchiveCheck;
    if (head[0] === ESP_IMAGE_MAGIC) return "Not a mod: this is a firmware image (install it as a firmware update)";
    const declared = head.length >= 4 ? ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0 : 0;
    const isArchive = head.length >= 8 && String.fromCharCode(head[4], head[5], head[6], head[7]) === "XS_A";
    if (isArchive && declared > this.capacity) return modTooLarge(declared, this.capacity);
    try {
      check.write(head);
    } catch (e) {
      return reason(e);
    }
    if (declared !== this.total) return `Mod archive says it is ${declared} bytes, ${this.total} were announced`;
    const xs = check.xs;
    const host = this.deps.host.xs;
    if (!xs) return "Mod archive has no VERS atom";
    if (!xsVersionFits(xs, host)) return modWrongXs(xs, host);
    const signatures = this.deps.signatures;
    if (signatures?.policy.required) {
      const verdict = checkModSignatureAtHead(this.signature, this.total, { xs: host, host: signatures.policy.board.projectName }, signatures.policy, signatures.verifier);
      if (!verdict.ok) return verdict.message;
      if (verdict.signed) {
        this.vouched = verdict.claim;
        this.version = `${verdict.claim.name} ${verdict.claim.version}`;
        this.identity = { name: verdict.claim.name, version: verdict.claim.version };
      }
    }
    const state = this.records.load();
    if (state.pending) return "An app mod switch is still open; install after the restart";
    this.slot = freeSlot(state);
    // Forget the slot before its first byte goes: a cut from here on leaves no record of a mod in it.
    state.slots[this.slot] = null;
    if (state.staged === this.slot) state.staged = null;
    this.records.save(state);
    const area = this.area();
    try {
      area.erase(0, Math.ceil(this.total / area.blockSize) * area.blockSize);
    } catch (e) {
      return `Cannot prepare the mod partition: ${reason(e)}`;
    }
    this.open = true;
    this.md5?.write(head);
    this.sha256?.write(head);
    return undefined;
  }

  private write(bytes: Uint8Array): string | undefined {
    try {
      (this.check as ArchiveCheck).write(bytes);
    } catch (e) {
      return reason(e);
    }
    try {
      this.area().write(this.received, bytes);
    } catch (e) {
      return `Flash write failed at ${this.received} bytes: ${reason(e)}`;
    }
    this.md5?.write(bytes);
    this.sha256?.write(bytes);
    this.received += bytes.length;
    return undefined;
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

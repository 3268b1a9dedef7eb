// The image side of every update, wherever its bytes come from (a download,
// a check-in answer, a phone's upload): keep the image's first bytes until
// pre-flight has seen them (header, app descriptor: nothing is erased before),
// then erase and write the next OTA slot in the pieces that arrive, with
// running digests and the bootloader's image rules (esp-image-rules.ts
// ImageCheck); at the end verify and commit, or discard with the running
// firmware and the boot selection untouched. One 288-byte head copy, one
// 8-byte segment header: nothing grows with the image.
//
// Signed updates (docs/signing.md): when the board has signing keys, every
// image (catalog download, check-in answer, phone upload) is judged here. Its
// signature must be in before the first bytes: pre-flight checks the .sig, its
// key, the signature over what it claims and the board's rules against the
// image's head, so an image that could never be committed is refused before
// the slot (the board's way back) is erased. SHA-256 then runs on every image,
// and commit() refuses, before the boot switch, bytes other than the signed ones.
import type { Digest, DigestFactory, OtaWriter } from "../ports";
import type { UpdateRecorder } from "../updater-api";
import { toHex } from "../bytes";
import { APP_DESC_OFFSET, APP_DESC_SIZE, IMAGE_HEADER_SIZE, parseAppDescriptor } from "../image";
import { ImageCheck } from "../esp-image-rules";
import { checkImageHeader } from "./preflight";
import { checkSignatureAtHead, signedBytesRefusal, type SignatureCheck, type SignatureInput } from "../signature/policy";
import { readImageFacts, type Claim, type ImageFacts } from "../signature/statement";
import { signatureFromHeader } from "../signature/header";
import type { UpdateSink } from "../mods/mod-sink";

/** Bytes read before anything is erased: the image header and the app descriptor after it. */
export const HEAD_BYTES = APP_DESC_OFFSET + APP_DESC_SIZE;

export interface SinkDeps {
  ota: OtaWriter;
  digest: DigestFactory;
  /** Told when the slot is erased and just before the boot switch. */
  boot: UpdateRecorder;
  /** The board's signing keys and a verifier; without it (or without keys) signatures are off. */
  signatures?: SignatureCheck;
}

export interface SinkOptions {
  /** Chip id of the running board. */
  chipId: number;
  /** The board's flash size in bytes: an image built for more is refused (flash-size.ts). */
  flashSize?: number;
  /** Its chip revision (major * 100 + minor), when known. */
  chipRevision?: number;
}

/** What the sender says about the image before its bytes. */
export interface Announced {
  size: number;
  /** Lowercase hex, when given. */
  md5?: string;
  sha256?: string;
}

export class ImageSink implements UpdateSink {
  readonly kind = "firmware";
  /** Bytes taken so far (the head copy included). */
  received = 0;
  total = 0;
  /** esp_app_desc_t version of the image, once its first bytes are in. */
  version: string | undefined;
  private md5Expected: string | undefined;
  private sha256Expected: string | undefined;
  private md5: Digest | undefined;
  private sha256: Digest | undefined;
  private readonly head = new Uint8Array(HEAD_BYTES);
  private open = false;
  /** Chip, project, version and secure_version from the head, for the signature check. */
  private facts: ImageFacts | undefined;
  /** What pre-flight found signed by one of the board's keys: the bytes must then hash to its SHA-256. */
  private vouched: Claim | undefined;
  /** The .sig bytes that came with the image, or why what came cannot be one. */
  private signature: SignatureInput;
  /** Follows the segments as they are written. As the bootloader loads it: esp_ota_end on the board does not run verify_load_addresses. */
  private readonly layout: ImageCheck;

  constructor(
    private readonly deps: SinkDeps,
    private readonly options: SinkOptions,
  ) {
    this.layout = new ImageCheck({ chipId: options.chipId, chipRevision: options.chipRevision, bootloader: true });
  }

  /** Bytes the update slot holds. */
  get capacity(): number {
    return this.deps.ota.capacity;
  }

  /** Pre-flight passed and the slot is being written. */
  get writing(): boolean {
    return this.open;
  }

  /** This board takes only signed images. */
  get signaturesRequired(): boolean {
    return this.deps.signatures?.policy.required === true;
  }

  /** The image's .sig, as fetched beside it (undefined: there is none; or why what came cannot be one); after begin(), before the first bytes. */
  takeSignature(signature: SignatureInput): void {
    this.signature = signature;
  }

  /** The x-Firmware-Signature header that came with the image; after begin(), before the first bytes. */
  takeSignatureHeader(value: string): void {
    const decoded = signatureFromHeader(value);
    this.signature = decoded instanceof Uint8Array ? decoded : { unreadable: decoded.error };
  }

  /** Starts (or starts over) an image of `announced.size` bytes: whatever was written before is discarded. */
  begin(announced: Announced): void {
    this.discard();
    this.received = 0;
    this.version = undefined;
    this.total = announced.size;
    this.md5Expected = announced.md5;
    this.sha256Expected = announced.sha256;
    this.md5 = this.deps.digest("MD5");
    this.sha256 = announced.sha256 || this.signaturesRequired ? this.deps.digest("SHA256") : undefined;
    this.layout.reset();
    this.facts = undefined;
    this.vouched = undefined;
    this.signature = undefined;
  }

  /** Takes the next piece (valid only during the call); the refusal's text, or undefined. */
  push(chunk: Uint8Array): string | undefined {
    if (this.received + chunk.length > this.total) return `More than the ${this.total} bytes announced`;
    let body = chunk;
    if (!this.open) {
      const headLength = Math.min(HEAD_BYTES, this.total);
      if (this.received === 0 && chunk.length >= headLength) {
        const refused = this.preflight(chunk.subarray(0, headLength));
        if (refused) return refused;
      } else {
        // keep the first bytes until all are in
        const take = Math.min(headLength - this.received, chunk.length);
        this.head.set(chunk.subarray(0, take), this.received);
        this.received += take;
        if (this.received < headLength) return undefined;
        const head = this.head.subarray(0, headLength);
        const refused = this.preflight(head);
        if (refused) return refused;
        this.received = 0;
        const failed = this.write(head);
        if (failed) return failed;
        body = chunk.subarray(take);
      }
    }
    return body.length > 0 ? this.write(body) : undefined;
  }

  /** All bytes are in: digests, a whole image, then the boot switch. The refusal's text, or undefined when committed. */
  commit(what: "download" | "upload" = "download"): string | undefined {
    const md5 = this.md5 ? toHex(this.md5.close()) : undefined;
    const sha256 = this.sha256 ? toHex(this.sha256.close()) : undefined;
    this.md5 = this.sha256 = undefined;
    if (this.md5Expected !== undefined && md5 !== this.md5Expected) return `MD5 mismatch: the ${what} was corrupted`;
    if (this.sha256Expected !== undefined && sha256 !== this.sha256Expected) return `SHA-256 mismatch: the ${what} was corrupted`;
    const incomplete = this.layout.finish(this.received);
    if (incomplete) return incomplete;
    const unsigned = this.signatureRefusal(sha256);
    if (unsigned) return unsigned;
    this.deps.boot.committing(this.version ?? "the new firmware");
    try {
      this.deps.ota.complete();
    } catch (e) {
      return `The new firmware was not accepted: ${reason(e)}`;
    }
    this.open = false;
    return undefined;
  }

  /** With signatures required: why these bytes may not be committed, or undefined when they are the ones pre-flight found signed. */
  private signatureRefusal(sha256: string | undefined): string | undefined {
    if (!this.signaturesRequired) return undefined;
    const vouched = this.vouched;
    if (vouched === undefined || sha256 === undefined) return "The signature was not checked"; // pre-flight refuses every image it does not vouch for
    return signedBytesRefusal(vouched, sha256, this.received)?.message;
  }

  /** With signatures required: everything the head allows (see checkSignatureAtHead); the refusal's text, or undefined. */
  private signatureAtHead(): string | undefined {
    const check = this.deps.signatures;
    if (!check?.policy.required) return undefined;
    const verdict = checkSignatureAtHead(this.signature, { size: this.total, facts: this.facts }, check.policy, check.verifier);
    if (!verdict.ok) return verdict.message;
    if (verdict.signed) this.vouched = verdict.claim;
    return undefined;
  }

  /** Drops a partly written slot (esp_ota_abort); the boot selection was never changed. */
  discard(): void {
    if (!this.open) return;
    this.open = false;
    try {
      this.deps.ota.abort();
    } catch {
      // the slot is not bootable either way
    }
  }

  /** Pre-flight on the image's first bytes, then open (erase) the slot. */
  private preflight(head: Uint8Array): string | undefined {
    this.version = parseAppDescriptor(head)?.version;
    this.facts = readImageFacts(head);
    const error =
      checkImageHeader(head.subarray(0, IMAGE_HEADER_SIZE), this.options.chipId, this.options.flashSize) ??
      this.layout.start(head, { available: this.total, partitionSize: this.deps.ota.capacity }) ??
      this.signatureAtHead();
    if (error) return error;
    this.deps.boot.writing();
    try {
      this.deps.ota.begin(this.total);
    } catch (e) {
      return `Cannot prepare the update partition: ${reason(e)}`;
    }
    this.open = true;
    return undefined;
  }

  private write(bytes: Uint8Array): string | undefined {
    const refused = this.layout.push(bytes);
    if (refused) return refused;
    try {
      this.deps.ota.write(bytes);
    } catch (e) {
      return `Flash write failed at ${this.received} bytes: ${reason(e)}`;
    }
    this.md5?.write(bytes);
    this.sha256?.write(bytes);
    this.received += bytes.length;
    return undefined;
  }
}

export function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

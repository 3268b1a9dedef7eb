// What a firmware signature says: the statement the owner's key signs.
//
// It names the exact bytes (SHA-256 and size of the whole file as served,
// Espressif's appended signature sector included) and the facts a board decides
// on, read from the image's own esp_app_desc_t: chip, project, version,
// secure_version. The verifier never trusts these from the .sig file: it
// rebuilds the statement from the image it received, so a signature made for
// one image cannot be carried over to another (docs/signing.md).
//
// Canonical form: UTF-8, "\n" line ends, these seven lines in this order:
//   moddable-ota firmware signature 1
//   sha256: <64 lowercase hex>
//   size: <decimal>
//   chip: <esp_chip_id_t, decimal>
//   project: <project_name>
//   version: <version>
//   secure_version: <decimal>
import { isHex, utf8Encode } from "../bytes";
import { APP_DESC_OFFSET, APP_DESC_SIZE, IMAGE_HEADER_SIZE, parseAppDescriptor, parseImageHeader } from "../image";

export const STATEMENT_MAGIC = "moddable-ota firmware signature 1";

/** Bytes from the start of the image that hold every fact the statement needs. */
export const IMAGE_FACTS_BYTES = APP_DESC_OFFSET + APP_DESC_SIZE;

/** What the image says about itself (header + esp_app_desc_t). */
export interface ImageFacts {
  chipId: number;
  projectName: string;
  version: string;
  secureVersion: number;
}

/** The signed claim: the bytes (SHA-256, size) and the image's facts. */
export interface Claim extends ImageFacts {
  /** SHA-256 of the whole file, lowercase hex. */
  sha256: string;
  size: number;
}

/**
 * Facts from the first IMAGE_FACTS_BYTES (or more) bytes of an image;
 * undefined when there is no ESP32 header or no esp_app_desc_t.
 */
export function readImageFacts(head: Uint8Array): ImageFacts | undefined {
  if (head.length < IMAGE_HEADER_SIZE) return undefined;
  let chipId: number;
  try {
    chipId = parseImageHeader(head).chipId;
  } catch {
    return undefined;
  }
  const desc = parseAppDescriptor(head);
  if (!desc) return undefined;
  return { chipId, projectName: desc.projectName, version: desc.version, secureVersion: desc.secureVersion };
}

/**
 * Keeps the first IMAGE_FACTS_BYTES of a download as it streams by (the only
 * copy it makes: 288 bytes), so the facts are known when the last byte arrives.
 */
export class ImageFactsReader {
  private readonly head = new Uint8Array(IMAGE_FACTS_BYTES);
  private filled = 0;

  /** Feed every chunk in order, from byte 0. */
  push(chunk: Uint8Array): void {
    if (this.filled >= this.head.length) return;
    const take = Math.min(chunk.length, this.head.length - this.filled);
    this.head.set(chunk.subarray(0, take), this.filled);
    this.filled += take;
  }

  reset(): void {
    this.filled = 0;
  }

  /** The facts, once enough bytes went by; undefined before that or when the image has none. */
  facts(): ImageFacts | undefined {
    return this.filled < this.head.length ? undefined : readImageFacts(this.head);
  }
}

/** Why a claim cannot be written as a statement, or undefined when it can. */
export function claimProblem(claim: Claim): string | undefined {
  if (!isHex(claim.sha256, 64) || claim.sha256 !== claim.sha256.toLowerCase()) return "the SHA-256 must be 64 lowercase hex digits";
  if (!Number.isSafeInteger(claim.size) || claim.size <= 0) return "the size must be a positive whole number";
  if (!Number.isInteger(claim.chipId) || claim.chipId < 0 || claim.chipId > 0xffff) return "the chip id must be 0..65535";
  if (!Number.isInteger(claim.secureVersion) || claim.secureVersion < 0 || claim.secureVersion > 0xffffffff) return "secure_version must be 0..4294967295";
  for (const [name, value] of [["project name", claim.projectName], ["version", claim.version]] as const) {
    // one line per field: a control character could forge a line break
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c < 0x20 || c === 0x7f) return `the ${name} contains a control character`;
    }
  }
  return undefined;
}

/** The canonical statement text (throws when claimProblem() has an objection). */
export function statementText(claim: Claim): string {
  const problem = claimProblem(claim);
  if (problem) throw new Error(`Cannot state this image: ${problem}`);
  return (
    `${STATEMENT_MAGIC}\n` +
    `sha256: ${claim.sha256}\n` +
    `size: ${claim.size}\n` +
    `chip: ${claim.chipId}\n` +
    `project: ${claim.projectName}\n` +
    `version: ${claim.version}\n` +
    `secure_version: ${claim.secureVersion}\n`
  );
}

/** The statement's bytes, as signed. */
export function statementBytes(claim: Claim): Uint8Array {
  return utf8Encode(statementText(claim));
}

// The decision: may this downloaded image be committed? Called after the last
// byte and the digest checks, before OtaWriter.complete(). With no key
// configured it says yes (signatures off); with any key configured the image
// must carry a valid signature by one of the keys, be for this board's chip and
// project, and not lower the secure_version.
//
// Order: authenticity first (is this exactly what the owner signed?), then the
// board's own rules (chip, project, downgrade), so each refusal names its cause.
import type { DigestFactory, SignatureVerifier } from "../ports";
import { toHex } from "../bytes";
import { chipName } from "../image";
import { wrongChip } from "../messages";
import { fingerprintOf, parseTrustedKeys, type TrustedKey } from "./keys";
import { parseSignatureFile, SignatureFileError } from "./sig-file";
import { signatureInRange } from "./p256";
import { claimProblem, statementBytes, type Claim, type ImageFacts } from "./statement";

/** The running board: what an image must match. */
export interface BoardFacts {
  chipId: number;
  /** project_name of the running image's esp_app_desc_t. */
  projectName: string;
  /** secure_version of the running image's esp_app_desc_t. */
  secureVersion: number;
}

export interface SignaturePolicy {
  /** True when any key is configured: then every image must be signed. */
  required: boolean;
  keys: readonly TrustedKey[];
  /** Configured entries that are not usable keys ("key 2: ..."). */
  keyErrors: readonly string[];
  board: BoardFacts;
}

/** Builds the policy from the configured key entries (manifest config) and the running board. */
export function signaturePolicy(keyEntries: readonly string[], board: BoardFacts, digest: DigestFactory): SignaturePolicy {
  const { keys, errors } = parseTrustedKeys(keyEntries, digest);
  return { required: keyEntries.length > 0, keys, keyErrors: errors, board };
}

/** What the session knows about the image once every byte is in. */
export interface ReceivedImage {
  /** SHA-256 of every byte received (the whole file), raw or lowercase hex. */
  sha256: Uint8Array | string;
  size: number;
  /** From ImageFactsReader / readImageFacts; undefined when the image has no esp_app_desc_t. */
  facts: ImageFacts | undefined;
}

export type Refusal =
  | "missing"
  | "malformed"
  | "no-usable-key"
  | "unknown-key"
  | "bad-signature"
  | "tampered"
  | "swapped"
  | "no-descriptor"
  | "wrong-chip"
  | "wrong-project"
  | "downgrade";

export type SignatureVerdict =
  | { ok: true; signed: false }
  | { ok: true; signed: true; key: TrustedKey; claim: Claim }
  | { ok: false; refusal: Refusal; message: string };

/** The headline of every authenticity refusal (the portal shows it verbatim). */
export const NOT_SIGNED_BY_OWNER = "Not signed by this board's owner";

function refuse(refusal: Refusal, message: string): { ok: false; refusal: Refusal; message: string } {
  return { ok: false, refusal, message };
}

function notOwner(refusal: Refusal, why: string): { ok: false; refusal: Refusal; message: string } {
  return refuse(refusal, `${NOT_SIGNED_BY_OWNER}: ${why}`);
}

function trustedList(keys: readonly TrustedKey[]): string {
  return keys.map((k) => k.fingerprint).join(", ");
}

/** The "missing" refusal's text (the catalog list says it the same way). */
export function missingSignature(): string {
  return `${NOT_SIGNED_BY_OWNER}: the image has no signature`;
}

/** The "unknown-key" refusal's text; `keyId` is the signer's key id or its first 16 hex digits (/api/catalog's `signer`). */
export function unknownKey(keyId: string, keys: readonly TrustedKey[]): string {
  return `${NOT_SIGNED_BY_OWNER}: it is signed with key ${fingerprintOf(keyId)}, this board trusts ${trustedList(keys)}`;
}

/** The "malformed" refusal's text. */
export function unreadableSignature(why: string): string {
  return `${NOT_SIGNED_BY_OWNER}: its signature file is unreadable (${why})`;
}

/** The "no-usable-key" refusal's text. */
export function noUsableKey(policy: SignaturePolicy): string {
  return `Signed updates only, but none of this board's keys is usable (${policy.keyErrors.join("; ")})`;
}

export type Authenticity = { ok: true; key: TrustedKey; claim: Claim } | { ok: false; refusal: Refusal; message: string };

/**
 * Is this image exactly what one of `keys` signed? The signature check alone
 * (also `ota-server verify`): no board rules. `signatureFile` is the .sig's
 * bytes (or text); undefined when there was none.
 */
export function verifySignature(signatureFile: Uint8Array | string | undefined, image: ReceivedImage, keys: readonly TrustedKey[], verifier: SignatureVerifier): Authenticity {
  if (signatureFile === undefined || signatureFile.length === 0) return refuse("missing", missingSignature());
  let file;
  try {
    file = parseSignatureFile(signatureFile);
  } catch (error) {
    if (error instanceof SignatureFileError) return refuse("malformed", unreadableSignature(error.message));
    throw error;
  }
  const facts = image.facts;
  if (!facts) return refuse("no-descriptor", "Image has no app description (esp_app_desc_t), so it cannot be checked against its signature");
  const sha256 = typeof image.sha256 === "string" ? image.sha256.toLowerCase() : toHex(image.sha256);
  const signed = file.claim;
  if (signed.sha256 !== sha256 || signed.size !== image.size) {
    if (signed.projectName !== facts.projectName) return notOwner("swapped", `the signature is for project "${signed.projectName}", this image is "${facts.projectName}"`);
    if (signed.version !== facts.version) return notOwner("swapped", `the signature is for version ${signed.version}, this image is version ${facts.version}`);
    if (signed.secureVersion !== facts.secureVersion) return notOwner("swapped", `the signature is for secure_version ${signed.secureVersion}, this image has ${facts.secureVersion}`);
    return notOwner("tampered", "the image was changed after it was signed (its SHA-256 differs)");
  }
  const key = keys.find((k) => k.id === file.keyId);
  if (!key) return refuse("unknown-key", unknownKey(file.keyId, keys));
  // The claim checked is rebuilt from the image itself, never taken from the file.
  const claim: Claim = { sha256, size: image.size, ...facts };
  if (claimProblem(claim)) return notOwner("bad-signature", "the image's app description cannot be signed (a control character in its project or version)");
  if (!signatureInRange(file.signature) || !verifier.verifyP256(statementBytes(claim), file.signature, key.point)) {
    return notOwner("bad-signature", `the signature does not verify with key ${key.fingerprint}`);
  }
  return { ok: true, key, claim };
}

/**
 * Decides on a downloaded image before it is committed: signatures off when no
 * key is configured; otherwise verifySignature(), then the board's rules.
 */
export function checkSignature(signatureFile: Uint8Array | string | undefined, image: ReceivedImage, policy: SignaturePolicy, verifier: SignatureVerifier): SignatureVerdict {
  if (!policy.required) return { ok: true, signed: false };
  if (policy.keys.length === 0) return refuse("no-usable-key", noUsableKey(policy));
  const authentic = verifySignature(signatureFile, image, policy.keys, verifier);
  if (!authentic.ok) return authentic;
  const { key, claim } = authentic;
  const board = policy.board;
  if (claim.chipId !== board.chipId) return refuse("wrong-chip", wrongChip(chipName(claim.chipId), chipName(board.chipId)));
  if (claim.projectName !== board.projectName) return refuse("wrong-project", `Image is for project "${claim.projectName}", this board runs "${board.projectName}"`);
  if (claim.secureVersion < board.secureVersion) {
    return refuse("downgrade", `Downgrade refused: the image's secure_version ${claim.secureVersion} is lower than the running firmware's ${board.secureVersion}`);
  }
  return { ok: true, signed: true, key, claim };
}

/** What the update engine needs to check signatures: the board's policy and a P-256 verifier. */
export interface SignatureCheck {
  policy: SignaturePolicy;
  verifier: SignatureVerifier;
}

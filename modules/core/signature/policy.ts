// The decision: may this downloaded image be committed? Called after the last
// byte and the digest checks, before OtaWriter.complete(). With no key
// configured it says yes (signatures off); with any key configured the image
// must carry a valid signature by one of the keys, be for this board's chip and
// project, and not lower the secure_version.
//
// Order: authenticity first (is this exactly what the owner signed?), then the
// board's own rules (chip, project, downgrade), so each refusal names its cause.
// The rules are also asked on the image's head, before anything is erased
// (boardRuleRefusal, from the image sink's pre-flight).
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

const NO_DESCRIPTOR = "Image has no app description (esp_app_desc_t), so it cannot be checked against its signature";

/** The "missing" refusal's text (the catalog list says it the same way). */
export function missingSignature(): string {
  return `${NOT_SIGNED_BY_OWNER}: the image has no signature`;
}

/** The "unknown-key" refusal's text; `keyId` is the signer's key id or its first 16 hex digits (/api/catalog's `signer`). */
export function unknownKey(keyId: string, keys: readonly TrustedKey[]): string {
  return `${NOT_SIGNED_BY_OWNER}: it is signed with key ${fingerprintOf(keyId)}, this board trusts ${trustedList(keys)}`;
}

/** The "tampered" refusal's text: the bytes are not the ones signed. */
export function tamperedImage(): string {
  return `${NOT_SIGNED_BY_OWNER}: the image was changed after it was signed (its SHA-256 differs)`;
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
  if (!facts) return refuse("no-descriptor", NO_DESCRIPTOR);
  const sha256 = typeof image.sha256 === "string" ? image.sha256.toLowerCase() : toHex(image.sha256);
  const signed = file.claim;
  // Facts first: they come from the image's head, so a swapped signature is named before any byte is hashed.
  if (signed.projectName !== facts.projectName) return notOwner("swapped", `the signature is for project "${signed.projectName}", this image is "${facts.projectName}"`);
  if (signed.version !== facts.version) return notOwner("swapped", `the signature is for version ${signed.version}, this image is version ${facts.version}`);
  if (signed.secureVersion !== facts.secureVersion) return notOwner("swapped", `the signature is for secure_version ${signed.secureVersion}, this image has ${facts.secureVersion}`);
  if (signed.sha256 !== sha256 || signed.size !== image.size) return refuse("tampered", tamperedImage());
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
  return boardRuleRefusal(claim, policy) ?? { ok: true, signed: true, key, claim };
}

/**
 * The whole decision as far as the image's head allows, before anything is
 * erased: the signature file, its key, the signature over the statement it
 * claims (with the size announced and the facts of the image's first 288
 * bytes), and the board's rules. What is left is whether the bytes are the
 * ones signed: on ok, the session compares the SHA-256 it computes with the
 * returned claim's after the last byte (a mismatch is tamperedImage()).
 */
export function checkSignatureAtHead(signatureFile: Uint8Array | string | undefined, image: { size: number; facts: ImageFacts | undefined }, policy: SignaturePolicy, verifier: SignatureVerifier): SignatureVerdict {
  if (!policy.required) return { ok: true, signed: false };
  let claimed = "";
  try {
    if (signatureFile !== undefined && signatureFile.length > 0) claimed = parseSignatureFile(signatureFile).claim.sha256;
  } catch (error) {
    if (!(error instanceof SignatureFileError)) throw error; // checkSignature words it
  }
  // With the claimed SHA-256 taken as the image's, everything but the bytes themselves is judged.
  return checkSignature(signatureFile, { sha256: claimed, size: image.size, facts: image.facts }, policy, verifier);
}

/**
 * The board's own rules (chip, project, downgrade) on an image's facts, which
 * its first 288 bytes already give: the image sink asks before it erases the
 * slot, so an image that could never be committed does not cost the board the
 * previous image it keeps to go back to; checkSignature asks again on the
 * signed claim. Undefined when signatures are off or the facts pass.
 */
export function boardRuleRefusal(facts: ImageFacts | undefined, policy: SignaturePolicy): { ok: false; refusal: Refusal; message: string } | undefined {
  if (!policy.required) return undefined;
  if (policy.keys.length === 0) return refuse("no-usable-key", noUsableKey(policy));
  if (!facts) return refuse("no-descriptor", NO_DESCRIPTOR);
  const board = policy.board;
  if (facts.chipId !== board.chipId) return refuse("wrong-chip", wrongChip(chipName(facts.chipId), chipName(board.chipId)));
  if (facts.projectName !== board.projectName) return refuse("wrong-project", `Image is for project "${facts.projectName}", this board runs "${board.projectName}"`);
  if (facts.secureVersion < board.secureVersion) {
    return refuse("downgrade", `Downgrade refused: the image's secure_version ${facts.secureVersion} is lower than the running firmware's ${board.secureVersion}`);
  }
  return undefined;
}

/** What the update engine needs to check signatures: the board's policy and a P-256 verifier. */
export interface SignatureCheck {
  policy: SignaturePolicy;
  verifier: SignatureVerifier;
}

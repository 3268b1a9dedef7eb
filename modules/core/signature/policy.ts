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

/** What the image's first 288 bytes and its announced size say, before anything is erased. */
export interface ImageHead {
  size: number;
  /** From ImageFactsReader / readImageFacts; undefined when the image has no esp_app_desc_t. */
  facts: ImageFacts | undefined;
}

/** What the session knows about the image once every byte is in. */
export interface ReceivedImage extends ImageHead {
  /** SHA-256 of every byte received (the whole file), raw or lowercase hex. */
  sha256: Uint8Array | string;
}

/** The .sig as it came with the image: its bytes (or text), why what came cannot be one, or undefined when none came. */
export type SignatureInput = Uint8Array | string | { unreadable: string } | undefined;

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
 * bytes (or text); undefined when there was none. Without the image's SHA-256
 * (judged on its head) the one the file claims stands in: the caller then
 * compares the bytes' own with the returned claim's.
 */
export function verifySignature(signatureFile: Uint8Array | string | undefined, image: ImageHead & { sha256?: Uint8Array | string }, keys: readonly TrustedKey[], verifier: SignatureVerifier): Authenticity {
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
  const signed = file.claim;
  // The .sig's own claim passed claimProblem when parsed; the image's facts are checked here, before they are
  // compared or shown: a control character in its project or version could forge a statement line.
  if (claimProblem({ ...signed, ...facts })) return notOwner("bad-signature", "the image's app description cannot be signed (a control character in its project or version)");
  const sha256 = image.sha256 === undefined ? signed.sha256 : typeof image.sha256 === "string" ? image.sha256.toLowerCase() : toHex(image.sha256);
  // Facts first: they come from the image's head, so a swapped signature is named before any byte is hashed.
  if (signed.projectName !== facts.projectName) return notOwner("swapped", `the signature is for project "${signed.projectName}", this image is "${facts.projectName}"`);
  if (signed.version !== facts.version) return notOwner("swapped", `the signature is for version ${signed.version}, this image is version ${facts.version}`);
  if (signed.secureVersion !== facts.secureVersion) return notOwner("swapped", `the signature is for secure_version ${signed.secureVersion}, this image has ${facts.secureVersion}`);
  if (signed.sha256 !== sha256 || signed.size !== image.size) return refuse("tampered", tamperedImage());
  const key = keys.find((k) => k.id === file.keyId);
  if (!key) return refuse("unknown-key", unknownKey(file.keyId, keys));
  // The claim checked is rebuilt from the image itself, never taken from the file.
  const claim: Claim = { sha256, size: image.size, ...facts };
  if (!signatureInRange(file.signature) || !verifier.verifyP256(statementBytes(claim), file.signature, key.point)) {
    return notOwner("bad-signature", `the signature does not verify with key ${key.fingerprint}`);
  }
  return { ok: true, key, claim };
}

/**
 * The whole decision as far as the image's head allows, before anything is
 * erased: the board's rules on the head's facts (the image itself says it can
 * never be committed here, signed or not), then the signature file, its key
 * and the signature over the statement it claims, with the size announced.
 * What is left is whether the bytes are the ones signed: on ok, compare the
 * SHA-256 of the bytes with the returned claim's (signedBytesRefusal).
 */
export function checkSignatureAtHead(signature: SignatureInput, head: ImageHead, policy: SignaturePolicy, verifier: SignatureVerifier): SignatureVerdict {
  if (!policy.required) return { ok: true, signed: false };
  const rule = boardRuleRefusal(head.facts, policy);
  if (rule) return rule;
  if (signature !== undefined && typeof signature !== "string" && !(signature instanceof Uint8Array)) return refuse("malformed", unreadableSignature(signature.unreadable));
  const authentic = verifySignature(signature, head, policy.keys, verifier);
  return authentic.ok ? { ok: true, signed: true, key: authentic.key, claim: authentic.claim } : authentic;
}

/** After the last byte: undefined when the bytes are the ones `claim` (checkSignatureAtHead's) signed, else the "tampered" refusal. */
export function signedBytesRefusal(claim: Claim, sha256: string, size: number): { ok: false; refusal: Refusal; message: string } | undefined {
  return sha256.toLowerCase() === claim.sha256 && size === claim.size ? undefined : refuse("tampered", tamperedImage());
}

/**
 * The whole decision on an image whose bytes are all in (benches, tests, the
 * engine's two steps in one call): checkSignatureAtHead(), then the bytes.
 */
export function checkSignature(signature: SignatureInput, image: ReceivedImage, policy: SignaturePolicy, verifier: SignatureVerifier): SignatureVerdict {
  // The head alone, as the engine has it before the bytes (given the SHA-256, verifySignature would do the second step itself).
  const verdict = checkSignatureAtHead(signature, { size: image.size, facts: image.facts }, policy, verifier);
  if (!verdict.ok || !verdict.signed) return verdict;
  const sha256 = typeof image.sha256 === "string" ? image.sha256 : toHex(image.sha256);
  return signedBytesRefusal(verdict.claim, sha256, image.size) ?? verdict;
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

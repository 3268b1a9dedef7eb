// What a mod signature says, and the decisions on it: the same scheme as a
// firmware signature (ECDSA P-256 over SHA-256 of a canonical statement, a
// plain-text .sig beside the file; signature/statement.ts, sig-file.ts,
// policy.ts), with a statement of its own so a firmware signature can never be
// taken for a mod's, nor the other way round.
//
// Canonical form: UTF-8, "\n" line ends, these seven lines in this order:
//   moddable-ota mod signature 1
//   sha256: <64 lowercase hex: the .xsa as served>
//   size: <decimal>
//   name: <ota-mod.json "name">
//   version: <ota-mod.json "version">
//   xs: <major>.<minor>          the XS the mod was built for (its VERS)
//   host: <host app name>        the firmware's project_name it is for
// followed in the .sig by `key: <64 hex>` and `signature: <128 hex>`, as a
// firmware .sig.
//
// Two moments (mod-sink.ts): at the head, before anything is erased, the key is
// one of the board's, the signature verifies over the claim the file makes, and
// the claim's size, XS and host fit this download and this board; at the commit,
// the bytes' SHA-256 and size and the archive's own name and version are the
// claim's.
import type { SignatureVerifier } from "../ports";
import { isHex, utf8Encode } from "../bytes";
import { SignatureFileError, decimal, fromHex, readSignatureLines, signatureLines } from "../signature/sig-file";
import { signatureInRange } from "../signature/p256";
import { NOT_SIGNED_BY_OWNER, noUsableKey, unknownKey, unreadableSignature, type Refusal, type SignatureInput, type SignaturePolicy } from "../signature/policy";
import type { TrustedKey } from "../signature/keys";

export const MOD_STATEMENT_MAGIC = "moddable-ota mod signature 1";

/** What a mod signature vouches for. */
export interface ModClaim {
  /** SHA-256 of the whole .xsa, lowercase hex. */
  sha256: string;
  size: number;
  name: string;
  version: string;
  /** The XS major and minor of its VERS. */
  xs: { major: number; minor: number };
  /** The host firmware's app (project) name. */
  host: string;
}

export interface ModSignatureFile {
  claim: ModClaim;
  keyId: string;
  signature: Uint8Array;
}

/** Why a claim cannot be written as a statement, or undefined when it can. */
export function modClaimProblem(claim: ModClaim): string | undefined {
  if (!isHex(claim.sha256, 64) || claim.sha256 !== claim.sha256.toLowerCase()) return "the SHA-256 must be 64 lowercase hex digits";
  if (!Number.isSafeInteger(claim.size) || claim.size <= 0) return "the size must be a positive whole number";
  for (const part of [claim.xs.major, claim.xs.minor]) if (!Number.isInteger(part) || part < 0 || part > 255) return "the XS version must be two numbers 0..255";
  for (const [field, value] of [["name", claim.name], ["version", claim.version], ["host", claim.host]] as const) {
    if (value.length === 0) return `the ${field} is empty`;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c < 0x20 || c === 0x7f) return `the ${field} contains a control character`; // one field per line
    }
  }
  return undefined;
}

/** The canonical statement (throws when modClaimProblem() objects). */
export function modStatementText(claim: ModClaim): string {
  const problem = modClaimProblem(claim);
  if (problem) throw new Error(`Cannot state this mod: ${problem}`);
  return (
    `${MOD_STATEMENT_MAGIC}\n` +
    `sha256: ${claim.sha256}\n` +
    `size: ${claim.size}\n` +
    `name: ${claim.name}\n` +
    `version: ${claim.version}\n` +
    `xs: ${claim.xs.major}.${claim.xs.minor}\n` +
    `host: ${claim.host}\n`
  );
}

export function modStatementBytes(claim: ModClaim): Uint8Array {
  return utf8Encode(modStatementText(claim));
}

const FIELDS = ["sha256", "size", "name", "version", "xs", "host", "key", "signature"] as const;

/** Parses a mod's .sig (bytes or text); throws SignatureFileError with the reason, as a firmware .sig does. */
export function parseModSignatureFile(input: Uint8Array | string): ModSignatureFile {
  const values = readSignatureLines(input, MOD_STATEMENT_MAGIC, FIELDS, (first) =>
    first?.startsWith("moddable-ota ") ? `a "${first}", not a mod signature` : "not a moddable-ota mod signature file",
  );
  const xs = /^([0-9]{1,3})\.([0-9]{1,3})$/.exec(values.xs);
  if (!xs) throw new SignatureFileError("xs is not <major>.<minor>");
  const claim: ModClaim = {
    sha256: values.sha256.toLowerCase(),
    size: decimal(values.size, "size", Number.MAX_SAFE_INTEGER),
    name: values.name,
    version: values.version,
    xs: { major: Number(xs[1]), minor: Number(xs[2]) },
    host: values.host,
  };
  const problem = modClaimProblem(claim);
  if (problem) throw new SignatureFileError(problem);
  return { claim, keyId: values.key.toLowerCase(), signature: fromHex(values.signature) };
}

/** Writes a mod's .sig: the statement, then the key id and the signature. */
export function formatModSignatureFile(file: ModSignatureFile): string {
  const tail = signatureLines(file.keyId, file.signature);
  return modStatementText(file.claim) + tail;
}

/** The board a mod must fit: its firmware's XS and app name. */
export interface ModBoard {
  xs: { major: number; minor: number };
  /** The host firmware's project_name (SignaturePolicy.board.projectName). */
  host: string;
}

export type ModSignatureVerdict =
  | { ok: true; signed: false }
  | { ok: true; signed: true; key: TrustedKey; claim: ModClaim }
  | { ok: false; refusal: Refusal; message: string };

const refuse = (refusal: Refusal, message: string): { ok: false; refusal: Refusal; message: string } => ({ ok: false, refusal, message });
const notOwner = (refusal: Refusal, why: string) => refuse(refusal, `${NOT_SIGNED_BY_OWNER}: ${why}`);

/** The "missing" refusal for a mod. */
export function missingModSignature(): string {
  return `${NOT_SIGNED_BY_OWNER}: the mod has no signature`;
}

/**
 * Before anything is erased: with signatures required, the .sig must be a mod
 * signature by one of the board's keys, valid over the claim it makes, for this
 * download's size, this firmware's XS and this host. On ok and signed, the
 * commit compares the bytes and the archive's name and version with `claim`
 * (modSignedBytesRefusal).
 */
export function checkModSignatureAtHead(signature: SignatureInput, size: number, board: ModBoard, policy: SignaturePolicy, verifier: SignatureVerifier): ModSignatureVerdict {
  if (!policy.required) return { ok: true, signed: false };
  if (policy.keys.length === 0) return refuse("no-usable-key", noUsableKey(policy));
  if (signature !== undefined && typeof signature !== "string" && !(signature instanceof Uint8Array)) return refuse("malformed", unreadableSignature(signature.unreadable));
  if (signature === undefined || signature.length === 0) return refuse("missing", missingModSignature());
  let file: ModSignatureFile;
  try {
    file = parseModSignatureFile(signature);
  } catch (error) {
    if (error instanceof SignatureFileError) return refuse("malformed", unreadableSignature(error.message));
    throw error;
  }
  const claim = file.claim;
  const key = policy.keys.find((k) => k.id === file.keyId);
  if (!key) return refuse("unknown-key", unknownKey(file.keyId, policy.keys));
  if (!signatureInRange(file.signature) || !verifier.verifyP256(modStatementBytes(claim), file.signature, key.point)) {
    return notOwner("bad-signature", `the signature does not verify with key ${key.fingerprint}`);
  }
  // Signed by the owner: now is it for this download and this board?
  if (claim.size !== size) return notOwner("tampered", `the signature is for a mod of ${claim.size} bytes, this one has ${size}`);
  if (claim.host !== board.host) return notOwner("swapped", `the signature is for mods of "${claim.host}", this board runs "${board.host}"`);
  if (claim.xs.major !== board.xs.major || claim.xs.minor !== board.xs.minor) {
    return notOwner("swapped", `the signature is for XS ${claim.xs.major}.${claim.xs.minor}, this board's firmware has XS ${board.xs.major}.${board.xs.minor}`);
  }
  return { ok: true, signed: true, key, claim };
}

/** After the last byte: undefined when the bytes and the archive are the ones `claim` names, else the refusal. */
export function modSignedBytesRefusal(claim: ModClaim, received: { sha256: string; size: number; name: string; version: string }): { ok: false; refusal: Refusal; message: string } | undefined {
  if (received.sha256.toLowerCase() !== claim.sha256 || received.size !== claim.size) return notOwner("tampered", "the mod was changed after it was signed (its SHA-256 differs)");
  if (received.name !== claim.name || received.version !== claim.version) {
    return notOwner("swapped", `the signature is for ${claim.name} ${claim.version}, this mod is ${received.name} ${received.version}`);
  }
  return undefined;
}

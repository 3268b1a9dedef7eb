// The signature file that sits beside an image (fw.bin -> fw.bin.sig): the
// statement (statement.ts) followed by two lines, the signing key's id and the
// signature:
//   key: <64 lowercase hex: SHA-256 of the key's SubjectPublicKeyInfo, DER>
//   signature: <128 lowercase hex: ECDSA P-256 r || s over SHA-256(statement)>
// Plain text, so `cat fw.bin.sig` shows what was signed. Bounded: a file over
// MAX_SIGNATURE_FILE bytes is refused before it is decoded.
import { isHex, toHex, utf8Decode } from "../bytes";
import { STATEMENT_MAGIC, claimProblem, statementText, type Claim } from "./statement";
import { P256_SIGNATURE_SIZE } from "./p256";

/** Largest .sig accepted (a real one is about 400 bytes: project and version are at most 31 bytes each). */
export const MAX_SIGNATURE_FILE = 1024;

export interface SignatureFile {
  claim: Claim;
  /** SHA-256 of the signing key's SPKI (DER), lowercase hex: which key to try. */
  keyId: string;
  /** r || s, 64 bytes. */
  signature: Uint8Array;
}

export class SignatureFileError extends Error {
  override name = "SignatureFileError";
}

/** Lowercase or uppercase hex to bytes (the length was checked with isHex). */
export function fromHex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
  return out;
}

const FIELDS = ["sha256", "size", "chip", "project", "version", "secure_version", "key", "signature"] as const;

/** A decimal field of a .sig, at most `max`. */
export function decimal(text: string, field: string, max: number): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text) || Number(text) > max) throw new SignatureFileError(`${field} is not a number`);
  return Number(text);
}

/**
 * The lines every .sig shares (firmware and mod): bounded size, `magic` first,
 * then exactly `fields` as "field: value", with sha256, key and signature in hex.
 * `wrongMagic` words a first line that is not `magic`. Throws SignatureFileError.
 */
export function readSignatureLines<F extends string>(input: Uint8Array | string, magic: string, fields: readonly F[], wrongMagic: (first: string | undefined) => string): Record<F, string> {
  if (input.length > MAX_SIGNATURE_FILE) throw new SignatureFileError(`signature file is larger than ${MAX_SIGNATURE_FILE} bytes`);
  const text = typeof input === "string" ? input : utf8Decode(input);
  const lines = text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines[0] !== magic) throw new SignatureFileError(wrongMagic(lines[0]));
  if (lines.length !== fields.length + 1) throw new SignatureFileError(`expected ${fields.length + 1} lines, found ${lines.length}`);
  const values = {} as Record<F, string>;
  fields.forEach((field, i) => {
    const line = lines[i + 1];
    const prefix = `${field}:`;
    if (!line.startsWith(prefix)) throw new SignatureFileError(`line ${i + 2} should be "${field}: ..."`);
    values[field] = line.slice(prefix.length).replace(/^ /, "");
  });
  const hex = values as Record<string, string>;
  if (!isHex(hex.sha256, 64)) throw new SignatureFileError("sha256 is not 64 hex digits");
  if (!isHex(hex.key, 64)) throw new SignatureFileError("key is not 64 hex digits");
  if (!isHex(hex.signature, P256_SIGNATURE_SIZE * 2)) throw new SignatureFileError(`signature is not ${P256_SIGNATURE_SIZE * 2} hex digits`);
  return values;
}

/** The two lines after a statement: the key id and the signature. */
export function signatureLines(keyId: string, signature: Uint8Array): string {
  if (!isHex(keyId, 64)) throw new Error("key id must be 64 hex digits");
  if (signature.length !== P256_SIGNATURE_SIZE) throw new Error(`signature must be ${P256_SIGNATURE_SIZE} bytes`);
  return `key: ${keyId.toLowerCase()}\nsignature: ${toHex(signature)}\n`;
}

/** Parses a .sig file (bytes as read, or text); throws SignatureFileError with the reason. */
export function parseSignatureFile(input: Uint8Array | string): SignatureFile {
  const values = readSignatureLines(input, STATEMENT_MAGIC, FIELDS, () => "not a moddable-ota signature file");
  const claim: Claim = {
    sha256: values.sha256.toLowerCase(),
    size: decimal(values.size, "size", Number.MAX_SAFE_INTEGER),
    chipId: decimal(values.chip, "chip", 0xffff),
    projectName: values.project,
    version: values.version,
    secureVersion: decimal(values.secure_version, "secure_version", 0xffffffff),
  };
  const problem = claimProblem(claim);
  if (problem) throw new SignatureFileError(problem);
  return { claim, keyId: values.key.toLowerCase(), signature: fromHex(values.signature) };
}

/** Writes a .sig file: the statement, then the key id and the signature. */
export function formatSignatureFile(file: SignatureFile): string {
  const tail = signatureLines(file.keyId, file.signature);
  return statementText(file.claim) + tail;
}

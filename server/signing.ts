// Firmware signatures on Node (node:crypto): owner key pairs, signing an image
// into FILE.sig, and checking one. The statement, the .sig format and the
// decision are the core's (modules/core/signature), so what the server signs is
// byte for byte what a board verifies. See docs/signing.md.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { constants, createReadStream } from "node:fs";
import { open, readFile, rename, stat, writeFile } from "node:fs/promises";
import type { SignatureVerifier } from "../modules/core/ports";
import { nodeDigest } from "./node-digest";
import { formatSignatureFile, MAX_SIGNATURE_FILE } from "../modules/core/signature/sig-file";
import { keyConfigText, parsePublicKey, type TrustedKey } from "../modules/core/signature/keys";
import { spkiFromPoint } from "../modules/core/signature/p256";
import { verifySignature, type Authenticity } from "../modules/core/signature/policy";
import { IMAGE_FACTS_BYTES, readImageFacts, statementBytes, claimProblem, type Claim, type ImageFacts } from "../modules/core/signature/statement";
import { unknownChipProblem } from "../modules/core/esp-image-rules";
import { formatModSignatureFile, modClaimProblem, modSignedBytesRefusal, modStatementBytes, parseModSignatureFile, type ModClaim } from "../modules/core/mods/mod-statement";
import { SignatureFileError } from "../modules/core/signature/sig-file";
import { signatureInRange } from "../modules/core/signature/p256";
import { NOT_SIGNED_BY_OWNER, unknownKey, unreadableSignature } from "../modules/core/signature/policy";
import type { ArchiveFacts } from "../modules/core/mods/archive";
import { ModReader } from "./mod-facts";

/** ECDSA P-256 / SHA-256 over node:crypto, r || s signatures (IEEE P1363). */
export const nodeVerifier: SignatureVerifier = {
  verifyP256(message, signature, publicKey) {
    try {
      const key = createPublicKey({ key: Buffer.from(spkiFromPoint(publicKey)), format: "der", type: "spki" });
      return verify("sha256", message, { key, dsaEncoding: "ieee-p1363" }, signature);
    } catch {
      return false;
    }
  },
};

/** Writes a new file with exactly `mode` (a private key: 0600, whatever the umask); refuses to replace one. */
export async function writeNewFile(path: string, text: string, mode: number): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await handle.chmod(mode); // exact, whatever the umask
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

export class SigningError extends Error {
  override name = "SigningError";
}

export interface KeyPair {
  /** PKCS#8 PEM. Secret: never log it. */
  privatePem: string;
  /** SubjectPublicKeyInfo PEM. */
  publicPem: string;
  key: TrustedKey;
}

export function newKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  return { privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(), publicPem, key: parsePublicKey(publicPem, nodeDigest) };
}

/** The one-line form of a public key that goes into the manifest config. */
export function configLine(key: TrustedKey): string {
  return keyConfigText(key.spki);
}

/**
 * Loads a P-256 private key: PKCS#8 ("BEGIN PRIVATE KEY", what `keys new`
 * writes) or SEC1 ("BEGIN EC PRIVATE KEY", what openssl ecparam and
 * `espsecure generate_signing_key --scheme ecdsa256` write). Errors never
 * quote the file.
 */
export async function loadPrivateKey(path: string): Promise<{ key: KeyObject; publicKey: TrustedKey }> {
  let text: Buffer;
  try {
    text = await readFile(path);
  } catch (error) {
    throw new SigningError(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: "pem" });
  } catch {
    throw new SigningError(`${path} is not an unencrypted private key in PEM form`);
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new SigningError(`${path} is a ${key.asymmetricKeyType} key${key.asymmetricKeyDetails?.namedCurve ? ` on ${key.asymmetricKeyDetails.namedCurve}` : ""}; firmware signatures need ECDSA P-256 (prime256v1)`);
  }
  const publicPem = createPublicKey(key).export({ type: "spki", format: "pem" }).toString();
  return { key, publicKey: parsePublicKey(publicPem, nodeDigest) };
}

/** Loads the public keys to verify with: PEM files or files holding the one-line config form. */
export async function loadPublicKeys(paths: readonly string[]): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      throw new SigningError(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
    }
    if (/PRIVATE KEY-----/.test(text)) throw new SigningError(`${path} is a private key; give the public key (the .pub file)`);
    try {
      keys.push(parsePublicKey(text, nodeDigest));
    } catch (error) {
      throw new SigningError(`${path}: ${(error as Error).message}`);
    }
  }
  return keys;
}

export interface ImageDigest {
  sha256: string;
  size: number;
  facts: ImageFacts | undefined;
}

/** Streams a file once: SHA-256 of every byte, its size, and the facts from its head. */
export async function digestImage(path: string): Promise<ImageDigest> {
  const hash = createHash("sha256");
  const head = Buffer.alloc(IMAGE_FACTS_BYTES);
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>) {
    if (size < head.length) chunk.copy(head, size, 0, Math.min(chunk.length, head.length - size));
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest("hex"), size, facts: readImageFacts(new Uint8Array(head.buffer, head.byteOffset, Math.min(size, head.length))) };
}

export interface Signed {
  sigPath: string;
  claim: Claim;
}

/** Signs `path` with `key` into `path`.sig (written whole, then renamed into place). */
export async function signImageFile(path: string, key: { key: KeyObject; publicKey: TrustedKey }): Promise<Signed> {
  const image = await digestImage(path);
  if (image.size === 0) throw new SigningError(`${path} is empty`);
  if (!image.facts) throw new SigningError(`${path} has no esp_app_desc_t (not an ESP32 app image built by ESP-IDF), so it cannot be signed`);
  const claim: Claim = { sha256: image.sha256, size: image.size, ...image.facts };
  const problem = claimProblem(claim) ?? unknownChipProblem(claim.chipId);
  if (problem) throw new SigningError(`${path}: cannot sign: ${problem}`);
  const statement = statementBytes(claim);
  const signature = new Uint8Array(sign("sha256", statement, { key: key.key, dsaEncoding: "ieee-p1363" }));
  if (!nodeVerifier.verifyP256(statement, signature, key.publicKey.point)) throw new SigningError("the signature made does not verify (broken key?)");
  const sigPath = `${path}.sig`;
  await writeSigFile(sigPath, formatSignatureFile({ claim, keyId: key.publicKey.id, signature }));
  return { sigPath, claim };
}

/** Checks `path` against its signature file (default `path`.sig) and the given keys. */
/** Writes `text` as `sigPath` through a temporary file, so a reader never sees half a .sig. */
async function writeSigFile(sigPath: string, text: string): Promise<void> {
  const temporary = `${sigPath}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, sigPath);
}

/** Reads the .sig beside a file: undefined when there is none; refuses one too large to be a signature. */
async function readSigFile(sigPath: string): Promise<Uint8Array | undefined> {
  try {
    if ((await stat(sigPath)).size > MAX_SIGNATURE_FILE) throw new SigningError(`${sigPath} is larger than ${MAX_SIGNATURE_FILE} bytes: not a signature file`);
    return new Uint8Array(await readFile(sigPath));
  } catch (error) {
    if (error instanceof SigningError) throw error;
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new SigningError(`cannot read ${sigPath} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
    return undefined;
  }
}

export interface ModDigest {
  sha256: string;
  size: number;
  /** The archive's facts, or why it is not a mod. */
  mod: { ok: true; facts: ArchiveFacts } | { ok: false; error: string };
}

/** Streams a .xsa once: SHA-256, size, and the core's archive check (layout, SIGN, name and version). */
export async function digestMod(path: string): Promise<ModDigest> {
  const hash = createHash("sha256");
  const reader = new ModReader();
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 4096 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    reader.write(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest("hex"), size, mod: reader.end() };
}

/** Signs a mod for the firmware `host` (its project name): writes FILE.sig (docs/signing.md, mods). */
export async function signModFile(path: string, key: { key: KeyObject; publicKey: TrustedKey }, host: string): Promise<{ sigPath: string; claim: ModClaim }> {
  const mod = await digestMod(path);
  if (!mod.mod.ok) throw new SigningError(`${path}: cannot sign: ${mod.mod.error}`);
  const facts = mod.mod.facts;
  if (!facts.version) throw new SigningError(`${path}: cannot sign: the mod has no ota-mod.json naming its version`);
  const claim: ModClaim = { sha256: mod.sha256, size: mod.size, name: facts.name, version: facts.version, xs: { major: facts.xs.major, minor: facts.xs.minor }, host };
  const problem = modClaimProblem(claim);
  if (problem) throw new SigningError(`${path}: cannot sign: ${problem}`);
  const statement = modStatementBytes(claim);
  const signature = new Uint8Array(sign("sha256", statement, { key: key.key, dsaEncoding: "ieee-p1363" }));
  if (!nodeVerifier.verifyP256(statement, signature, key.publicKey.point)) throw new SigningError("the signature made does not verify (broken key?)");
  const sigPath = `${path}.sig`;
  await writeSigFile(sigPath, formatModSignatureFile({ claim, keyId: key.publicKey.id, signature }));
  return { sigPath, claim };
}

export type ModAuthenticity = { ok: true; key: TrustedKey; claim: ModClaim } | { ok: false; message: string };

/** Checks a .xsa against its .sig: one of `keys` signed this very archive (bytes, name, version, XS). */
export async function verifyModFile(path: string, keys: readonly TrustedKey[], sigPath = `${path}.sig`): Promise<ModAuthenticity> {
  const sig = await readSigFile(sigPath);
  if (sig === undefined) return { ok: false, message: `${NOT_SIGNED_BY_OWNER}: the mod has no signature` };
  let file;
  try {
    file = parseModSignatureFile(sig);
  } catch (error) {
    if (error instanceof SignatureFileError) return { ok: false, message: unreadableSignature(error.message) };
    throw error;
  }
  const key = keys.find((k) => k.id === file.keyId);
  if (!key) return { ok: false, message: unknownKey(file.keyId, keys) };
  if (!signatureInRange(file.signature) || !nodeVerifier.verifyP256(modStatementBytes(file.claim), file.signature, key.point)) {
    return { ok: false, message: `${NOT_SIGNED_BY_OWNER}: the signature does not verify with key ${key.fingerprint}` };
  }
  const mod = await digestMod(path);
  if (!mod.mod.ok) return { ok: false, message: mod.mod.error };
  const facts = mod.mod.facts;
  const refusal = modSignedBytesRefusal(file.claim, { sha256: mod.sha256, size: mod.size, name: facts.name, version: facts.version });
  if (refusal) return { ok: false, message: refusal.message };
  if (file.claim.xs.major !== facts.xs.major || file.claim.xs.minor !== facts.xs.minor) {
    return { ok: false, message: `${NOT_SIGNED_BY_OWNER}: the signature is for XS ${file.claim.xs.major}.${file.claim.xs.minor}, the archive is for XS ${facts.xs.major}.${facts.xs.minor}` };
  }
  return { ok: true, key, claim: file.claim };
}

export async function verifyImageFile(path: string, keys: readonly TrustedKey[], sigPath = `${path}.sig`): Promise<Authenticity> {
  const sig = await readSigFile(sigPath);
  const image = await digestImage(path);
  return verifySignature(sig, image, keys, nodeVerifier);
}


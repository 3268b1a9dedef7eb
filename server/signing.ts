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
  const temporary = `${sigPath}.${process.pid}.tmp`;
  await writeFile(temporary, formatSignatureFile({ claim, keyId: key.publicKey.id, signature }));
  await rename(temporary, sigPath);
  return { sigPath, claim };
}

/** Checks `path` against its signature file (default `path`.sig) and the given keys. */
export async function verifyImageFile(path: string, keys: readonly TrustedKey[], sigPath = `${path}.sig`): Promise<Authenticity> {
  let sig: Buffer | undefined;
  try {
    if ((await stat(sigPath)).size > MAX_SIGNATURE_FILE) throw new SigningError(`${sigPath} is larger than ${MAX_SIGNATURE_FILE} bytes: not a signature file`);
    sig = await readFile(sigPath);
  } catch (error) {
    if (error instanceof SigningError) throw error;
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new SigningError(`cannot read ${sigPath} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  const image = await digestImage(path);
  return verifySignature(sig === undefined ? undefined : new Uint8Array(sig), image, keys, nodeVerifier);
}


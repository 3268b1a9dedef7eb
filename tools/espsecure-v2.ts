// Espressif's Secure Boot V2 app signing, ported so tests and the demo can make
// and check images laid out exactly as `espsecure sign-data --version 2` leaves
// them (it is a Python tool that this machine cannot install). Not a
// replacement for espsecure: use the real one for boards with secure boot.
//
// Layout, from esptool espsecure/__init__.py (sign_secure_boot_v2,
// generate_rsa_signature_block, generate_ecdsa_signature_block) and ESP-IDF
// ets_secure_boot_sig_block_t (esp_rom .../rom/secure_boot.h):
// - the image is padded with 0xFF to a multiple of 4096 (SECTOR_SIZE);
// - then one 4096-byte signature sector: up to 3 blocks of 1216 bytes, the
//   rest 0xFF. A block: magic 0xE7, version (0x02 RSA-PSS, 0x03 ECDSA), the
//   SHA-256 of the padded image, key and signature (little-endian numbers),
//   CRC32 (zlib) of the first 1196 bytes, 16 zero bytes.
//   RSA-3072 "<BBxx32s384sI384sI384s": n, e, rinv = 2^6144 mod n, m' = -n^-1 mod 2^32, signature.
//   ECDSA P-256 "<BBBx32sB64s64s1031x": sha type 0, curve id 2, X||Y, r||s.
import { createHash, createPublicKey, sign, verify, constants, type KeyObject } from "node:crypto";
import { crc32 } from "node:zlib";

export const SECTOR_SIZE = 4096;
export const SIG_BLOCK_SIZE = 1216;
const CRC_LENGTH = 1196;
const MAGIC = 0xe7;
const VERSION_RSA = 0x02;
const VERSION_ECDSA = 0x03;
const CURVE_P256 = 2;

function bigFromBase64url(text: string): bigint {
  return BigInt(`0x${Buffer.from(text, "base64url").toString("hex") || "0"}`);
}

/** Little-endian bytes of `v`, `length` long. */
function littleEndian(v: bigint, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

function fromLittleEndian(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  return v;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [a % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % m) + m) % m;
}

function sha256(bytes: Uint8Array): Buffer {
  return createHash("sha256").update(bytes).digest();
}

function block(privateKey: KeyObject, contents: Uint8Array): Buffer {
  const digest = sha256(contents);
  const out = Buffer.alloc(SIG_BLOCK_SIZE);
  out[0] = MAGIC;
  const jwk = createPublicKey(privateKey).export({ format: "jwk" });
  if (privateKey.asymmetricKeyType === "rsa") {
    const n = bigFromBase64url(jwk.n ?? "");
    if (privateKey.asymmetricKeyDetails?.modulusLength !== 3072) throw new Error("Secure Boot V2 RSA keys are 3072 bits");
    const signature = sign("sha256", contents, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    out[1] = VERSION_RSA;
    digest.copy(out, 4);
    littleEndian(n, 384).copy(out, 36);
    out.writeUInt32LE(Number(bigFromBase64url(jwk.e ?? "")), 420);
    littleEndian((1n << 6144n) % n, 384).copy(out, 424);
    out.writeUInt32LE(Number((-modInverse(n, 1n << 32n)) & 0xffffffffn), 808);
    Buffer.from(signature).reverse().copy(out, 812);
  } else if (privateKey.asymmetricKeyType === "ec" && privateKey.asymmetricKeyDetails?.namedCurve === "prime256v1") {
    const rs = sign("sha256", contents, { key: privateKey, dsaEncoding: "ieee-p1363" });
    out[1] = VERSION_ECDSA;
    out[2] = 0; // ECDSA_SHA_256
    digest.copy(out, 4);
    out[36] = CURVE_P256;
    Buffer.from(jwk.x ?? "", "base64url").reverse().copy(out, 37);
    Buffer.from(jwk.y ?? "", "base64url").reverse().copy(out, 69);
    Buffer.from(rs.subarray(0, 32)).reverse().copy(out, 101);
    Buffer.from(rs.subarray(32)).reverse().copy(out, 133);
  } else throw new Error("Secure Boot V2 signs with RSA-3072 or ECDSA P-256 here");
  out.writeUInt32LE(crc32(out.subarray(0, CRC_LENGTH)), CRC_LENGTH);
  return out;
}

/** The image padded to 4 KB with one signature sector appended, as espsecure writes it. */
export function signSecureBootV2(image: Uint8Array, privateKey: KeyObject): Uint8Array {
  const padded = Math.ceil(image.length / SECTOR_SIZE) * SECTOR_SIZE;
  const contents = Buffer.alloc(padded, 0xff);
  contents.set(image, 0);
  const sector = Buffer.alloc(SECTOR_SIZE, 0xff);
  block(privateKey, contents).copy(sector, 0);
  return new Uint8Array(Buffer.concat([contents, sector]));
}

export interface SecureBootV2Block {
  version: number;
  /** The block's image digest equals SHA-256 of everything before the sector. */
  digestMatches: boolean;
  /** Its signature verifies with the key it carries. */
  signatureValid: boolean;
}

/**
 * Reads and checks the signature sector at the end of a signed image, as the
 * bootloader does (a block counts when its magic and CRC are right; then its
 * digest and signature). Undefined when the file does not end in one.
 */
export function checkSecureBootV2(file: Uint8Array): SecureBootV2Block[] | undefined {
  if (file.length < 2 * SECTOR_SIZE || file.length % SECTOR_SIZE !== 0) return undefined;
  const contents = file.subarray(0, file.length - SECTOR_SIZE);
  const digest = sha256(contents);
  const blocks: SecureBootV2Block[] = [];
  for (let i = 0; i < 3; i++) {
    const b = Buffer.from(file.subarray(contents.length + i * SIG_BLOCK_SIZE, contents.length + (i + 1) * SIG_BLOCK_SIZE));
    if (b[0] !== MAGIC || b.readUInt32LE(CRC_LENGTH) !== crc32(b.subarray(0, CRC_LENGTH))) continue;
    const digestMatches = digest.equals(b.subarray(4, 36));
    let signatureValid = false;
    if (b[1] === VERSION_RSA) {
      const n = fromLittleEndian(b.subarray(36, 420));
      const key = createPublicKey({ key: { kty: "RSA", n: Buffer.from(n.toString(16).padStart(768, "0"), "hex").toString("base64url"), e: Buffer.from(b.readUInt32LE(420).toString(16).padStart(6, "0"), "hex").toString("base64url") }, format: "jwk" });
      signatureValid = verify("sha256", contents, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, Buffer.from(b.subarray(812, 1196)).reverse());
    } else if (b[1] === VERSION_ECDSA && b[36] === CURVE_P256) {
      const key = createPublicKey({
        key: { kty: "EC", crv: "P-256", x: Buffer.from(b.subarray(37, 69)).reverse().toString("base64url"), y: Buffer.from(b.subarray(69, 101)).reverse().toString("base64url") },
        format: "jwk",
      });
      const rs = Buffer.concat([Buffer.from(b.subarray(101, 133)).reverse(), Buffer.from(b.subarray(133, 165)).reverse()]);
      signatureValid = verify("sha256", contents, { key, dsaEncoding: "ieee-p1363" }, rs);
    }
    blocks.push({ version: b[1], digestMatches, signatureValid });
  }
  return blocks;
}

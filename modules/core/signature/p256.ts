// NIST P-256 (secp256r1) facts the core checks itself, whatever verifier the
// host plugs in: a public key must be a point on the curve, and a signature's r
// and s must lie in 1..n-1. The second check matters: Moddable's ecdsa.js (like
// Java before CVE-2022-21449) does not do it, and r = s = 0 can then verify.
// Curve parameters: SEC 2 v2 section 2.4.2 (also modules/crypt/etc/curve.js).

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
/** Order of the base point. */
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** Uncompressed SEC1 point: 0x04 || X (32) || Y (32). */
export const P256_POINT_SIZE = 65;
/** Raw signature: r (32) || s (32), big-endian (IEEE P1363, what `dsaEncoding: "ieee-p1363"` gives). */
export const P256_SIGNATURE_SIZE = 64;

/**
 * DER prefix of a SubjectPublicKeyInfo holding an uncompressed P-256 point
 * (RFC 5480: SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING 0x00 04.. }).
 * Every SPKI of such a key is this prefix followed by the 65-byte point.
 */
export const P256_SPKI_PREFIX = Uint8Array.of(
  0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
);
export const P256_SPKI_SIZE = P256_SPKI_PREFIX.length + P256_POINT_SIZE;

function toBigInt(bytes: Uint8Array, at: number, length: number): bigint {
  let v = 0n;
  for (let i = at; i < at + length; i++) v = (v << 8n) | BigInt(bytes[i]);
  return v;
}

function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

/** True when `point` is an uncompressed P-256 point that lies on the curve (y^2 = x^3 - 3x + b mod p). */
export function isP256Point(point: Uint8Array): boolean {
  if (point.length !== P256_POINT_SIZE || point[0] !== 0x04) return false;
  const x = toBigInt(point, 1, 32);
  const y = toBigInt(point, 33, 32);
  if (x >= P || y >= P) return false;
  return mod(y * y) === mod(x * x * x - 3n * x + B);
}

/** True when both halves of an r || s signature lie in 1..n-1. */
export function signatureInRange(signature: Uint8Array): boolean {
  if (signature.length !== P256_SIGNATURE_SIZE) return false;
  const r = toBigInt(signature, 0, 32);
  const s = toBigInt(signature, 32, 32);
  return r > 0n && r < N && s > 0n && s < N;
}

/** The point inside a P-256 SubjectPublicKeyInfo (DER), or undefined when it is not one. */
export function pointFromSpki(spki: Uint8Array): Uint8Array | undefined {
  if (spki.length !== P256_SPKI_SIZE) return undefined;
  for (let i = 0; i < P256_SPKI_PREFIX.length; i++) if (spki[i] !== P256_SPKI_PREFIX[i]) return undefined;
  return spki.slice(P256_SPKI_PREFIX.length);
}

/** The SubjectPublicKeyInfo (DER) of an uncompressed P-256 point. */
export function spkiFromPoint(point: Uint8Array): Uint8Array {
  const out = new Uint8Array(P256_SPKI_SIZE);
  out.set(P256_SPKI_PREFIX, 0);
  out.set(point, P256_SPKI_PREFIX.length);
  return out;
}

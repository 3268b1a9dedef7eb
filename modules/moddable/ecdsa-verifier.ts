// SignatureVerifier over the SDK's native ECDSA P-256 (modules/crypt/etc/ecdsa.js
// on modules/crypt/arith/ec.c, the code its TLS trusts) and the crypt SHA-256
// Digest. The core has already checked the key is on the curve and that r and
// s lie in 1..n-1 (ecdsa.js checks neither). Mapped in manifest.json with the
// SDK modules it needs (ecdsa, curve, ber, pkcs1, rng, crypt/arith/*).
import ECDSA from "ecdsa";
import Curve from "curve";
import ECPoint from "ecp";
import { cryptDigest } from "./crypt-digest";
import type { SignatureVerifier } from "../core/ports";

let p256: Curve | undefined;

export const nativeVerifier: SignatureVerifier = {
  verifyP256(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
    try {
      p256 ??= new Curve("secp256r1");
      const digest = cryptDigest("SHA256"); // the SDK's typings take no typed array; the adapter does
      digest.write(message);
      const hash = digest.close().buffer as ArrayBuffer;
      return new ECDSA(ECPoint.fromOctetString(publicKey), p256, false).verify(hash, signature.slice()) === true;
    } catch {
      return false; // a malformed key or signature is a failed check, never an escape
    }
  },
};

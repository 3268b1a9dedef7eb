// The SDK's ECDSA over its native elliptic-curve arithmetic (what its TLS uses).
// Sources (Moddable SDK 8.2.3): modules/crypt/etc/ecdsa.js (verify(H, sig):
// H an ArrayBuffer digest, sig r || s; no range check of r and s),
// modules/crypt/etc/curve.js ("secp256r1"), modules/crypt/arith/ecp.js
// (ECPoint.fromOctetString takes 0x04 || X || Y; no on-curve check),
// modules/crypt/arith/ec.c (xs_ec2_mul2, native). Manifest: modules/crypt/tls_common.json
// maps them ("ecdsa", "curve", "ber", "pkcs1", "rng", and $(MODULES)/crypt/arith/*).

declare module "ecp" {
  export default class ECPoint {
    static fromOctetString(os: Uint8Array): ECPoint;
    get X(): bigint;
    get Y(): bigint;
  }
}

declare module "curve" {
  export default class Curve {
    constructor(name: "secp256r1" | "secp384r1");
  }
}

declare module "ecdsa" {
  import type ECPoint from "ecp";
  import type Curve from "curve";
  export default class ECDSA {
    /** Verification: the public point, the curve, false (not a private key). */
    constructor(key: ECPoint, curve: Curve, priv: false);
    /** True when `signature` (r || s, or DER when asn1) signs the digest `H`. */
    verify(H: ArrayBuffer, signature: ArrayBuffer | Uint8Array, asn1?: boolean): boolean;
  }
}

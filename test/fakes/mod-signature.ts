// Signs mods as the server's signer would (modules/core/mods/mod-statement.ts),
// with the fixed test keys of signature.ts. Engine-neutral (Node and XS).
import { p256 } from "@noble/curves/nist.js";
import { formatModSignatureFile, modStatementBytes, type ModClaim } from "../../modules/core/mods/mod-statement";
import { modClaimOf } from "../../tools/xs-archive";
import { nobleDigest } from "./digest";
import type { TestKey } from "./signature";

/** The claim for a mod's bytes: its SHA-256, size, ota-mod.json name and version, VERS, and the host it is for. */
export function modClaimFor(mod: Uint8Array, host: string): ModClaim {
  return modClaimOf(mod, host, nobleDigest);
}

export function signModClaim(claim: ModClaim, key: TestKey): string {
  const signature = p256.sign(modStatementBytes(claim), key.secret, { lowS: false, format: "compact" });
  return formatModSignatureFile({ claim, keyId: key.id, signature });
}

export function signMod(mod: Uint8Array, key: TestKey, host: string): string {
  return signModClaim(modClaimFor(mod, host), key);
}

// Signs mods as the server's signer would (modules/core/mods/mod-statement.ts),
// with the fixed test keys of signature.ts. Engine-neutral (Node and XS).
import { p256 } from "@noble/curves/nist.js";
import { formatModSignatureFile, modStatementBytes, type ModClaim } from "../../modules/core/mods/mod-statement";
import { ArchiveCheck } from "../../modules/core/mods/archive";
import { nobleDigest, sha256Hex } from "./digest";
import type { TestKey } from "./signature";

/** The claim for a mod's bytes: its SHA-256, size, ota-mod.json name and version, VERS, and the host it is for. */
export function modClaimFor(mod: Uint8Array, host: string): ModClaim {
  const check = new ArchiveCheck(nobleDigest);
  check.write(mod);
  const facts = check.end();
  return { sha256: sha256Hex(mod), size: mod.length, name: facts.name, version: facts.version, xs: { major: facts.xs.major, minor: facts.xs.minor }, host };
}

export function signModClaim(claim: ModClaim, key: TestKey): string {
  const signature = p256.sign(modStatementBytes(claim), key.secret, { lowS: false, format: "compact" });
  return formatModSignatureFile({ claim, keyId: key.id, signature });
}

export function signMod(mod: Uint8Array, key: TestKey, host: string): string {
  return signModClaim(modClaimFor(mod, host), key);
}

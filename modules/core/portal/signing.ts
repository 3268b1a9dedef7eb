// "Signed updates only": what the home and UPDATE pages and /api/status say
// about a board that takes only images signed by its owner (manifest config
// signingKeys, docs/signing.md): the keys' fingerprints, and any configured
// entry that is not a usable key. Nothing is shown while signatures are off.
import type { SignaturePolicy } from "../signature/policy";
import { esc } from "./html";

export const SIGNED_ONLY = "Signed updates only";

/** /api/status "signing": whether only signed images are taken, and by which keys (fingerprints). */
export interface SigningJson {
  required: boolean;
  keys: string[];
  errors?: string[];
}

export function signingJson(policy: SignaturePolicy | undefined): SigningJson {
  if (!policy?.required) return { required: false, keys: [] };
  const json: SigningJson = { required: true, keys: policy.keys.map((k) => k.fingerprint) };
  if (policy.keyErrors.length > 0) json.errors = [...policy.keyErrors];
  return json;
}

/** The section both pages show; "" while signatures are off. */
export function signingSection(policy: SignaturePolicy | undefined): string {
  if (!policy?.required) return "";
  const one = policy.keys.length === 1;
  const keys = policy.keys.map((k, i) => `<dt>Key${one ? "" : ` ${i + 1}`}</dt><dd class=fingerprint>${esc(k.fingerprint)}</dd>`).join("");
  const errors = policy.keyErrors.map((e) => `<p class=error>${esc(e)}</p>`).join("");
  return (
    `<section id=signing><h2>${SIGNED_ONLY}</h2>` +
    `<p class=meta>This board installs only images signed with ${one ? "this key" : "one of these keys"}.</p>` +
    (keys ? `<dl>${keys}</dl>` : `<p class=error>None of the configured keys is usable: every image is refused.</p>`) +
    errors +
    "</section>"
  );
}

// XS side of bench/signature.ts (engine-neutral: bundled and evaluated inside
// xsnap). The board's verify of one signed 1 MB image: SHA-256 over it in 4 KB
// chunks, then the core's decision (statement rebuilt, P-256 check), here with
// the pure-JS reference (@noble/hashes, @noble/curves). Each step is its own
// call so the host reads XS's heap figures between them.
import { checkSignature, signaturePolicy, type SignaturePolicy } from "../modules/core/signature/policy";
import { ImageFactsReader } from "../modules/core/signature/statement";
import { toHex } from "../modules/core/bytes";
import { buildAppImage } from "../test/fakes/app-image";
import { nobleDigest } from "../test/fakes/digest";
import { nobleVerifier } from "../test/fakes/signature";

export type Report = (line: Record<string, unknown>) => void;

export const IMAGE_SIZE = 1024 * 1024;
const CHUNK = 4096;

declare const performance: { now(): number } | undefined;
const now = (): number => (typeof performance !== "undefined" ? performance.now() : Date.now());

/** The image the bench signs (the host builds the same one to sign it). */
export function benchImage(): Uint8Array {
  return buildAppImage({ size: IMAGE_SIZE, version: "1.0.0", secureVersion: 1, seed: 1 });
}

interface State {
  image: Uint8Array;
  policy: SignaturePolicy;
  sig: string;
  sha256?: string;
  facts?: ReturnType<ImageFactsReader["facts"]>;
}
let state: State | undefined;

/** Builds the image and the policy (not timed). */
export function setup(publicKey: string, sig: string): void {
  state = { image: benchImage(), policy: signaturePolicy([publicKey], { chipId: 0, projectName: "ota-device", secureVersion: 1 }, nobleDigest), sig };
}

/** SHA-256 over the image in 4 KB chunks, as the session streams it (facts read on the way). */
export function hashImage(report: Report): void {
  const s = state!;
  const t0 = now();
  const digest = nobleDigest("SHA256");
  const reader = new ImageFactsReader();
  for (let i = 0; i < s.image.length; i += CHUNK) {
    const chunk = s.image.subarray(i, i + CHUNK);
    reader.push(chunk);
    digest.write(chunk);
  }
  s.sha256 = toHex(digest.close());
  s.facts = reader.facts();
  report({ step: "sha256", ms: now() - t0 });
}

/** The decision alone: statement, key, P-256 check, board rules. */
export function checkOnce(report: Report, label: string): void {
  const s = state!;
  const t0 = now();
  const verdict = checkSignature(s.sig, { sha256: s.sha256!, size: s.image.length, facts: s.facts }, s.policy, nobleVerifier);
  const ms = now() - t0;
  if (!verdict.ok || !verdict.signed) throw new Error(`bench image refused: ${verdict.ok ? "unsigned" : verdict.message}`);
  report({ step: label, ms });
}

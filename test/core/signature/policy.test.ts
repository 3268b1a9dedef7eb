// The signature decision (modules/core/signature/policy.ts) on real P-256
// signatures (@noble/curves, on Node and inside XS): each refusal of issue 12
// with its message, rotation, and the checks the core makes whatever verifier
// the host plugs in.
import { test, assert } from "../../harness/t";
import type { SignatureVerifier } from "../../../modules/core/ports";
import { boardRuleRefusal, checkSignature, checkSignatureAtHead, signaturePolicy, signedBytesRefusal, verifySignature, NOT_SIGNED_BY_OWNER, type BoardFacts, type ReceivedImage, type SignatureVerdict } from "../../../modules/core/signature/policy";
import { readImageFacts } from "../../../modules/core/signature/statement";
import { parseSignatureFile, formatSignatureFile } from "../../../modules/core/signature/sig-file";
import { signingKeyEntries } from "../../../modules/core/signature/keys";
import { buildAppImage, appendEspSignatureSector } from "../../fakes/app-image";
import { nobleDigest, sha256Hex } from "../../fakes/digest";
import { nobleVerifier, signImage, signClaim, claimFor, testKey, sha256Bytes } from "../../fakes/signature";

const OWNER = testKey(1);
const OLD_OWNER = testKey(2);
const STRANGER = testKey(3);
const BOARD: BoardFacts = { chipId: 0, projectName: "ota-device", secureVersion: 2 };

const IMAGE = buildAppImage({ size: 20_000, version: "1.2.0", secureVersion: 2, seed: 5 });
const SIG = signImage(IMAGE, OWNER);

function received(image: Uint8Array): ReceivedImage {
  return { sha256: sha256Hex(image), size: image.length, facts: readImageFacts(image) };
}

function decide(sig: string | Uint8Array | undefined, image = IMAGE, keys = [OWNER.config], board = BOARD, verifier: SignatureVerifier = nobleVerifier): SignatureVerdict {
  return checkSignature(sig, received(image), signaturePolicy(keys, board, nobleDigest), verifier);
}

function refused(verdict: SignatureVerdict, refusal: string, message: string | RegExp): void {
  if (verdict.ok) return assert.fail(`expected a refusal (${refusal}), got ok`);
  assert.equal(verdict.refusal, refusal);
  if (typeof message === "string") assert.equal(verdict.message, message);
  else assert.match(verdict.message, message);
}

test("a good signature by the owner's key is accepted, with the key and the claim rebuilt from the image", () => {
  const verdict = decide(SIG);
  if (!verdict.ok || !verdict.signed) return assert.fail(`refused: ${JSON.stringify(verdict)}`);
  assert.equal(verdict.key.id, OWNER.id);
  assert.deepEqual(verdict.claim, { sha256: sha256Hex(IMAGE), size: IMAGE.length, chipId: 0, projectName: "ota-device", version: "1.2.0", secureVersion: 2 });
  // the raw digest (as Digest.close() returns it) works as well as hex
  const raw = checkSignature(SIG, { ...received(IMAGE), sha256: sha256Bytes(IMAGE) }, signaturePolicy([OWNER.config], BOARD, nobleDigest), nobleVerifier);
  assert.equal(raw.ok && raw.signed, true);
});

test("without a configured key signatures are off: anything passes, signed or not", () => {
  assert.deepEqual(decide(undefined, IMAGE, []), { ok: true, signed: false });
  assert.deepEqual(decide("garbage", IMAGE, []), { ok: true, signed: false });
});

test("a missing signature is refused", () => {
  refused(decide(undefined), "missing", `${NOT_SIGNED_BY_OWNER}: the image has no signature`);
  refused(decide(""), "missing", `${NOT_SIGNED_BY_OWNER}: the image has no signature`);
});

test("a bad signature (one bit of s flipped) is refused", () => {
  const file = parseSignatureFile(SIG);
  file.signature[63] ^= 1;
  refused(decide(formatSignatureFile(file)), "bad-signature", `${NOT_SIGNED_BY_OWNER}: the signature does not verify with key ${OWNER.id.slice(0, 4)} ${OWNER.id.slice(4, 8)} ${OWNER.id.slice(8, 12)} ${OWNER.id.slice(12, 16)}`);
});

test("a signature by another key is refused, naming both fingerprints", () => {
  const verdict = decide(signImage(IMAGE, STRANGER));
  refused(verdict, "unknown-key", new RegExp(`^${NOT_SIGNED_BY_OWNER}: it is signed with key ${STRANGER.id.slice(0, 4)} .*, this board trusts ${OWNER.id.slice(0, 4)} `));
  // a stranger's signature relabelled with the owner's key id still fails the check itself
  const relabelled = parseSignatureFile(signImage(IMAGE, STRANGER));
  relabelled.keyId = OWNER.id;
  refused(decide(formatSignatureFile(relabelled)), "bad-signature", /does not verify/);
});

test("a byte tampered after signing is refused", () => {
  const tampered = IMAGE.slice();
  tampered[15_000] ^= 0x40;
  refused(decide(SIG, tampered), "tampered", `${NOT_SIGNED_BY_OWNER}: the image was changed after it was signed (its SHA-256 differs)`);
  // and one byte added at the end
  const longer = new Uint8Array(IMAGE.length + 1);
  longer.set(IMAGE);
  refused(decide(SIG, longer), "tampered", /changed after it was signed/);
});

test("a signature swapped in from another version is refused with both versions", () => {
  const older = buildAppImage({ size: 20_000, version: "1.1.0", secureVersion: 2, seed: 4 });
  refused(decide(signImage(older, OWNER)), "swapped", `${NOT_SIGNED_BY_OWNER}: the signature is for version 1.1.0, this image is version 1.2.0`);
  const otherProduct = buildAppImage({ size: 20_000, version: "1.2.0", projectName: "thermostat", secureVersion: 2, seed: 5 });
  refused(decide(signImage(otherProduct, OWNER)), "swapped", `${NOT_SIGNED_BY_OWNER}: the signature is for project "thermostat", this image is "ota-device"`);
});

test("editing the version line of a .sig does not make it valid for another image", () => {
  // the 1.1.0 image's signature with its lines rewritten to claim the 1.2.0 image
  const older = buildAppImage({ size: 20_000, version: "1.1.0", secureVersion: 2, seed: 4 });
  const file = parseSignatureFile(signImage(older, OWNER));
  file.claim = claimFor(IMAGE);
  refused(decide(formatSignatureFile(file)), "bad-signature", /does not verify/);
});

test("a signature for another secure_version or another size: refused, naming the secure_versions, or as changed bytes", () => {
  const claim = claimFor(IMAGE);
  refused(decide(signClaim({ ...claim, secureVersion: 3 }, OWNER)), "swapped", `${NOT_SIGNED_BY_OWNER}: the signature is for secure_version 3, this image has 2`);
  refused(decide(signClaim({ ...claim, size: claim.size + 1 }, OWNER)), "tampered", `${NOT_SIGNED_BY_OWNER}: the image was changed after it was signed (its SHA-256 differs)`);
});

test("verifySignature on its own checks the image's real SHA-256 when it is given (raw or hex, any case), the signed one only when not", () => {
  const keys = signaturePolicy([OWNER.config], BOARD, nobleDigest).keys;
  const head = { size: IMAGE.length, facts: readImageFacts(IMAGE) };
  const other = sha256Bytes(Uint8Array.of(1, 2, 3));
  const check = (sha256?: Uint8Array | string) => verifySignature(SIG, { ...head, ...(sha256 === undefined ? {} : { sha256 }) }, keys, nobleVerifier);
  for (const wrong of [other, sha256Hex(Uint8Array.of(1, 2, 3))]) {
    const verdict = check(wrong);
    assert.deepEqual(verdict.ok ? "ok" : [verdict.refusal, verdict.message], ["tampered", `${NOT_SIGNED_BY_OWNER}: the image was changed after it was signed (its SHA-256 differs)`]);
  }
  for (const right of [sha256Bytes(IMAGE), sha256Hex(IMAGE).toUpperCase(), undefined]) {
    const verdict = check(right);
    assert.ok(verdict.ok, String(right));
    if (verdict.ok) assert.equal(verdict.claim.sha256, sha256Hex(IMAGE));
  }
});

test("an image whose app description has a control character in its version is refused as unsignable, before it is compared or shown", () => {
  const odd = buildAppImage({ size: 20_000, version: "1.2.0\nsize: 1", secureVersion: 2, seed: 5 });
  const message = `${NOT_SIGNED_BY_OWNER}: the image's app description cannot be signed (a control character in its project or version)`;
  refused(decide(SIG, odd), "bad-signature", message);
  refused(decide(SIG, buildAppImage({ size: 20_000, version: "1.2.0\u007f", secureVersion: 2, seed: 5 })), "bad-signature", message);
  // a printable version is no control character: only "swapped"
  refused(decide(SIG, buildAppImage({ size: 20_000, version: "1.2.0~", secureVersion: 2, seed: 5 })), "swapped", /for version 1\.2\.0, this image is version 1\.2\.0~/);
});

test("the two steps the engine takes: the head (facts, .sig, key, signature) before anything is erased, then the bytes' SHA-256 and size against the claim", () => {
  const policy = signaturePolicy([OWNER.config], BOARD, nobleDigest);
  const head = checkSignatureAtHead(SIG, { size: IMAGE.length, facts: readImageFacts(IMAGE) }, policy, nobleVerifier);
  if (!head.ok || !head.signed) return assert.fail("the head should pass");
  assert.equal(signedBytesRefusal(head.claim, sha256Hex(IMAGE), IMAGE.length), undefined);
  assert.equal(signedBytesRefusal(head.claim, sha256Hex(IMAGE).toUpperCase(), IMAGE.length), undefined, "hex in any case");
  const tampered = { ok: false, refusal: "tampered", message: "Not signed by this board's owner: the image was changed after it was signed (its SHA-256 differs)" };
  assert.deepEqual(signedBytesRefusal(head.claim, sha256Hex(Uint8Array.of(1)), IMAGE.length), tampered);
  assert.deepEqual(signedBytesRefusal(head.claim, sha256Hex(IMAGE), IMAGE.length + 1), tampered);
  // .sig input that could not be read as one (the header was not base64) is "malformed" with the reason
  const unreadable = checkSignatureAtHead({ unreadable: "x-Firmware-Signature is not base64" }, { size: IMAGE.length, facts: readImageFacts(IMAGE) }, policy, nobleVerifier);
  assert.deepEqual(unreadable, { ok: false, refusal: "malformed", message: "Not signed by this board's owner: its signature file is unreadable (x-Firmware-Signature is not base64)" });
  assert.equal(checkSignatureAtHead(new TextEncoder().encode(SIG), { size: IMAGE.length, facts: readImageFacts(IMAGE) }, policy, nobleVerifier).ok, true, "the .sig's bytes");
});

test("verifySignature without the image's app description, and the board rules with signatures off or no usable key", () => {
  const keys = signaturePolicy([OWNER.config], BOARD, nobleDigest).keys;
  assert.deepEqual(verifySignature(SIG, { size: IMAGE.length, facts: undefined }, keys, nobleVerifier), { ok: false, refusal: "no-descriptor", message: "Image has no app description (esp_app_desc_t), so it cannot be checked against its signature" });
  assert.equal(boardRuleRefusal(undefined, signaturePolicy([], BOARD, nobleDigest)), undefined, "signatures off: no rule applies");
  const broken = signaturePolicy(["not a key", "nor this"], BOARD, nobleDigest);
  const refusal = boardRuleRefusal(readImageFacts(IMAGE), broken);
  assert.equal(refusal?.refusal, "no-usable-key");
  assert.equal(broken.keyErrors.length, 2);
  assert.equal(refusal?.message, `Signed updates only, but none of this board's keys is usable (${broken.keyErrors[0]}; ${broken.keyErrors[1]})`);
});

test("a downgrade (lower secure_version than the running firmware) is refused even when properly signed", () => {
  const old = buildAppImage({ size: 20_000, version: "1.0.0", secureVersion: 1, seed: 3 });
  refused(decide(signImage(old, OWNER), old), "downgrade", "Downgrade refused: the image's secure_version 1 is lower than the running firmware's 2");
  // the same secure_version, or a higher one, is fine (an older *version* string is a rollback the owner may want)
  const same = buildAppImage({ size: 20_000, version: "1.0.1", secureVersion: 2, seed: 3 });
  assert.equal(decide(signImage(same, OWNER), same).ok, true);
  const newer = buildAppImage({ size: 20_000, version: "2.0.0", secureVersion: 3, seed: 3 });
  assert.equal(decide(signImage(newer, OWNER), newer).ok, true);
});

test("rotation: a board trusting the old and the new key takes images signed by either, and names the key used", () => {
  const keys = [OLD_OWNER.pem, OWNER.config];
  for (const key of [OLD_OWNER, OWNER]) {
    const verdict = decide(signImage(IMAGE, key), IMAGE, keys);
    assert.equal(verdict.ok && verdict.signed && verdict.key.id, key.id);
  }
  refused(decide(signImage(IMAGE, STRANGER), IMAGE, keys), "unknown-key", new RegExp(`this board trusts ${OLD_OWNER.id.slice(0, 4)} .*, ${OWNER.id.slice(0, 4)} `));
});

test("another product's or another chip's image, properly signed with the owner's key, is refused", () => {
  const thermostat = buildAppImage({ size: 20_000, version: "9.0.0", projectName: "thermostat", secureVersion: 5, seed: 8 });
  refused(decide(signImage(thermostat, OWNER), thermostat), "wrong-project", 'Image is for project "thermostat", this board runs "ota-device"');
  const s3 = buildAppImage({ size: 20_000, version: "1.2.0", chipId: 9, secureVersion: 2, seed: 8 });
  refused(decide(signImage(s3, OWNER), s3), "wrong-chip", "Image is for ESP32-S3, this board is ESP32");
});

test("a malformed or oversized signature file is refused with the reason", () => {
  refused(decide("hello"), "malformed", `${NOT_SIGNED_BY_OWNER}: its signature file is unreadable (not a moddable-ota signature file)`);
  refused(decide(SIG.replace(/signature: [0-9a-f]+/, "signature: 00")), "malformed", /signature is not 128 hex digits/);
  refused(decide(SIG + "x".repeat(1024)), "malformed", /larger than 1024 bytes/);
});

test("r = s = 0 and r >= n are refused by the core even when the host's verifier would say yes", () => {
  const yesMan: SignatureVerifier = { verifyP256: () => true };
  const file = parseSignatureFile(SIG);
  file.signature.fill(0);
  refused(decide(formatSignatureFile(file), IMAGE, [OWNER.config], BOARD, yesMan), "bad-signature", /does not verify/);
  file.signature.fill(0xff); // r = s = 2^256 - 1 > n
  refused(decide(formatSignatureFile(file), IMAGE, [OWNER.config], BOARD, yesMan), "bad-signature", /does not verify/);
  assert.equal(decide(SIG, IMAGE, [OWNER.config], BOARD, yesMan).ok, true, "the range check passes real signatures");
});

test("with keys configured but none usable every image is refused, never signatures silently off", () => {
  refused(decide(SIG, IMAGE, ["not a key"]), "no-usable-key", /^Signed updates only, but none of this board's keys is usable \(key 1: /);
  // one bad entry beside a good one: the good one works
  assert.equal(decide(SIG, IMAGE, ["not a key", OWNER.config]).ok, true);
});

test("an image without esp_app_desc_t cannot be checked and is refused", () => {
  const bare = IMAGE.slice();
  bare.fill(0, 32, 36); // descriptor magic gone
  const claim = { ...claimFor(IMAGE), sha256: sha256Hex(bare) };
  refused(decide(signClaim(claim, OWNER), bare), "no-descriptor", /no app description/);
});

test("interop: an image with Espressif's secure boot v2 sector appended is signed and verified as the whole file", () => {
  const espSigned = appendEspSignatureSector(IMAGE, sha256Bytes);
  assert.equal(espSigned.length % 4096, 0);
  assert.deepEqual(readImageFacts(espSigned), readImageFacts(IMAGE), "facts read the same");
  const sig = signImage(espSigned, OWNER);
  assert.equal(decide(sig, espSigned).ok, true);
  // our signature of the bare image does not cover the appended sector: sign after espsecure
  refused(decide(SIG, espSigned), "tampered", /changed after it was signed/);
});

test("config.signingKeys: a list as is; mcconfig's command-line string split at commas; unset is off; anything else stays on (one unusable entry)", () => {
  const key = testKey(1).config;
  assert.deepEqual(signingKeyEntries([key, testKey(2).config]), [key, testKey(2).config]);
  assert.deepEqual(signingKeyEntries(key), [key]);
  assert.deepEqual(signingKeyEntries(` ${key} , ${testKey(2).config},`), [key, testKey(2).config]);
  for (const off of [undefined, null, "", []]) assert.deepEqual(signingKeyEntries(off), [], JSON.stringify(off));
  const odd = signaturePolicy(signingKeyEntries(1), BOARD, nobleDigest);
  assert.equal(odd.required, true, "a value someone set never means signatures off");
  assert.equal(odd.keys.length, 0);
  const fromString = signaturePolicy(signingKeyEntries(key), BOARD, nobleDigest);
  assert.deepEqual(fromString.keys.map((k) => k.id), [testKey(1).id]);
});

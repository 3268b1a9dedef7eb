// The signed statement, the .sig file, public keys and the P-256 checks the
// core makes itself: exact bytes, bounds and refusals (Node and XS).
import { test, assert } from "../../harness/t";
import { readImageFacts, statementText, claimProblem, ImageFactsReader, IMAGE_FACTS_BYTES, type Claim } from "../../../modules/core/signature/statement";
import { parseSignatureFile, formatSignatureFile, MAX_SIGNATURE_FILE } from "../../../modules/core/signature/sig-file";
import { parsePublicKey, parseTrustedKeys, keyConfigText, fingerprintOf } from "../../../modules/core/signature/keys";
import { isP256Point, signatureInRange, pointFromSpki, spkiFromPoint, P256_SPKI_PREFIX } from "../../../modules/core/signature/p256";
import { base64Encode } from "../../../modules/core/base64";
import { MAX_SIGNATURE_HEADER, signatureFromHeader } from "../../../modules/core/signature/header";
import { buildAppImage } from "../../fakes/app-image";
import { nobleDigest, sha256Hex } from "../../fakes/digest";
import { testKey, signImage } from "../../fakes/signature";

const CLAIM: Claim = { sha256: "ab".repeat(32), size: 1048576, chipId: 9, projectName: "ota-device", version: "1.2.0-rc.1", secureVersion: 7 };

test("statement: seven canonical lines, in order, LF, lowercase hex, decimal numbers", () => {
  assert.equal(
    statementText(CLAIM),
    "moddable-ota firmware signature 1\n" +
      `sha256: ${"ab".repeat(32)}\n` +
      "size: 1048576\n" +
      "chip: 9\n" +
      "project: ota-device\n" +
      "version: 1.2.0-rc.1\n" +
      "secure_version: 7\n",
  );
});

test("statement: a control character in a field (a forged line) or a bad number cannot be stated", () => {
  assert.match(claimProblem({ ...CLAIM, version: "1.0\nsecure_version: 99" }) ?? "", /version contains a control character/);
  assert.match(claimProblem({ ...CLAIM, projectName: "a\u007fb" }) ?? "", /project name contains a control character/);
  assert.match(claimProblem({ ...CLAIM, sha256: "AB".repeat(32) }) ?? "", /lowercase hex/);
  assert.match(claimProblem({ ...CLAIM, size: 0 }) ?? "", /size/);
  assert.match(claimProblem({ ...CLAIM, secureVersion: 2 ** 32 }) ?? "", /secure_version/);
  assert.throws(() => statementText({ ...CLAIM, version: "x\ny" }), /Cannot state this image/);
  assert.equal(claimProblem({ ...CLAIM, projectName: "", version: "été ✓" }), undefined, "empty and non-ASCII values are fine");
});

test("image facts: chip, project, version and secure_version from the header and esp_app_desc_t", () => {
  const image = buildAppImage({ size: 4096, version: "3.1.4", projectName: "thermostat", secureVersion: 12, chipId: 5 });
  assert.deepEqual(readImageFacts(image), { chipId: 5, projectName: "thermostat", version: "3.1.4", secureVersion: 12 });
  assert.equal(readImageFacts(image.subarray(0, IMAGE_FACTS_BYTES - 1)), undefined, "too short for the descriptor");
  const html = image.slice();
  html[0] = 0x3c;
  assert.equal(readImageFacts(html), undefined, "not an app image");
});

test("image facts reader: keeps only the first 288 bytes, across chunks of any size", () => {
  const image = buildAppImage({ size: 9000, version: "2.0.0", secureVersion: 1 });
  for (const chunk of [1, 7, 24, 287, 288, 4096]) {
    const reader = new ImageFactsReader();
    let i = 0;
    for (; i < image.length; i += chunk) {
      if (i < IMAGE_FACTS_BYTES) assert.equal(reader.facts(), undefined, `not before byte ${IMAGE_FACTS_BYTES}`);
      reader.push(image.subarray(i, i + chunk));
    }
    assert.deepEqual(reader.facts(), readImageFacts(image), `chunks of ${chunk}`);
    reader.reset();
    assert.equal(reader.facts(), undefined, "reset forgets");
  }
});

test("sig file: round trip, CRLF line ends accepted, and it stays far below the bound", () => {
  const sig = new Uint8Array(64).map((_, i) => i + 1);
  const text = formatSignatureFile({ claim: CLAIM, keyId: "cd".repeat(32), signature: sig });
  assert.equal(text, `${statementText(CLAIM)}key: ${"cd".repeat(32)}\nsignature: ${Array.from(sig, (b) => b.toString(16).padStart(2, "0")).join("")}\n`);
  assert.deepEqual(parseSignatureFile(text), { claim: CLAIM, keyId: "cd".repeat(32), signature: sig });
  assert.deepEqual(parseSignatureFile(text.replace(/\n/g, "\r\n")).claim, CLAIM);
  const longest = formatSignatureFile({ claim: { ...CLAIM, projectName: "p".repeat(31), version: "v".repeat(31), size: Number.MAX_SAFE_INTEGER, secureVersion: 2 ** 32 - 1 }, keyId: "cd".repeat(32), signature: sig });
  assert.ok(longest.length < MAX_SIGNATURE_FILE / 2, `largest real file ${longest.length} bytes`);
});

test("sig file: strict about its lines; each fault named", () => {
  const good = signImage(buildAppImage({ size: 4096, version: "1.0.0" }), testKey(1));
  const cases: [string, RegExp][] = [
    ["", /not a moddable-ota signature file/],
    [good.replace("signature 1", "signature 2"), /not a moddable-ota signature file/],
    [good.replace(/^size: .*\n/m, ""), /expected 9 lines, found 8/],
    [good.replace("chip:", "chips:"), /line 4 should be "chip: ..."/],
    [good.replace(/^size: .*$/m, "size: 01"), /size is not a number/],
    [good.replace(/^chip: .*$/m, "chip: 70000"), /chip is not a number/],
    [good.replace(/^sha256: ../m, "sha256: zz"), /sha256 is not 64 hex digits/],
    [good.replace(/^key: ../m, "key: "), /key is not 64 hex digits/],
    [`${good}extra: line\n`, /expected 9 lines, found 10/],
  ];
  for (const [text, reason] of cases) assert.throws(() => parseSignatureFile(text), reason);
  assert.throws(() => parseSignatureFile(new Uint8Array(MAX_SIGNATURE_FILE + 1)), /larger than 1024 bytes/);
});

test("keys: PEM or one-line base64 SPKI; id = SHA-256 of the DER; fingerprint = its first 16 hex digits", () => {
  const k = testKey(1);
  const fromPem = parsePublicKey(k.pem, nobleDigest);
  const fromLine = parsePublicKey(`  ${k.config}\n`, nobleDigest);
  assert.deepEqual(fromPem, fromLine);
  assert.deepEqual(fromPem.point, k.point);
  assert.equal(fromPem.id, sha256Hex(spkiFromPoint(k.point)));
  assert.equal(fromPem.fingerprint, `${k.id.slice(0, 4)} ${k.id.slice(4, 8)} ${k.id.slice(8, 12)} ${k.id.slice(12, 16)}`);
  assert.equal(fingerprintOf(k.id), fromPem.fingerprint);
  assert.equal(keyConfigText(fromPem.spki), k.config);
});

test("keys: a private key, another curve, a point off the curve or junk is refused with the reason", () => {
  const k = testKey(1);
  assert.throws(() => parsePublicKey("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----", nobleDigest), /a private key must never be given to a board/);
  assert.throws(() => parsePublicKey("-----BEGIN PUBLIC KEY-----\nMFkw", nobleDigest), /missing "-----END PUBLIC KEY-----"/);
  assert.throws(() => parsePublicKey("%%%", nobleDigest), /not base64/);
  assert.throws(() => parsePublicKey("", nobleDigest), /not base64/);
  // an Ed25519 SPKI (RFC 8410): right idea, wrong scheme
  assert.throws(() => parsePublicKey("MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=", nobleDigest), /not an ECDSA P-256 public key/);
  const off = k.point.slice();
  off[64] ^= 1;
  assert.throws(() => parsePublicKey(base64Encode(spkiFromPoint(off)), nobleDigest), /not a point on the P-256 curve/);
  assert.throws(() => parsePublicKey("A".repeat(2000), nobleDigest), /too long/);
  const list = parseTrustedKeys([k.config, "junk", k.pem], nobleDigest);
  assert.equal(list.keys.length, 1, "the same key twice counts once");
  assert.deepEqual(list.errors, ["key 2: not an ECDSA P-256 public key (SubjectPublicKeyInfo with an uncompressed prime256v1 point)"]);
});

test("p256: on-curve check, SPKI framing, and r, s in 1..n-1", () => {
  const k = testKey(4);
  assert.ok(isP256Point(k.point));
  assert.equal(isP256Point(k.point.subarray(1)), false, "compressed or short");
  const p = new Uint8Array(65);
  p[0] = 4;
  assert.equal(isP256Point(p), false, "(0, 0) is not on the curve");
  assert.deepEqual(pointFromSpki(spkiFromPoint(k.point)), k.point);
  const wrongPrefix = spkiFromPoint(k.point);
  wrongPrefix[P256_SPKI_PREFIX.length - 3] ^= 1;
  assert.equal(pointFromSpki(wrongPrefix), undefined);
  const n = [0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51];
  const one = new Uint8Array(32);
  one[31] = 1;
  const nMinus1 = Uint8Array.from(n);
  nMinus1[31] -= 1;
  const sig = (r: ArrayLike<number>, s: ArrayLike<number>) => {
    const out = new Uint8Array(64);
    out.set(r, 0);
    out.set(s, 32);
    return out;
  };
  assert.ok(signatureInRange(sig(one, nMinus1)));
  assert.ok(signatureInRange(sig(nMinus1, one)));
  assert.equal(signatureInRange(sig(new Uint8Array(32), one)), false, "r = 0");
  assert.equal(signatureInRange(sig(one, new Uint8Array(32))), false, "s = 0");
  assert.equal(signatureInRange(sig(n, one)), false, "r = n");
  assert.equal(signatureInRange(sig(one, n)), false, "s = n");
  assert.equal(signatureInRange(new Uint8Array(63)), false, "short");
});

test("the x-Firmware-Signature header: base64 of the .sig, at most 1368 characters (the largest accepted file)", () => {
  assert.equal(MAX_SIGNATURE_HEADER, 1368);
  const largest = new Uint8Array(MAX_SIGNATURE_FILE).fill(0x41);
  const decoded = signatureFromHeader(` ${base64Encode(largest)} `);
  assert.ok(decoded instanceof Uint8Array && decoded.length === MAX_SIGNATURE_FILE);
  assert.deepEqual(signatureFromHeader(base64Encode(new Uint8Array(MAX_SIGNATURE_FILE + 3))), { error: "the x-Firmware-Signature header is longer than 1368 characters" });
  assert.deepEqual(signatureFromHeader("moddable ota"), { error: "the x-Firmware-Signature header is not base64" });
});

// Mod signatures (modules/core/mods/mod-statement.ts): the statement, the .sig
// format, the decision at the head and at the commit (Node and XS).
import { test, assert } from "../../harness/t";
import { checkModSignatureAtHead, formatModSignatureFile, modSignedBytesRefusal, modStatementText, parseModSignatureFile, type ModClaim } from "../../../modules/core/mods/mod-statement";
import { signaturePolicy } from "../../../modules/core/signature/policy";
import { demoMod, XS_8_2_3 } from "../../../tools/xs-archive";
import { nobleDigest } from "../../fakes/digest";
import { nobleVerifier, signImage, testKey } from "../../fakes/signature";
import { modClaimFor, signMod, signModClaim } from "../../fakes/mod-signature";
import { buildAppImage } from "../../fakes/app-image";

const owner = testKey(1);
const stranger = testKey(2);
const board = { xs: { major: XS_8_2_3.major, minor: XS_8_2_3.minor }, host: "ota-demo" };
const policy = signaturePolicy([owner.config], { chipId: 0, projectName: "ota-demo", secureVersion: 0 }, nobleDigest);
const mod = demoMod("hello", "1.0.0");

test("mod statement: seven canonical lines, and the .sig round-trips", () => {
  const claim = modClaimFor(mod, "ota-demo");
  const text = modStatementText(claim);
  assert.equal(text.split("\n").length, 8);
  assert.match(text, /^moddable-ota mod signature 1\nsha256: [0-9a-f]{64}\nsize: \d+\nname: hello\nversion: 1\.0\.0\nxs: 17\.7\nhost: ota-demo\n$/);
  const sig = signMod(mod, owner, "ota-demo");
  const parsed = parseModSignatureFile(sig);
  assert.deepEqual(parsed.claim, claim);
  assert.equal(parsed.keyId, owner.id);
  assert.equal(formatModSignatureFile(parsed), sig);
  assert.throws(() => modStatementText({ ...claim, name: "a\nsize: 1" }), /control character/);
});

test("mod statement: a firmware .sig is not a mod's, nor the other way round", () => {
  const firmwareSig = signImage(buildAppImage({ size: 4096, version: "1.0.0", projectName: "ota-demo" }), owner);
  assert.throws(() => parseModSignatureFile(firmwareSig), /"moddable-ota firmware signature 1", not a mod signature/);
  const verdict = checkModSignatureAtHead(firmwareSig, mod.length, board, policy, nobleVerifier);
  assert.ok(!verdict.ok && verdict.refusal === "malformed");
});

test("mod signature at the head: the owner's key over the claim, for this size, host and XS", () => {
  const good = checkModSignatureAtHead(signMod(mod, owner, "ota-demo"), mod.length, board, policy, nobleVerifier);
  assert.ok(good.ok && good.signed && good.claim.name === "hello");
  const refusal = (sig: string | undefined, size = mod.length) => {
    const v = checkModSignatureAtHead(sig, size, board, policy, nobleVerifier);
    return v.ok ? "accepted" : v.message;
  };
  assert.match(refusal(undefined), /Not signed by this board's owner: the mod has no signature/);
  assert.match(refusal(signMod(mod, stranger, "ota-demo")), /signed with key .* this board trusts/);
  assert.match(refusal(signMod(mod, owner, "other-app")), /for mods of "other-app", this board runs "ota-demo"/);
  assert.match(refusal(signModClaim({ ...modClaimFor(mod, "ota-demo"), xs: { major: 16, minor: 7 } }, owner)), /for XS 16\.7, this board's firmware has XS 17\.7/);
  assert.match(refusal(signMod(mod, owner, "ota-demo"), mod.length + 1), /for a mod of \d+ bytes, this one has/);
  // a claim edited after signing no longer verifies
  assert.match(refusal(signMod(mod, owner, "ota-demo").replace("version: 1.0.0", "version: 9.0.0")), /does not verify/);
  const off = signaturePolicy([], { chipId: 0, projectName: "ota-demo", secureVersion: 0 }, nobleDigest);
  assert.deepEqual(checkModSignatureAtHead(undefined, mod.length, board, off, nobleVerifier), { ok: true, signed: false });
});

test("mod signature at the commit: the bytes and the archive's name and version are the claim's", () => {
  const claim: ModClaim = modClaimFor(mod, "ota-demo");
  assert.equal(modSignedBytesRefusal(claim, { sha256: claim.sha256, size: claim.size, name: "hello", version: "1.0.0" }), undefined);
  assert.match(modSignedBytesRefusal(claim, { sha256: "0".repeat(64), size: claim.size, name: "hello", version: "1.0.0" })?.message ?? "", /changed after it was signed/);
  assert.match(modSignedBytesRefusal(claim, { sha256: claim.sha256, size: claim.size, name: "hello", version: "2.0.0" })?.message ?? "", /for hello 1\.0\.0, this mod is hello 2\.0\.0/);
});

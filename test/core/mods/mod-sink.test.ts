// The mod install pipeline (modules/core/mods/mod-sink.ts): pre-flight refusals
// before anything is erased, refusals at the commit with the slot discarded,
// the head written last, the free slot (Node and XS).
import { test, assert } from "../../harness/t";
import { ModStore } from "../../../modules/core/mods/mod-store";
import { ModSink, type UpdateSink } from "../../../modules/core/mods/mod-sink";
import { ImageSink } from "../../../modules/core/engine/image-sink";
import { signaturePolicy } from "../../../modules/core/signature/policy";
import { demoMod } from "../../../tools/xs-archive";
import { ModRig } from "../../fakes/mod-rig";
import { FakeFlash } from "../../fakes/flash";
import { buildAppImage } from "../../fakes/app-image";
import { nobleDigest, md5Hex, sha256Hex } from "../../fakes/digest";
import { nobleVerifier, testKey } from "../../fakes/signature";
import { signMod, signModClaim, modClaimFor } from "../../fakes/mod-signature";

const owner = testKey(1);
const signedRig = () => new ModRig({ signatures: { policy: signaturePolicy([owner.config], { chipId: 0, projectName: "ota-demo", secureVersion: 0 }, nobleDigest), verifier: nobleVerifier } });

/** A board running mod v1 (installed, switched, confirmed). */
function running(rig = new ModRig()): ModRig {
  const v1 = demoMod("app", "1.0.0", { codeSize: 5000 });
  assert.equal(rig.install(v1, { signature: rig.opts.signatures ? signMod(v1, owner, "ota-demo") : undefined }), undefined);
  rig.mods.stagedRestart();
  assert.equal(rig.boot(), "run");
  rig.settle();
  assert.equal(rig.mods.status().mod?.state, "valid");
  return rig;
}

const snapshot = (rig: ModRig) => [rig.flash.active.bytes.slice(), rig.flash.slots[0].bytes.slice(), rig.flash.slots[1].bytes.slice(), rig.store.get("mod.state")];

test("mod sink: the session shape is ImageSink's (one session drives either)", () => {
  const drive = (sink: UpdateSink, bytes: Uint8Array): string | undefined => {
    sink.begin({ size: bytes.length, md5: md5Hex(bytes) });
    sink.takeSignature(undefined);
    for (let i = 0; i < bytes.length; i += 4096) {
      const refused = sink.push(bytes.subarray(i, i + 4096));
      if (refused) return refused;
    }
    return sink.commit("download");
  };
  const flash = new FakeFlash({ slotSize: 64 * 1024, runningImage: buildAppImage({ size: 4096, version: "1.0.0" }) });
  const recorder = { blocked: () => undefined, writing: () => {}, committing: () => {}, failed: () => {}, lastUpdate: () => undefined };
  assert.equal(drive(new ImageSink({ ota: flash.writer, digest: nobleDigest, boot: recorder }, { chipId: 0 }), buildAppImage({ size: 20000, version: "2.0.0" })), undefined);
  const rig = new ModRig();
  assert.equal(drive(new ModSink({ flash: rig.flash, host: rig.host, digest: nobleDigest, store: rig.store }), demoMod("app", "1.0.0")), undefined);
  assert.equal(new ModStore(rig.store).load().slots[0]?.name, "app");
});

test("mod sink: pre-flight refuses before anything is erased; the running mod's bytes stay as they were", () => {
  const good = demoMod("app", "2.0.0", { codeSize: 3000 });
  const firmware = buildAppImage({ size: 8192, version: "2.0.0" });
  const cases: Array<[string, () => string | undefined, RegExp]> = [];
  const rig = running();
  const before = snapshot(rig);
  const ops = rig.flash.power.ops;
  cases.push(["firmware image", () => rig.install(firmware), /Not a mod: this is a firmware image/]);
  cases.push(["anything else", () => rig.install(new Uint8Array(300).fill(0x41)), /Not a mod: no XS_A/]);
  cases.push(["other XS", () => rig.install(demoMod("app", "2.0.0", { xs: { major: 16, minor: 7, patch: 0 } })), /Mod built for XS 16\.7; this board's firmware has XS 17\.7: rebuild it with this firmware's SDK/]);
  cases.push(["too large", () => rig.install(demoMod("app", "2.0.0", { codeSize: 20000 })), /Mod is 19\.\d KB, the mod partition holds 16 KB/]);
  cases.push(["size not announced", () => rig.install(good, { announced: { size: good.length + 10 } }), /says it is \d+ bytes, \d+ were announced/]);
  for (const [what, run, expected] of cases) assert.match(run() ?? "accepted", expected, what);
  assert.equal(rig.flash.power.ops, ops, "no erase, no write");
  assert.deepEqual(snapshot(rig), before);
});

test("mod sink: on a board with signing keys, unsigned, other-key and other-host mods are refused before any erase", () => {
  const rig = running(signedRig());
  const v2 = demoMod("app", "2.0.0");
  const before = snapshot(rig);
  const ops = rig.flash.power.ops;
  assert.match(rig.install(v2) ?? "", /the mod has no signature/);
  assert.match(rig.install(v2, { signature: signMod(v2, testKey(7), "ota-demo") }) ?? "", /signed with key/);
  assert.match(rig.install(v2, { signature: signMod(v2, owner, "another-host") }) ?? "", /for mods of "another-host", this board runs "ota-demo"/);
  assert.equal(rig.flash.power.ops, ops);
  assert.deepEqual(snapshot(rig), before);
  // signed for this board: installed; a signature for other bytes of the same size is refused at the commit
  assert.equal(rig.install(v2, { signature: signMod(v2, owner, "ota-demo") }), undefined);
  const v3 = demoMod("app", "3.0.0");
  const claim = { ...modClaimFor(v3, "ota-demo"), sha256: sha256Hex(new Uint8Array(4)) };
  assert.match(rig.install(v3, { signature: signModClaim(claim, owner) }) ?? "", /changed after it was signed/);
});

test("mod sink: damaged, truncated or MD5-mismatched mods are refused at the commit and their slot holds no mod", () => {
  const rig = running();
  const v2 = demoMod("app", "2.0.0", { codeSize: 6000 });
  const damaged = v2.slice();
  damaged[3000] ^= 0x10;
  const store = new ModStore(rig.store);
  const free = 1 - (store.load().xs as number);
  const xsBefore = rig.flash.active.bytes.slice();
  assert.match(rig.install(damaged, { announced: { md5: md5Hex(v2) } }) ?? "", /MD5 mismatch/);
  assert.match(rig.install(damaged) ?? "", /do not match its SIGN digest/);
  assert.match(rig.install(v2, { announced: { md5: "0".repeat(32) } }) ?? "", /MD5 mismatch: the download was corrupted/);
  const sink = rig.mods.createSink();
  sink.begin({ size: v2.length });
  assert.equal(sink.push(v2.subarray(0, 4096)), undefined);
  assert.match(sink.commit() ?? "", /ended early/);
  for (const refused of [store.load().slots[free]]) assert.equal(refused, null);
  assert.ok(rig.flash.slots[free].bytes.subarray(0, 64).every((b) => b === 0xff), "the slot's head was never written");
  assert.deepEqual(rig.flash.active.bytes, xsBefore);
  assert.equal(store.load().staged, null);
});

test("mod sink: writes in pieces of at most 4 KB, the head last; a cut before the last write leaves no mod in the slot", () => {
  const rig = new ModRig();
  const mod = demoMod("app", "1.0.0", { codeSize: 9000 });
  rig.flash.power.arm(0);
  assert.equal(rig.install(mod, { chunk: 4096 }), undefined);
  assert.ok(rig.flash.power.largestWrite <= 4096);
  const writes = rig.flash.power.writes;
  assert.deepEqual(rig.flash.slots[0].bytes.subarray(0, mod.length), mod);
  assert.deepEqual(new ModStore(rig.store).load().staged, 0);
  // a cut at the write before the head's: the slot's head is still erased, no XS would take it for a mod
  const early = new ModRig();
  early.flash.power.arm(writes); // the erase, then every write but the last
  assert.match(early.install(mod, { chunk: 4096 }) ?? "", /Flash write failed at \d+ bytes: power cut/);
  assert.ok(early.flash.power.off);
  assert.ok(early.flash.slots[0].bytes.subarray(0, 64).every((b) => b === 0xff));
  assert.equal(new ModStore(early.store).load().slots[0], null);
  // a cut at the head's own write: half a head may be there, but the record never names the slot
  const late = new ModRig();
  late.flash.power.arm(1 + writes);
  assert.match(late.install(mod, { chunk: 4096 }) ?? "", /Flash write failed at the mod's head: power cut/);
  assert.ok(late.flash.power.off, "the power went at the head's write");
  assert.deepEqual(late.flash.slots[0].bytes.subarray(64, mod.length), mod.subarray(64), "every other byte is in");
  assert.equal(new ModStore(late.store).load().slots[0], null);
  assert.equal(new ModStore(late.store).load().staged, null);
});

test("mod sink: the free slot is the one whose mod is not in xs", () => {
  const rig = running();
  const state = () => new ModStore(rig.store).load();
  const inXs = state().xs;
  assert.equal(rig.install(demoMod("app", "2.0.0")), undefined);
  assert.equal(state().staged, inXs === 0 ? 1 : 0);
  assert.deepEqual(state().slots[inXs as 0 | 1]?.version, "1.0.0", "the running mod's slot is kept");
  // a second install before the restart replaces the staged one, never the running one
  assert.equal(rig.install(demoMod("app", "3.0.0")), undefined);
  assert.equal(state().slots[inXs === 0 ? 1 : 0]?.version, "3.0.0");
  assert.equal(state().slots[inXs as 0 | 1]?.version, "1.0.0");
});

// Copying a mod into `xs`, removing it, and telling a mapped copy from a
// broken one (modules/core/mods/activate.ts), over strict NOR fakes and the
// fxMapArchive emulation (tools/xs-mapper.ts) (Node and XS).
import { test, assert } from "../../harness/t";
import { copyToXs, mappedMatches, readHead, removeFromXs, idenRange, sameHeader } from "../../../modules/core/mods/activate";
import { demoMod } from "../../../tools/xs-archive";
import { mapArchive, ID_FIRST } from "../../../tools/xs-mapper";
import { FakeModFlash } from "../../fakes/mod-flash";

function withMod(codeSize = 9000) {
  const flash = new FakeModFlash();
  const mod = demoMod("app", "1.0.0", { codeSize });
  flash.slots[0].erase(0, 12288);
  flash.slots[0].write(0, mod);
  return { flash, mod };
}

test("activate: copyToXs erases the blocks the mod covers and copies it, pieces of at most 4 KB, head last", () => {
  const { flash, mod } = withMod();
  flash.active.write(0, new Uint8Array(100)); // whatever was there: zeros only an erase can undo
  const before = flash.power.ops;
  flash.power.largestWrite = 0;
  copyToXs(flash.slots[0], flash.active, mod.length);
  assert.deepEqual(flash.active.bytes.subarray(0, mod.length), mod);
  assert.ok(flash.power.largestWrite <= 4096);
  const total = flash.power.ops - before;
  assert.equal(total, 1 + Math.ceil(mod.length / 4096) + 1, "one erase, a piece per block, the head");
  // a cut at any of its writes leaves xs without the mod's header: no host maps half a copy as this mod
  for (let n = 1; n <= total; n++) {
    const cut = withMod();
    cut.flash.power.arm(n);
    assert.throws(() => copyToXs(cut.flash.slots[0], cut.flash.active, mod.length), /power cut/);
    cut.flash.power.restore();
    assert.ok(!sameHeader(readHead(cut.flash.active), readHead(cut.flash.slots[0])), `cut at op ${n}`);
    if (n < total) assert.equal(readHead(cut.flash.active).kind, "none", `cut at op ${n}: head still erased`);
  }
});

test("activate: removeFromXs is one write of 16 zero bytes; XS then maps nothing and writes nothing", () => {
  const { flash, mod } = withMod();
  copyToXs(flash.slots[0], flash.active, mod.length);
  const ops = flash.power.ops;
  const erases = flash.power.erases;
  removeFromXs(flash.active);
  assert.equal(flash.power.ops, ops + 1);
  assert.equal(flash.power.erases, erases, "no erase");
  assert.deepEqual(flash.active.bytes.subarray(0, 16), new Uint8Array(16));
  assert.equal(readHead(flash.active).kind, "none");
  assert.deepEqual(mapArchive(flash.active, { xs: { major: 17, minor: 7, patch: 0 }, seed: 1 }), { mapped: false });
  assert.equal(flash.power.ops, ops + 1);
});

test("activate: mappedMatches tolerates what XS's mapping changes, and only that", () => {
  const { flash, mod } = withMod(9000);
  copyToXs(flash.slots[0], flash.active, mod.length);
  assert.ok(mappedMatches(flash.active, flash.slots[0], mod.length), "an unmapped copy");
  const mapped = mapArchive(flash.active, { xs: { major: 17, minor: 7, patch: 0 }, seed: 5 });
  assert.deepEqual(mapped, { mapped: true, wrote: true });
  const iden = idenRange(flash.slots[0], mod.length) as { start: number; end: number };
  let differ = 0;
  for (let i = 0; i < mod.length; i++) if (flash.active.bytes[i] !== mod[i] && (i < iden.start || i >= iden.end)) differ++;
  assert.ok(differ > 0 && differ <= 4, `mapping rewrote ids in CODE (${differ} bytes)`);
  assert.ok(mappedMatches(flash.active, flash.slots[0], mod.length), "a mapped copy");
  // remapped by another firmware build: still the same mod
  mapArchive(flash.active, { xs: { major: 17, minor: 7, patch: 0 }, seed: 9 });
  assert.ok(mappedMatches(flash.active, flash.slots[0], mod.length));

  const broken = (damage: (xs: Uint8Array) => void): boolean => {
    const f = withMod(9000);
    copyToXs(f.flash.slots[0], f.flash.active, f.mod.length);
    mapArchive(f.flash.active, { xs: { major: 17, minor: 7, patch: 0 }, seed: 5 });
    damage(f.flash.active.bytes);
    return mappedMatches(f.flash.active, f.flash.slots[0], f.mod.length);
  };
  assert.equal(broken(() => {}), true, "undamaged");
  assert.equal(broken((xs) => xs.fill(0xff, 4096, 8192)), false, "an erased sector");
  assert.equal(broken((xs) => xs.fill(0xff, 8192 + 100, 12288)), false, "a half-written piece");
  assert.equal(broken((xs) => (xs[6000] ^= 1, xs[6001] ^= 1, xs[6002] ^= 1)), false, "a run of 3 bytes");
  assert.equal(broken((xs) => (xs[6000] ^= 1, xs[6001] ^= 1)), true, "a run of 2 bytes is an id");
  assert.equal(broken((xs) => (xs[30] ^= 1)), false, "one byte of the header");
  assert.equal(broken((xs) => (xs[iden.start - 3] ^= 1)), false, "one byte of SYMB");
  assert.equal(mappedMatches(flash.active, flash.slots[0], 0), false);
  assert.ok(ID_FIRST > 0);
});

test("activate: fxMapArchive emulation refuses another XS with an XS_E header and its status, through a sector erase", () => {
  const { flash, mod } = withMod(3000);
  copyToXs(flash.slots[0], flash.active, mod.length);
  assert.deepEqual(mapArchive(flash.active, { xs: { major: 16, minor: 7, patch: 0 }, seed: 1 }), { mapped: false, status: 3 });
  assert.deepEqual(readHead(flash.active), { kind: "refused", status: 3 });
  assert.ok(flash.active.bytes.subarray(9, 4096).every((b) => b === 0xff), "sector 0 was erased first (spiWrite)");
  assert.deepEqual(flash.active.bytes.subarray(4096, mod.length), mod.subarray(4096), "the rest stays");
});

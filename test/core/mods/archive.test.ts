// The XS archive check (modules/core/mods/archive.ts) over archives laid out as
// mcrun writes them (tools/xs-archive.ts): facts, SIGN, layout refusals, pieces
// of any size (Node and XS). The real mcrun archive is test/tools/xs-archive.test.ts's.
import { test, assert } from "../../harness/t";
import { ArchiveCheck, parseModInfo, xsVersionFits, ARCHIVE_HEADER_SIZE } from "../../../modules/core/mods/archive";
import { utf8Encode } from "../../../modules/core/bytes";
import { buildArchive, demoMod, XS_8_2_3 } from "../../../tools/xs-archive";
import { nobleDigest } from "../../fakes/digest";

function check(bytes: Uint8Array, step = 4096, capacity?: number) {
  const c = new ArchiveCheck(nobleDigest, capacity);
  for (let i = 0; i < bytes.length; i += step) c.write(bytes.subarray(i, i + step));
  return c.end();
}
function refusal(bytes: Uint8Array, step = 4096, capacity?: number): string {
  try {
    check(bytes, step, capacity);
  } catch (e) {
    return (e as Error).message;
  }
  return "accepted";
}
const setU32 = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint32(at, v);

test("archive: the facts of a mod, whatever the piece size", () => {
  const mod = demoMod("hello", "1.2.0", { codeSize: 3000 });
  for (const step of [1, 3, 64, 4096]) {
    const facts = check(mod, step);
    assert.equal(facts.name, "hello");
    assert.equal(facts.version, "1.2.0");
    assert.equal(facts.archiveName, "tech.moddable.hello");
    assert.deepEqual(facts.xs, XS_8_2_3);
    assert.equal(facts.size, mod.length);
    assert.equal(facts.modules, 2);
    assert.equal(facts.resources, 1);
    assert.ok(facts.hasCheck);
    assert.match(facts.sign, /^[0-9a-f]{32}$/);
  }
});

test("archive: without ota-mod.json the mod is named by its NAME atom and has no version", () => {
  const facts = check(buildArchive({ archiveName: "tech.moddable.bare", check: false }));
  assert.equal(facts.name, "tech.moddable.bare");
  assert.equal(facts.version, "");
  assert.equal(facts.hasCheck, false);
});

test("archive: a changed byte anywhere SIGN covers is refused as damaged; IDEN is not covered", () => {
  const mod = demoMod("hello", "1.0.0", { codeSize: 500 });
  const damaged = Uint8Array.from(mod);
  damaged[findAtom(mod, "CODE") + 20] ^= 0x01; // inside the first CODE atom
  assert.match(refusal(damaged), /damaged: its contents do not match its SIGN digest/);
  // IDEN is what a host rewrites when it maps the mod: not part of SIGN.
  const idenAt = findAtom(mod, "IDEN");
  const mapped = Uint8Array.from(mod);
  mapped[idenAt + 8] = 0x55;
  assert.equal(check(mapped).name, "hello");
});

test("archive: layout refusals name what is wrong", () => {
  const mod = demoMod("hello", "1.0.0", { codeSize: 200 });
  assert.match(refusal(utf8Encode("\u00e9\u00e9not an archive at all, just some bytes")), /Not a mod: no XS_A/);
  const xse = Uint8Array.from(mod);
  xse.set(utf8Encode("XS_E"), 4);
  assert.match(refusal(xse), /marked failed \(XS_E\)/);
  assert.match(refusal(mod.subarray(0, mod.length - 10)), /cut short/);
  const longer = new Uint8Array(mod.length + 4);
  longer.set(mod);
  assert.match(refusal(longer), /bytes after its end/);
  const swapped = Uint8Array.from(mod);
  swapped.set(utf8Encode("SYMX"), findAtom(mod, "SYMB") + 4);
  assert.match(refusal(swapped), /SYMB expected, SYMX found/);
  const overrun = Uint8Array.from(mod);
  setU32(overrun, findAtom(mod, "NAME"), mod.length);
  assert.match(refusal(overrun), /NAME atom runs past its XS_A/);
  const vers = Uint8Array.from(mod);
  setU32(vers, 8, 13);
  assert.match(refusal(vers), /VERS is not 4 bytes|runs past/);
  assert.match(refusal(mod, 4096, mod.length - 1), new RegExp(`Mod is ${mod.length} bytes; the mod partition holds ${mod.length - 1}`));
  assert.equal(check(mod, 4096, mod.length).size, mod.length, "a mod exactly the partition's size fits");
});

test("archive: the XS version is known from the first 20 bytes, before the rest arrives", () => {
  const mod = demoMod("hello", "1.0.0", { xs: { major: 16, minor: 7, patch: 0 } });
  const c = new ArchiveCheck(nobleDigest);
  c.write(mod.subarray(0, 19));
  assert.equal(c.xs, undefined);
  c.write(mod.subarray(19, 20));
  assert.deepEqual(c.xs, { major: 16, minor: 7, patch: 0 });
  assert.equal(c.declaredSize, mod.length);
  assert.equal(ARCHIVE_HEADER_SIZE, 44);
});

test("archive: fxMapArchive compares major and minor only", () => {
  assert.ok(xsVersionFits({ major: 17, minor: 7, patch: 1 }, XS_8_2_3));
  assert.ok(!xsVersionFits({ major: 17, minor: 6, patch: 0 }, XS_8_2_3));
  assert.ok(!xsVersionFits({ major: 16, minor: 7, patch: 0 }, XS_8_2_3));
});

test("archive: ota-mod.json must name the mod and its version in printable text", () => {
  assert.deepEqual(parseModInfo('{"name":"a","version":"1"}'), { name: "a", version: "1" });
  assert.match(String(parseModInfo("{")), /not JSON/);
  assert.match(String(parseModInfo('{"name":"a"}')), /needs "name" and "version"/);
  assert.match(String(parseModInfo('{"name":"a\\u0007","version":"1"}')), /printable/);
  assert.match(String(parseModInfo(`{"name":"${"x".repeat(32)}","version":"1"}`)), /1 to 31/);
  const mod = buildArchive({ resources: [{ path: "ota-mod.json", data: utf8Encode('{"name":"x"}') }] });
  assert.match(refusal(mod), /needs "name" and "version"/);
});

function findAtom(bytes: Uint8Array, type: string): number {
  for (let i = 0; i + 8 <= bytes.length; i++) if (String.fromCharCode(bytes[i + 4], bytes[i + 5], bytes[i + 6], bytes[i + 7]) === type) return i;
  throw new Error(`no ${type}`);
}

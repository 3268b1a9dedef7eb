// The example mod (mods/hello) as mcrun really builds it (test/fixtures/mods/
// hello-lin.xsa, rebuilt as that folder's README says) passes the core's
// archive check: layout, SIGN, the name and version of its ota-mod.json
// resource, the XS version of Moddable SDK 8.2.3 and mcrun's check module.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ArchiveCheck } from "../../modules/core/mods/archive";
import { nobleDigest } from "../fakes/digest";

const root = join(import.meta.dirname, "..", "..");
const bytes = new Uint8Array(readFileSync(join(root, "test", "fixtures", "mods", "hello-lin.xsa")));

test("mods/hello built by mcrun: SIGN verifies; hello 1.0.0 for XS 17.7 with a check module", () => {
  for (const step of [1, 64, 4096]) {
    const check = new ArchiveCheck(nobleDigest, 0x18000);
    for (let i = 0; i < bytes.length; i += step) check.write(bytes.subarray(i, i + step));
    const facts = check.end();
    assert.equal(facts.name, "hello");
    assert.equal(facts.version, "1.0.0");
    assert.equal(facts.archiveName, "tech.moddable.hello");
    assert.deepEqual({ major: facts.xs.major, minor: facts.xs.minor }, { major: 17, minor: 7 });
    assert.ok(facts.hasCheck);
    assert.equal(facts.modules, 2, "check and mod; ota/host is the host's");
    assert.equal(facts.resources, 1);
    assert.equal(facts.size, bytes.length);
  }
});

test("mods/hello: a flipped byte in its code fails SIGN", () => {
  const damaged = bytes.slice();
  const at = damaged.indexOf(0x68, 200); // a byte inside the modules, after the header atoms
  damaged[at] ^= 0x01;
  const check = new ArchiveCheck(nobleDigest);
  assert.throws(() => {
    check.write(damaged);
    check.end();
  });
});

test("mods/hello's manifest: ota-mod.json is a data resource, the entry module is ./mod, ota/host only typings", () => {
  const manifest = JSON.parse(readFileSync(join(root, "mods", "hello", "manifest.json"), "utf8")) as { include: string; modules: Record<string, string>; data: Record<string, string> };
  assert.equal(manifest.include, "$(MODDABLE)/examples/manifest_mod.json");
  assert.equal(manifest.modules["*"], "./mod");
  assert.equal(manifest.modules["ota/host"], "../../modules/types/ota-host", "a .d.ts only: mcrun builds no module for it, the host's is imported");
  assert.equal(manifest.data["*"], "./ota-mod");
  assert.deepEqual(JSON.parse(readFileSync(join(root, "mods", "hello", "ota-mod.json"), "utf8")), { name: "hello", version: "1.0.0" });
});

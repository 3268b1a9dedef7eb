// ota-server sign / verify for mods (.xsa), run as the real command: the .sig it
// writes is a mod statement the board's own check (modules/core/mods/mod-statement.ts)
// accepts for that host, and verify refuses a changed archive, another key and a
// signature that is not for this mod.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { demoMod } from "../../tools/xs-archive";
import { checkModSignatureAtHead } from "../../modules/core/mods/mod-statement";
import { signaturePolicy } from "../../modules/core/signature/policy";
import { nobleDigest } from "../fakes/digest";
import { nobleVerifier } from "../fakes/signature";
import { tempDir } from "./helpers";

const ROOT = join(import.meta.dirname, "..", "..");

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "server", "cli.ts"), ...args], { cwd: ROOT, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("ota-server sign and verify for mods", () => {
  let dir: string;
  let mod: string;
  const bytes = demoMod("hello", "1.2.0", { codeSize: 3000 });
  before(async () => {
    dir = await tempDir("ota-mod-signing-");
    mod = join(dir, "hello-1.2.0.xsa");
    await writeFile(mod, bytes);
    for (const name of ["owner", "other"]) assert.equal(cli(["keys", "new", "--out", dir, "--name", name]).status, 0);
  });

  test("a mod needs --host: the firmware it is for", () => {
    const r = cli(["sign", "--key", join(dir, "owner.key"), mod]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /signing a mod \(\.xsa\) needs --host/);
  });

  test("sign writes a mod statement the board accepts for that host; verify says good", async () => {
    const r = cli(["sign", "--key", join(dir, "owner.key"), "--host", "ota-device", mod]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /hello-1\.2\.0\.xsa\.sig: mod hello 1\.2\.0 for ota-device, XS 17\.7, \d+ bytes, key /);
    const sig = await readFile(`${mod}.sig`, "utf8");
    assert.match(sig, /^moddable-ota mod signature 1\n/);
    const pub = await readFile(join(dir, "owner.pub"), "utf8");
    const policy = signaturePolicy([pub], { chipId: 0, projectName: "ota-device", secureVersion: 0 }, nobleDigest);
    const board = { xs: { major: 17, minor: 7 }, host: "ota-device" };
    const verdict = checkModSignatureAtHead(sig, bytes.length, board, policy, nobleVerifier);
    assert.equal(verdict.ok && verdict.signed, true, JSON.stringify(verdict));
    const other = checkModSignatureAtHead(sig, bytes.length, { ...board, host: "other-app" }, policy, nobleVerifier);
    assert.equal(other.ok, false, "a mod signed for ota-device is not for another host");
    const v = cli(["verify", "--pub", join(dir, "owner.pub"), mod]);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /good signature by key .* \(mod hello 1\.2\.0 for ota-device, XS 17\.7\)/);
  });

  test("verify refuses another key, a changed archive, another mod's signature and no signature", async () => {
    assert.equal(cli(["sign", "--key", join(dir, "owner.key"), "--host", "ota-device", mod]).status, 0);
    const wrongKey = cli(["verify", "--pub", join(dir, "other.pub"), mod]);
    assert.equal(wrongKey.status, 1);
    assert.match(wrongKey.stderr, /not one of this board's keys|unknown key|key/i);

    const changed = join(dir, "changed.xsa");
    const damaged = Uint8Array.from(bytes);
    damaged[damaged.length - 1] ^= 1; // the last byte of ota-mod.json: the archive's own SIGN no longer matches
    await writeFile(changed, damaged);
    await copyFile(`${mod}.sig`, `${changed}.sig`);
    const r = cli(["verify", "--pub", join(dir, "owner.pub"), changed]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /changed after it was signed|SIGN/);

    const otherMod = join(dir, "hello-1.3.0.xsa");
    await writeFile(otherMod, demoMod("hello", "1.3.0", { codeSize: 3000 }));
    await copyFile(`${mod}.sig`, `${otherMod}.sig`);
    const swapped = cli(["verify", "--pub", join(dir, "owner.pub"), otherMod]);
    assert.equal(swapped.status, 1);
    assert.match(swapped.stderr, /changed after it was signed/);

    const unsigned = join(dir, "unsigned.xsa");
    await writeFile(unsigned, bytes);
    const none = cli(["verify", "--pub", join(dir, "owner.pub"), unsigned]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /the mod has no signature/);

    const firmwareSigPath = join(dir, "firmware.sig");
    await writeFile(firmwareSigPath, "moddable-ota firmware signature 1\nsha256: 00\n");
    const firmwareSig = cli(["verify", "--pub", join(dir, "owner.pub"), "--sig", firmwareSigPath, mod]);
    assert.equal(firmwareSig.status, 1);
    assert.match(firmwareSig.stderr, /a "moddable-ota firmware signature 1", not a mod signature/);
  });

  test("a .xsa that is not a mod cannot be signed", async () => {
    const bad = join(dir, "bad.xsa");
    await writeFile(bad, "not an archive at all, just text that is long enough");
    const r = cli(["sign", "--key", join(dir, "owner.key"), "--host", "ota-device", bad]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot sign: Not a mod/);
  });
});

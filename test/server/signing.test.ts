// ota-server keys new / sign / verify, run as the real command, and the
// signatures they make checked by the core with the device's pure-JS verifier
// (and the other way round), plus images signed by Espressif's scheme first.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { chmod, copyFile, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { buildImage, imageLength, verifyImage } from "../../tools/esp-image";
import { checkSecureBootV2, signSecureBootV2 } from "../../tools/espsecure-v2";
import { checkSignature, signaturePolicy, verifySignature } from "../../modules/core/signature/policy";
import { readImageFacts } from "../../modules/core/signature/statement";
import { parsePublicKey } from "../../modules/core/signature/keys";
import { nobleDigest } from "../fakes/digest";
import { nobleVerifier, signImage, testKey } from "../fakes/signature";
import { tempDir } from "./helpers";

const ROOT = join(import.meta.dirname, "..", "..");

function cli(args: string[], umask?: string): { status: number | null; stdout: string; stderr: string } {
  const command = [process.execPath, "--import", "tsx", join(ROOT, "server", "cli.ts"), ...args];
  const r = umask
    ? spawnSync("sh", ["-c", `umask ${umask}; exec "$@"`, "sh", ...command], { cwd: ROOT, encoding: "utf8" })
    : spawnSync(command[0], command.slice(1), { cwd: ROOT, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

describe("ota-server keys, sign, verify", () => {
  let dir: string;
  let fw: string;
  const image = buildImage({ version: "1.2.0", projectName: "ota-device", size: 150_000 });
  before(async () => {
    dir = await tempDir("ota-signing-");
    fw = join(dir, "fw.bin");
    await writeFile(fw, image);
  });

  test("keys new writes owner.key with mode 0600 whatever the umask, owner.pub, and prints the public half only", async () => {
    const r = cli(["keys", "new", "--out", join(dir, "keys")], "000");
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await stat(join(dir, "keys", "owner.key"))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, "keys", "owner.pub"))).mode & 0o777, 0o644);
    const secret = await readFile(join(dir, "keys", "owner.key"), "utf8");
    assert.match(secret, /^-----BEGIN PRIVATE KEY-----/);
    const body = secret.split("\n")[1];
    assert.ok(!r.stdout.includes(body) && !r.stderr.includes(body) && !/PRIVATE KEY-----/.test(r.stdout + r.stderr), "no private key material printed");
    // the printed manifest entry is the .pub file's key, and the fingerprint is its id's head
    const configLine = /"signingKeys": \["([A-Za-z0-9+/=]+)"\]/.exec(r.stdout)?.[1];
    assert.ok(configLine, r.stdout);
    const pub = parsePublicKey(await readFile(join(dir, "keys", "owner.pub"), "utf8"), nobleDigest);
    assert.deepEqual(parsePublicKey(configLine, nobleDigest), pub);
    assert.match(r.stdout, new RegExp(`fingerprint: ${pub.fingerprint}`));
  });

  test("keys new never replaces an existing key", async () => {
    const before = await readFile(join(dir, "keys", "owner.key"), "utf8");
    const r = cli(["keys", "new", "--out", join(dir, "keys")]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /already exists; not replacing a key/);
    assert.equal(await readFile(join(dir, "keys", "owner.key"), "utf8"), before);
  });

  test("sign writes FILE.sig; verify says good in one line and exits 0", async () => {
    const s = cli(["sign", "--key", join(dir, "keys", "owner.key"), fw]);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /fw\.bin\.sig: ota-device 1\.2\.0, secure_version 0, ESP32, \d+ bytes, key [0-9a-f]{4} /);
    const sig = await readFile(`${fw}.sig`, "utf8");
    assert.match(sig, new RegExp(`^moddable-ota firmware signature 1\nsha256: ${createHash("sha256").update(image).digest("hex")}\n`));
    const v = cli(["verify", "--pub", join(dir, "keys", "owner.pub"), fw]);
    assert.equal(v.status, 0, v.stderr);
    assert.deepEqual(lines(v.stdout).length, 1);
    assert.match(v.stdout, /good signature by key [0-9a-f ]{19} \(ota-device 1\.2\.0, secure_version 0, ESP32\)/);
  });

  test("verify exits 1 with one line: tampered byte, missing .sig, wrong key, swapped .sig", async () => {
    const pub = join(dir, "keys", "owner.pub");
    const tampered = join(dir, "tampered.bin");
    const bytes = Buffer.from(image);
    bytes[100_000] ^= 1;
    await writeFile(tampered, bytes);
    await copyFile(`${fw}.sig`, `${tampered}.sig`);
    const other = join(dir, "other");
    assert.equal(cli(["keys", "new", "--out", other]).status, 0);
    const older = join(dir, "old.bin");
    await writeFile(older, buildImage({ version: "1.1.0", projectName: "ota-device", size: 150_000 }));
    assert.equal(cli(["sign", "--key", join(dir, "keys", "owner.key"), older]).status, 0);
    const swapped = join(dir, "swapped.bin");
    await copyFile(fw, swapped);
    await copyFile(`${older}.sig`, `${swapped}.sig`);
    const cases: [string[], RegExp][] = [
      [["--pub", pub, tampered], /tampered\.bin: Not signed by this board's owner: the image was changed after it was signed/],
      [["--pub", pub, join(dir, "nosig.bin")], /cannot read .*nosig\.bin \(ENOENT\)/],
      [["--pub", join(other, "owner.pub"), fw], /fw\.bin: Not signed by this board's owner: it is signed with key .*, this board trusts /],
      [["--pub", pub, swapped], /swapped\.bin: Not signed by this board's owner: the signature is for version 1\.1\.0, this image is version 1\.2\.0/],
      [["--pub", join(dir, "keys", "owner.key"), fw], /is a private key; give the public key/],
      [[fw], /verify needs the owner's public key/],
    ];
    for (const [args, reason] of cases) {
      const r = cli(["verify", ...args]);
      assert.equal(r.status, 1, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, reason);
    }
    // a missing .sig beside an existing image
    const unsigned = join(dir, "unsigned.bin");
    await copyFile(fw, unsigned);
    const r = cli(["verify", "--pub", pub, unsigned]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /unsigned\.bin: Not signed by this board's owner: the image has no signature/);
  });

  test("an image for a chip id ESP-IDF does not have (0x0099): verify exits 1 though the signature is good, sign refuses", async () => {
    const unknown = Buffer.from(image);
    unknown.writeUInt16LE(0x0099, 12);
    createHash("sha256").update(unknown.subarray(0, unknown.length - 32)).digest().copy(unknown, unknown.length - 32);
    assert.equal(imageLength(unknown), "Image is for unknown chip 0x0099, a chip id no ESP-IDF target has; esp_ota_end would refuse this image");
    const file = join(dir, "unknown-chip.bin");
    await writeFile(file, unknown);
    const key = testKey(9);
    await writeFile(`${file}.sig`, signImage(unknown, key));
    await writeFile(join(dir, "nine.pub"), key.pem);
    const v = cli(["verify", "--pub", join(dir, "nine.pub"), file]);
    assert.equal(v.status, 1, v.stdout);
    assert.deepEqual(lines(v.stderr), [`${file}: Image is for unknown chip 0x0099, a chip id no ESP-IDF target has; no board would take it (the signature itself is good)`]);
    const other = join(dir, "unknown-unsigned.bin");
    await writeFile(other, unknown);
    const s = cli(["sign", "--key", join(dir, "keys", "owner.key"), other]);
    assert.equal(s.status, 1, s.stdout);
    assert.match(s.stderr, /unknown-unsigned\.bin: cannot sign: Image is for unknown chip 0x0099, a chip id no ESP-IDF target has/);
    await assert.rejects(stat(`${other}.sig`), { code: "ENOENT" });
  });

  test("verify with several --pub (rotation) takes a signature by any of them", () => {
    const r = cli(["verify", "--pub", join(dir, "other", "owner.pub"), "--pub", join(dir, "keys", "owner.pub"), fw]);
    assert.equal(r.status, 0, r.stderr);
  });

  test("sign takes a SEC1 key (openssl ecparam, espsecure ecdsa256) and refuses RSA keys and non-app files", async () => {
    const sec1 = join(dir, "sec1.pem");
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    await writeFile(sec1, privateKey.export({ type: "sec1", format: "pem" }), { mode: 0o600 });
    const copy = join(dir, "sec1.bin");
    await copyFile(fw, copy);
    assert.equal(cli(["sign", "--key", sec1, copy]).status, 0);
    const rsa = join(dir, "rsa.pem");
    await writeFile(rsa, generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    const r = cli(["sign", "--key", rsa, copy]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /is a rsa key; firmware signatures need ECDSA P-256/);
    const text = join(dir, "notes.txt");
    await writeFile(text, "hello");
    const t = cli(["sign", "--key", join(dir, "keys", "owner.key"), text]);
    assert.equal(t.status, 1);
    assert.match(t.stderr, /has no esp_app_desc_t/);
  });

  test("a key file others can read is used, with a warning", async () => {
    const loose = join(dir, "loose.key");
    await copyFile(join(dir, "keys", "owner.key"), loose);
    await chmod(loose, 0o644);
    const copy = join(dir, "loose.bin");
    await copyFile(fw, copy);
    const r = cli(["sign", "--key", loose, copy]);
    assert.equal(r.status, 0);
    assert.match(r.stderr, /warning: .*loose\.key is readable by others \(mode 644\); chmod 600/);
  });

  test("what node:crypto signs, the board's pure-JS verifier accepts; what it signs, verify accepts", async () => {
    const pem = await readFile(join(dir, "keys", "owner.pub"), "utf8");
    const received = { sha256: createHash("sha256").update(image).digest("hex"), size: image.length, facts: readImageFacts(image) };
    const verdict = checkSignature(await readFile(`${fw}.sig`), received, signaturePolicy([pem], { chipId: 0, projectName: "ota-device", secureVersion: 0 }, nobleDigest), nobleVerifier);
    assert.equal(verdict.ok && verdict.signed, true, JSON.stringify(verdict));
    const key = testKey(7);
    const noble = join(dir, "noble.bin");
    await copyFile(fw, noble);
    await writeFile(`${noble}.sig`, signImage(image, key));
    await writeFile(join(dir, "noble.pub"), key.pem);
    const r = cli(["verify", "--pub", join(dir, "noble.pub"), noble]);
    assert.equal(r.status, 0, r.stderr);
  });

  test("interop: an image signed by espsecure's scheme first is signed and verified whole, and Espressif's block stays valid", async () => {
    for (const espKey of [generateKeyPairSync("rsa", { modulusLength: 3072 }).privateKey, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey]) {
      const espSigned = signSecureBootV2(image, espKey);
      const file = join(dir, `esp-${espKey.asymmetricKeyType}.bin`);
      await writeFile(file, espSigned);
      assert.equal(cli(["sign", "--key", join(dir, "keys", "owner.key"), file]).status, 0);
      const v = cli(["verify", "--pub", join(dir, "keys", "owner.pub"), file]);
      assert.equal(v.status, 0, v.stderr);
      const after = new Uint8Array(await readFile(file));
      assert.deepEqual(after, espSigned, "our signing leaves the file alone");
      assert.deepEqual(checkSecureBootV2(after)?.map((b) => b.signatureValid && b.digestMatches), [true]);
      assert.equal(imageLength(after), image.length, "the bootloader's walk ends where the app ends");
      assert.equal(verifyImage(after.subarray(0, image.length)), undefined);
      const sig = await readFile(`${file}.sig`, "utf8");
      assert.match(sig, new RegExp(`^size: ${espSigned.length}$`, "m"), "the signed size is the whole file, sector included");
      const authentic = verifySignature(sig, { sha256: createHash("sha256").update(after).digest("hex"), size: after.length, facts: readImageFacts(after) }, [parsePublicKey(await readFile(join(dir, "keys", "owner.pub"), "utf8"), nobleDigest)], nobleVerifier);
      assert.equal(authentic.ok, true);
    }
  });
});

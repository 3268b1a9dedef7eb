// The server's part of signed firmware (docs/signing.md): a download (and the
// advanced updater's 200) sends the .sig beside the image as
// x-Firmware-Signature, base64 on one line; /api/firmware and /api/catalog
// say "signed" (and the signing key's first 16 hex digits, "signer"). The .sig
// is read with the catalog's guards, bounded, cached per file version.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildImage } from "../../tools/esp-image";
import { parseRules } from "../../server/rules";
import { MAX_ROW_BYTES } from "../../server/catalog-api";
import { checkSignature, signaturePolicy } from "../../modules/core/signature/policy";
import { readImageFacts } from "../../modules/core/signature/statement";
import { nobleDigest, sha256Hex } from "../fakes/digest";
import { nobleVerifier, signImage, testKey } from "../fakes/signature";
import { esp32Headers, rawRequest, requestText, start, tempDir, type Running } from "./helpers";

const OWNER = testKey(1);
const OTHER = testKey(3);

describe("signatures beside catalog images", () => {
  let server: Running;
  let outside: string;
  const image = Buffer.from(buildImage({ chip: "ESP32", version: "1.2.0", projectName: "ota-device", size: 40_000 }));
  const sig = signImage(new Uint8Array(image), OWNER);
  const unsigned = Buffer.from(buildImage({ chip: "ESP32", version: "1.3.0", projectName: "ota-device", size: 30_000 }));
  const other = Buffer.from(buildImage({ chip: "ESP32", version: "1.4.0", projectName: "ota-device", size: 30_000 }));

  before(async () => {
    outside = await tempDir("ota-outside-");
    server = await start({ rules: parseRules("default: fw.bin\n", "yaml") });
    const d = server.dir;
    await writeFile(join(d, "fw.bin"), image);
    await writeFile(join(d, "fw.bin.sig"), sig);
    await writeFile(join(d, "unsigned.bin"), unsigned);
    await writeFile(join(d, "other.bin"), other);
    await writeFile(join(d, "other.bin.sig"), signImage(new Uint8Array(other), OTHER));
    await writeFile(join(d, "junk.bin"), unsigned);
    await writeFile(join(d, "junk.bin.sig"), "this is not a signature file\n");
    await writeFile(join(d, "huge.bin"), unsigned);
    await writeFile(join(d, "huge.bin.sig"), sig + "#".repeat(1024));
    await writeFile(join(d, "escape.bin"), unsigned);
    await writeFile(join(outside, "secret.sig"), sig);
    await symlink(join(outside, "secret.sig"), join(d, "escape.bin.sig"));
    await writeFile(join(d, "fifo.bin"), unsigned);
    execFileSync("mkfifo", [join(d, "fifo.bin.sig")]);
    await writeFile(join(d, "dir.bin"), unsigned);
    await mkdir(join(d, "dir.bin.sig"));
    await symlink("fw.bin", join(d, "latest.bin"));
    await mkdir(join(d, ".hidden"));
    await writeFile(join(d, ".hidden", "fw.bin.sig"), sig);
  });
  after(async () => {
    await server.close();
    await rm(outside, { recursive: true, force: true });
  });

  const device = (target: string, extra: Record<string, string> = {}, method = "GET") => rawRequest(server.port, requestText(target, esp32Headers(extra), method), method === "HEAD");
  const json = async (target: string) => JSON.parse((await rawRequest(server.port, requestText(target, { Host: "127.0.0.1" }))).body.toString("utf8"));

  test("a download sends the .sig as x-Firmware-Signature: base64 of its exact bytes, one line, that spelling; the board's check passes", async () => {
    const r = await device("/fw.bin");
    assert.equal(r.status, 200);
    const raw = r.rawHeaders.filter(([k]) => k === "x-Firmware-Signature");
    assert.equal(raw.length, 1);
    assert.match(raw[0][1], /^[A-Za-z0-9+/]+=*$/);
    assert.ok(raw[0][1].length <= 1368);
    assert.equal(Buffer.from(raw[0][1], "base64").toString("utf8"), sig);
    const verdict = checkSignature(Buffer.from(raw[0][1], "base64"), { sha256: sha256Hex(r.body), size: r.body.length, facts: readImageFacts(r.body) }, signaturePolicy([OWNER.config], { chipId: 0, projectName: "ota-device", secureVersion: 0 }, nobleDigest), nobleVerifier);
    assert.equal(verdict.ok && verdict.signed, true);
  });

  test("HEAD, a Range answer and the advanced updater's 200 carry it too; an image without a .sig gets none", async () => {
    const sigB64 = Buffer.from(sig).toString("base64");
    assert.equal((await device("/fw.bin", {}, "HEAD")).headers["x-firmware-signature"], sigB64);
    const range = await device("/fw.bin", { Range: "bytes=100-" });
    assert.equal(range.status, 206);
    assert.equal(range.headers["x-firmware-signature"], sigB64);
    const update = await device("/update");
    assert.equal(update.status, 200);
    assert.ok(update.body.equals(image));
    assert.equal(update.headers["x-firmware-signature"], sigB64);
    const none = await device("/unsigned.bin");
    assert.equal(none.status, 200);
    assert.equal(none.headers["x-firmware-signature"], undefined);
  });

  test("a .sig that is too large, a FIFO, a folder, a symlink out of the catalog or hidden is never sent", async () => {
    for (const name of ["huge.bin", "fifo.bin", "dir.bin", "escape.bin"]) {
      const r = await device(`/${name}`);
      assert.equal(r.status, 200, name);
      assert.equal(r.headers["x-firmware-signature"], undefined, name);
    }
    const hidden = await device("/.hidden/fw.bin.sig");
    assert.equal(hidden.status, 404);
  });

  test("a present but unparsable .sig is sent as it is (the board says why) and is not 'signed'", async () => {
    const r = await device("/junk.bin");
    assert.equal(Buffer.from(r.headers["x-firmware-signature"], "base64").toString("utf8"), "this is not a signature file\n");
    assert.equal((await json("/api/firmware?path=junk.bin")).signed, false);
  });

  test("through a symlink: the .sig beside the link's target is found when none is beside the link", async () => {
    const r = await device("/latest.bin");
    assert.equal(Buffer.from(r.headers["x-firmware-signature"], "base64").toString("utf8"), sig);
  });

  test("a board fetches <image>.sig with its HTTPUpdate headers: served without the image pre-flight; the gate still stops curl", async () => {
    const r = await device("/fw.bin.sig");
    assert.equal(r.status, 200);
    assert.equal(r.body.toString("utf8"), sig);
    assert.equal(r.headers["x-firmware-signature"], undefined, "no signature of a signature");
    assert.equal((await device("/unsigned.bin.sig")).status, 404, "404 = the image has no signature");
    const curl = await rawRequest(server.port, requestText("/fw.bin.sig", { Host: "127.0.0.1", "User-Agent": "curl/8.5.0" }));
    assert.equal(curl.status, 403);
  });

  test("/api/firmware: signed and the signer's first 16 hex digits; unsigned: false and null", async () => {
    const signed = await json("/api/firmware?path=fw.bin");
    assert.equal(signed.signed, true);
    assert.equal(signed.signer, OWNER.id.slice(0, 16));
    assert.equal(signed.md5.length, 32, "the earlier fields are all still there");
    const plain = await json("/api/firmware?path=unsigned.bin");
    assert.equal(plain.signed, false);
    assert.equal(plain.signer, null);
    assert.equal((await json("/api/firmware?path=huge.bin")).signed, false);
    assert.equal((await json("/api/firmware?path=escape.bin")).signed, false);
  });

  test("/api/catalog rows: signed, signer for each image; unsigned and unreadable ones false; every row under 200 bytes", async () => {
    const rows = (await json("/api/catalog")) as Array<{ name: string; signed?: boolean; signer?: string; chipId?: number }>;
    const by = new Map(rows.map((r) => [r.name, r]));
    assert.deepEqual({ signed: by.get("fw.bin")?.signed, signer: by.get("fw.bin")?.signer }, { signed: true, signer: OWNER.id.slice(0, 16) });
    assert.equal(by.get("other.bin")?.signer, OTHER.id.slice(0, 16));
    for (const name of ["unsigned.bin", "junk.bin", "huge.bin", "fifo.bin", "dir.bin", "escape.bin", "latest.bin"]) {
      assert.equal(by.get(name)?.signed, false, name);
      assert.equal(by.get(name)?.signer, undefined, name);
    }
    assert.equal(by.get("fw.bin")?.chipId, 0, "the chip fields are still there");
    assert.equal(by.has("fw.bin.sig"), false, "a .sig is no image row");
    for (const row of rows) assert.ok(Buffer.byteLength(JSON.stringify(row)) < MAX_ROW_BYTES);
  });

  test("signing an image later: the next listing, download and /api/firmware say so; a replaced .sig is sent anew", async () => {
    await writeFile(join(server.dir, "unsigned.bin.sig"), signImage(new Uint8Array(unsigned), OWNER));
    let row: { signed?: boolean } | undefined;
    for (let i = 0; i < 50 && !row?.signed; i++) {
      row = ((await json("/api/catalog")) as Array<{ name: string; signed?: boolean }>).find((r) => r.name === "unsigned.bin");
      if (!row?.signed) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(row?.signed, true, "the listing was rebuilt");
    assert.ok((await device("/unsigned.bin")).headers["x-firmware-signature"]);
    await new Promise((resolve) => setTimeout(resolve, 40)); // past the settle time: a quiet file is kept
    await device("/unsigned.bin");
    const before = server.context.signatures.reads;
    await device("/unsigned.bin");
    assert.equal(server.context.signatures.reads, before, "an unchanged .sig is not read again");
    await writeFile(join(server.dir, "unsigned.bin.sig"), signImage(new Uint8Array(unsigned), OTHER));
    const r = await device("/unsigned.bin");
    assert.match(Buffer.from(r.headers["x-firmware-signature"], "base64").toString("utf8"), new RegExp(`key: ${OTHER.id}`));
    await rm(join(server.dir, "unsigned.bin.sig"));
    assert.equal((await device("/unsigned.bin")).headers["x-firmware-signature"], undefined, "a removed .sig is not sent");
  });
});

describe("catalog rows with long names", () => {
  test("a signed image with a long name keeps signed and drops version, then signer, to stay under 200 bytes", async () => {
    const server = await start();
    try {
      const name = `${"n".repeat(120)}.bin`;
      const image = buildImage({ chip: "ESP32", version: "1.2.0-with-a-long-tag", projectName: "ota-device", size: 20_000 });
      await writeFile(join(server.dir, name), image);
      await writeFile(join(server.dir, `${name}.sig`), signImage(image, OWNER));
      const body = (await rawRequest(server.port, requestText("/api/catalog", { Host: "127.0.0.1" }))).body.toString("utf8");
      const [row] = JSON.parse(body) as Array<Record<string, unknown>>;
      assert.equal(row.name, name);
      assert.equal(row.signed, true);
      assert.equal(row.version, undefined);
      assert.ok(Buffer.byteLength(JSON.stringify(row)) < MAX_ROW_BYTES);
    } finally {
      await server.close();
    }
  });
});

// Mods (.xsa, Moddable XS archives) in the catalog: /_catalog lists them as
// updateserver.py lists any file that is no .bin image ({"name", "type":
// "file"}, test vector shared/fixtures/autoconnect-updateserver-catalog-response.http:
// readme.txt); /api/catalog gives each a `kind: "mod"` row with what its
// archive says (modules/core/mods/archive.ts), its digests and its .sig;
// /api/firmware describes one whole. Mods are written with tools/xs-archive.ts.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildArchive, demoMod } from "../../tools/xs-archive";
import { buildImage } from "../../tools/esp-image";
import { MAX_MOD_ROW_BYTES, modRowText, type ModRow } from "../../server/catalog-api";
import { MAX_MOD_FILE_BYTES } from "../../server/mod-facts";
import { JsonRowParser } from "../../modules/core/engine/catalog-parser";
import { FACTS_LIMITS, toFact } from "../../modules/core/engine/catalog-facts";
import { signImage, testKey } from "../fakes/signature";
import { signMod } from "../fakes/mod-signature";
import { esp32Headers, rawRequest, requestText, start, type Running } from "./helpers";

const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const OWNER = testKey(1);

describe("mods in the catalog", () => {
  let server: Running;
  const hello = demoMod("hello", "1.0.0");
  const old = demoMod("hello", "0.9.0", { xs: { major: 16, minor: 3, patch: 1 } });
  const bare = buildArchive({ archiveName: "tech.moddable.bare" }); // no ota-mod.json
  const signedMod = demoMod("signed", "2.0.0");
  const damaged = Buffer.from(demoMod("broken", "1.0.0"));
  damaged[damaged.length - 1] ^= 0xff; // the SIGN digest no longer matches
  const image = Buffer.from(buildImage({ chip: "ESP32", version: "1.0.0", size: 20_000 }));

  before(async () => {
    server = await start({ open: true });
    const d = server.dir;
    await writeFile(join(d, "app.bin"), image);
    await writeFile(join(d, "hello-1.0.0.xsa"), hello);
    await writeFile(join(d, "hello-1.0.0.xsa.sig"), signImage(new Uint8Array(image), OWNER)); // any signature file: the server does not judge it
    await writeFile(join(d, "hello-0.9.0.xsa"), old);
    await writeFile(join(d, "signed-2.0.0.xsa"), signedMod);
    await writeFile(join(d, "signed-2.0.0.xsa.sig"), signMod(signedMod, OWNER, "ota-device")); // a mod's own .sig (ota-server sign --host)
    await writeFile(join(d, "bare.xsa"), bare);
    await writeFile(join(d, "damaged.xsa"), damaged);
    await writeFile(join(d, "text.xsa"), "not an archive at all\n");
    await writeFile(join(d, "readme.txt"), "read me\n");
  });
  after(() => server.close());

  const get = async (target: string, headers: Record<string, string> = {}) => {
    const r = await rawRequest(server.port, requestText(target, { Host: `127.0.0.1:${server.port}`, ...headers }, "GET", "HTTP/1.1"));
    return { ...r, text: r.body.toString("utf8") };
  };
  const rows = async () => JSON.parse((await get("/api/catalog?path=.")).text) as Record<string, unknown>[];
  const row = async (name: string) => (await rows()).find((r) => r.name === name);

  test("/_catalog lists a .xsa exactly as updateserver.py lists readme.txt: name and type file, nothing else", async () => {
    const entries = JSON.parse((await get("/_catalog?op=list&path=.")).text) as Record<string, unknown>[];
    for (const name of ["hello-1.0.0.xsa", "bare.xsa", "damaged.xsa", "text.xsa", "readme.txt"])
      assert.deepEqual(entries.find((e) => e.name === name), { name, type: "file" }, name);
    assert.ok((await get("/_catalog?op=list&path=.")).text.includes('{"name": "hello-1.0.0.xsa", "type": "file"}'));
  });

  test("a mod's row: kind mod, its name and version from ota-mod.json, the XS major.minor it needs, size, digests, signature", async () => {
    const signer = OWNER.id.slice(0, 16);
    assert.deepEqual(await row("hello-1.0.0.xsa"), {
      name: "hello-1.0.0.xsa",
      kind: "mod",
      modName: "hello",
      version: "1.0.0",
      xs: "17.7",
      size: hello.length,
      signed: true,
      signer,
      md5: md5(hello),
      // with a signer the row is over 250 bytes with both digests: the SHA-256 goes first (the download carries x-SHA256)
    });
    assert.deepEqual(await row("hello-0.9.0.xsa"), { name: "hello-0.9.0.xsa", kind: "mod", modName: "hello", version: "0.9.0", xs: "16.3", size: old.length, signed: false, md5: md5(old), sha256: sha256(old) });
    const signed = await row("signed-2.0.0.xsa");
    assert.deepEqual([signed?.signed, signed?.signer], [true, signer], "a mod signature file (its statement) is a signature too");
  });

  test("without ota-mod.json: the archive's NAME and an empty version", async () => {
    const r = await row("bare.xsa");
    assert.equal(r?.modName, "tech.moddable.bare");
    assert.equal(r?.version, "");
  });

  test("a .xsa that is no valid mod keeps its row, with why and no facts", async () => {
    assert.deepEqual(await row("damaged.xsa"), { name: "damaged.xsa", kind: "mod", size: damaged.length, signed: false, error: "Mod archive damaged: its contents do not match its SIGN digest" });
    assert.deepEqual(await row("text.xsa"), { name: "text.xsa", kind: "mod", size: 22, signed: false, error: "Not a mod: no XS_A archive atom" });
  });

  test("image rows say kind firmware; other files have no row", async () => {
    assert.equal((await row("app.bin"))?.kind, "firmware");
    assert.equal(await row("readme.txt"), undefined);
    assert.equal(await row("hello-1.0.0.xsa.sig"), undefined);
  });

  test("a mod is read once per file version (the image store), and its download is the very bytes hashed", async () => {
    await rows();
    const loads = server.context.images.loads;
    await rows();
    await writeFile(join(server.dir, "other.txt"), "a new file rebuilds the listing");
    await rows();
    assert.equal(server.context.images.loads, loads, "no mod read again");
    const r = await get("/hello-1.0.0.xsa");
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(Buffer.from(hello)));
    assert.equal(r.headers["x-md5"], md5(hello));
    assert.equal(server.context.images.loads, loads, "served from what the listing read");
    await writeFile(join(server.dir, "hello-1.0.0.xsa"), demoMod("hello", "1.0.1"));
    assert.equal((await row("hello-1.0.0.xsa"))?.version, "1.0.1", "a new version of the file is read again");
  });

  test("an ESP32 board's download of a mod (its HTTPUpdate headers, sketch mode) is served: no image pre-flight for a mod; a .bin still has it", async () => {
    const r = await get("/hello-1.0.0.xsa", esp32Headers());
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.equals(await readFile(join(server.dir, "hello-1.0.0.xsa"))), "the file as it is (an earlier test rewrites it)");
    const text = await get("/readme.txt", esp32Headers());
    assert.equal(text.status, 409, "any other file is still refused as no ESP app image");
  });

  test("a .xsa larger than any mod is not read: its row says why", async () => {
    const path = join(server.dir, "huge.xsa");
    await writeFile(path, hello);
    await truncate(path, MAX_MOD_FILE_BYTES + 1);
    const loads = server.context.images.loads;
    const r = await row("huge.xsa");
    assert.equal(r?.error, `Mod file too large: ${MAX_MOD_FILE_BYTES + 1} bytes (at most ${MAX_MOD_FILE_BYTES})`);
    assert.equal(r?.md5, undefined);
    assert.equal(server.context.images.loads, loads, "not read");
  });

  test("/api/firmware describes a mod", async () => {
    const r = JSON.parse((await get("/api/firmware?path=hello-0.9.0.xsa")).text) as Record<string, unknown>;
    assert.equal(r.kind, "mod");
    assert.equal(r.md5, md5(old));
    assert.equal(r.signed, false);
    assert.deepEqual(r.mod, { name: "hello", version: "0.9.0", archiveName: "tech.moddable.hello", xs: "16.3", xsVersion: "16.3.1", sign: r.mod && (r.mod as { sign: string }).sign, modules: 2, resources: 1, hasCheck: true });
    assert.match((r.mod as { sign: string }).sign, /^[0-9a-f]{32}$/);
    const bad = JSON.parse((await get("/api/firmware?path=text.xsa")).text) as Record<string, unknown>;
    assert.equal(bad.mod, null);
    assert.equal(bad.error, "Not a mod: no XS_A archive atom");
    const fw = JSON.parse((await get("/api/firmware?path=app.bin")).text) as Record<string, unknown>;
    assert.equal(fw.mod, undefined, "images keep their shape");
  });
});

describe("mod rows stay small enough for a board", () => {
  const full: ModRow = { name: "m.xsa", kind: "mod", modName: "n".repeat(31), version: "v".repeat(31), xs: "17.7", size: 65536, signed: true, signer: "0123456789abcdef", md5: "0".repeat(32), sha256: "f".repeat(64) };

  test("SHA-256 goes first, then the MD5, the signer, the mod name, the version; kind, xs and size stay", () => {
    const sized = (n: number) => JSON.parse(modRowText({ ...full, name: `${"x".repeat(n)}.xsa` }) ?? "null") as Record<string, unknown> | null;
    const short = JSON.parse(modRowText({ ...full, modName: "hello", version: "1.0.0" }) ?? "") as Record<string, unknown>;
    assert.equal(short.sha256, full.sha256, "a short row keeps both digests");
    const dropped = [0, 20, 60, 100, 140, 170, 200].map((n) => sized(n));
    const order = ["sha256", "md5", "signer", "modName", "version"];
    let lost = 0;
    for (const r of dropped) {
      if (!r) break;
      const missing = order.filter((k) => r[k] === undefined).length;
      assert.ok(missing >= lost, "fields only go, in order");
      assert.deepEqual(order.filter((k) => r[k] === undefined), order.slice(0, missing));
      assert.equal(r.kind, "mod");
      assert.equal(r.xs, "17.7");
      lost = missing;
    }
    assert.equal(modRowText({ ...full, name: `${"x".repeat(300)}.xsa` }), undefined);
  });

  test("every row sent fits the board's 256-byte row buffer and parses there (the core's row parser)", () => {
    for (let n = 1; n < 260; n += 7) {
      const text = modRowText({ ...full, name: `${"x".repeat(n)}.xsa` });
      if (text === undefined) continue;
      assert.ok(Buffer.byteLength(text) < MAX_MOD_ROW_BYTES);
      const parser = new JsonRowParser(toFact, FACTS_LIMITS);
      parser.push(new TextEncoder().encode(`[${text}]`));
      assert.equal(parser.end().length, 1, text);
    }
  });
});

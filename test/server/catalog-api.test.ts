// GET /api/catalog?path=P: chip, version, project name, "signed" and (once
// hashed) MD5 of each bin entry of a catalog folder, for devices that disable
// wrong-chip or unsigned images and mark the one they run
// (modules/core/engine/catalog-facts.ts).
// Images are built with tools/esp-image.ts; the containment cases are those of
// catalog.test.ts (the reference updateserver.py has no such route).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildImage } from "../../tools/esp-image";
import { MAX_ROW_BYTES, rowText } from "../../server/catalog-api";
import { ESCAPING_PATHS, esp8266Image, rawRequest, requestText, start, tempDir, type Running } from "./helpers";

interface Row {
  name: string;
  chip?: string;
  chipId?: number;
  version?: string;
  signed?: boolean;
  projectName?: string;
  md5?: string;
}

/** tools/esp-image.ts's default esp_app_desc_t.project_name. */
const PROJECT = "moddable-ota-demo";

async function get(server: Running, target: string) {
  const r = await rawRequest(server.port, requestText(target, { Host: `127.0.0.1:${server.port}` }, "GET", "HTTP/1.1"));
  return { status: r.status, type: r.headers["content-type"], length: r.headers["content-length"], body: r.body.toString("utf8"), reason: r.reason };
}

const api = (server: Running, path?: string) => get(server, path === undefined ? "/api/catalog" : `/api/catalog?path=${path}`);

/** A 0xE9 file that is no ESP32 image (as catalog.test.ts's fixture images). */
function plainMagic(size: number): Buffer {
  const b = Buffer.alloc(size, 1);
  b[0] = 0xe9;
  return b;
}

describe("chip list of a catalog folder", () => {
  let server: Running;
  before(async () => {
    server = await start();
    const d = server.dir;
    await writeFile(join(d, "demo-1.1.0.bin"), buildImage({ chip: "ESP32", version: "1.1.0", size: 20_000 }));
    await writeFile(join(d, "demo-s3-2.0.0.bin"), buildImage({ chip: "ESP32-S3", version: "2.0.0", projectName: "thermostat", size: 20_000 }));
    await writeFile(join(d, "c3.bin"), buildImage({ chip: "ESP32-C3", version: "", size: 20_000 }));
    await writeFile(join(d, "esp8266.bin"), esp8266Image(4000));
    await writeFile(join(d, "fw_v1.bin"), plainMagic(1028));
    await writeFile(join(d, "not_esp.bin"), "no magic here");
    await writeFile(join(d, "readme.txt"), "read me\n");
    await mkdir(join(d, "s3"));
    await writeFile(join(d, "s3", "thermo.bin"), buildImage({ chip: "ESP32-S3", version: "2.1.0-rc1", size: 9000 }));
  });
  after(() => server.close());

  test("200, application/json, explicit Content-Length; one flat row per bin entry, in /_catalog's order", async () => {
    const r = await api(server, ".");
    assert.equal(r.status, 200);
    assert.equal(r.type, "application/json");
    assert.equal(Number(r.length), Buffer.byteLength(r.body));
    const rows = JSON.parse(r.body) as Row[];
    const catalog = JSON.parse((await get(server, "/_catalog?op=list&path=.")).body) as { name: string; type: string }[];
    assert.deepEqual(rows.map((e) => e.name), catalog.filter((e) => e.type === "bin").map((e) => e.name));
    assert.deepEqual(rows, [
      { name: "c3.bin", kind: "firmware", chip: "ESP32-C3", chipId: 5, projectName: PROJECT, signed: false },
      { name: "demo-1.1.0.bin", kind: "firmware", chip: "ESP32", chipId: 0, version: "1.1.0", projectName: PROJECT, signed: false },
      { name: "demo-s3-2.0.0.bin", kind: "firmware", chip: "ESP32-S3", chipId: 9, version: "2.0.0", projectName: "thermostat", signed: false },
      { name: "esp8266.bin", kind: "firmware", signed: false },
      { name: "fw_v1.bin", kind: "firmware", signed: false },
    ]);
  });

  test("compact rows in the documented key order, each under 200 bytes", async () => {
    const { body } = await api(server, ".");
    assert.ok(body.includes('{"name":"demo-s3-2.0.0.bin","kind":"firmware","chip":"ESP32-S3","chipId":9,"version":"2.0.0","projectName":"thermostat","signed":false}'), body);
    assert.ok(!body.includes(": "), "no spacing");
    for (const row of body.match(/\{[^}]*\}/g) ?? []) assert.ok(Buffer.byteLength(row) < MAX_ROW_BYTES, row);
  });

  test("path defaults to the catalog root and lists sub-folders", async () => {
    assert.equal((await api(server)).body, (await api(server, ".")).body);
    assert.equal((await api(server, "")).body, (await api(server, ".")).body);
    assert.deepEqual(JSON.parse((await api(server, "s3")).body), [{ name: "thermo.bin", kind: "firmware", chip: "ESP32-S3", chipId: 9, version: "2.1.0-rc1", projectName: PROJECT, signed: false }]);
  });

  test("an image replaced in place is read again (the cache is per file version)", async () => {
    const path = join(server.dir, "s3", "swap.bin");
    await writeFile(path, buildImage({ chip: "ESP32-S3", version: "1.0.0", size: 9000 }));
    assert.deepEqual((JSON.parse((await api(server, "s3")).body) as Row[]).find((e) => e.name === "swap.bin"), { name: "swap.bin", kind: "firmware", chip: "ESP32-S3", chipId: 9, version: "1.0.0", projectName: PROJECT, signed: false });
    await writeFile(path, buildImage({ chip: "ESP32", version: "1.0.1", size: 9000 }));
    assert.deepEqual((JSON.parse((await api(server, "s3")).body) as Row[]).find((e) => e.name === "swap.bin"), { name: "swap.bin", kind: "firmware", chip: "ESP32", chipId: 0, version: "1.0.1", projectName: PROJECT, signed: false });
  });

  test("a missing folder or a file is a JSON 404 that does not name the path", async () => {
    const r = await api(server, "nowhere/at/all");
    assert.equal(r.status, 404);
    assert.deepEqual(JSON.parse(r.body), { error: "Not Found" });
    assert.ok(!r.body.includes("nowhere") && !r.body.includes(server.dir) && !r.reason.includes(server.dir));
    assert.equal((await api(server, "readme.txt")).status, 404);
  });

  test("the compatibility catalog keeps exactly its shape", async () => {
    const entries = JSON.parse((await get(server, "/_catalog?op=list&path=.")).body) as object[];
    for (const e of entries) for (const k of Object.keys(e)) assert.ok(["name", "type", "date", "time", "size"].includes(k), k);
  });
});

describe("chip list rows stay small", () => {
  let server: Running;
  // 128-byte name: the full row is over 200 bytes, the row without its version under.
  const medium = `${"m".repeat(124)}.bin`;
  // 200-byte name: no row can hold it.
  const long = `${"l".repeat(196)}.bin`;
  before(async () => {
    server = await start();
    await writeFile(join(server.dir, medium), buildImage({ chip: "ESP32-S3", version: "2.0.0-with-a-long-suffix", size: 9000 }));
    await writeFile(join(server.dir, long), buildImage({ chip: "ESP32-S3", version: "2.0.0", size: 9000 }));
    await writeFile(join(server.dir, "ok.bin"), buildImage({ chip: "ESP32-S3", version: "2.0.0", size: 9000 }));
  });
  after(() => server.close());

  test("a row too long for a device drops its version, then is left out", async () => {
    const rows = JSON.parse((await api(server, ".")).body) as Row[];
    assert.deepEqual(rows, [
      { name: medium, chip: "ESP32-S3", chipId: 9, signed: false }, // no room for kind: absent means firmware
      { name: "ok.bin", kind: "firmware", chip: "ESP32-S3", chipId: 9, version: "2.0.0", projectName: PROJECT, signed: false },
    ]);
    assert.equal(rowText({ name: long }), undefined);
    assert.equal(rowText({ name: "a.bin", chipId: 9 }), '{"name":"a.bin","chipId":9}');
  });

  test("what goes first when a row is too long: the MD5, then the project name, then the version", () => {
    const md5 = "0123456789abcdef0123456789abcdef";
    const base = { chip: "ESP32-S3", chipId: 9, version: "2.0.0", projectName: "moddable-ota-demo", md5 };
    // The full row with a 60-byte name is 182 bytes: all kept.
    const n60 = "n".repeat(60);
    assert.deepEqual(JSON.parse(rowText({ name: n60, ...base }) ?? ""), { name: n60, ...base });
    // 80 bytes: 202 with its MD5, 161 without.
    const n80 = "n".repeat(80);
    assert.deepEqual(JSON.parse(rowText({ name: n80, ...base }) ?? ""), { name: n80, chip: "ESP32-S3", chipId: 9, version: "2.0.0", projectName: "moddable-ota-demo" });
    // 125 bytes: 206 without the MD5, 171 without the project name too.
    const n125 = "n".repeat(125);
    assert.deepEqual(JSON.parse(rowText({ name: n125, ...base }) ?? ""), { name: n125, chip: "ESP32-S3", chipId: 9, version: "2.0.0" });
    for (const name of [n60, n80, n125]) assert.ok(Buffer.byteLength(rowText({ name, ...base }) ?? "") < MAX_ROW_BYTES);
  });

  test("a signed row: the MD5 goes first, then the signer (signed stays), then the project name", () => {
    const base = { chip: "ESP32-S3", chipId: 9, version: "2.0.0", projectName: "moddable-ota-demo", signed: true, signer: "0123456789abcdef", md5: "0123456789abcdef0123456789abcdef" };
    const { md5: _md5, ...noMd5 } = base;
    const { signer: _signer, ...noSigner } = noMd5;
    const { projectName: _project, ...noProject } = noSigner;
    // 20-byte name: 195 bytes whole. 40: 215, 174 without the MD5. 80: 214, 186 without the signer. 100: 206, 172 without the project name.
    for (const [length, expected] of [[20, base], [40, noMd5], [80, noSigner], [100, noProject]] as const) {
      const name = "n".repeat(length);
      assert.deepEqual(JSON.parse(rowText({ name, ...base }) ?? ""), { name, ...expected }, `${length}-byte name`);
    }
  });
});

describe("chip list MD5s: only of images the server has already hashed", () => {
  let server: Running;
  const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
  const one = buildImage({ chip: "ESP32", version: "1.1.0", size: 30_000 });
  const two = buildImage({ chip: "ESP32", version: "1.2.0", size: 30_000 });
  before(async () => {
    server = await start({ open: true }); // downloads from a plain client, not only HTTPUpdate
    await writeFile(join(server.dir, "one.bin"), one);
    await writeFile(join(server.dir, "two.bin"), two);
  });
  after(() => server.close());

  const rowsOf = async () => JSON.parse((await api(server, ".")).body) as Row[];
  async function download(name: string): Promise<string | undefined> {
    const r = await rawRequest(server.port, requestText(`/${name}`, { Host: `127.0.0.1:${server.port}` }, "GET", "HTTP/1.1"));
    assert.equal(r.status, 200);
    return r.headers["x-md5"];
  }

  test("a listing reads no image in full: no MD5 before a download", async () => {
    const rows = await rowsOf();
    assert.deepEqual(rows.map((r) => r.md5), [undefined, undefined]);
    assert.equal(server.context.images.loads, 0, "listing hashed no image");
  });

  test("after a download the row carries the x-MD5 that download had; the other row still none", async () => {
    const sent = await download("one.bin");
    assert.equal(sent, md5(one));
    const rows = await rowsOf();
    assert.deepEqual(rows[0], { name: "one.bin", kind: "firmware", chip: "ESP32", chipId: 0, version: "1.1.0", projectName: PROJECT, signed: false, md5: md5(one) });
    assert.equal(rows[1].md5, undefined);
    assert.match((await api(server, ".")).body, /"md5":"[0-9a-f]{32}"\}/, "md5 is the row's last key");
  });

  test("a file replaced in place loses its MD5 until it is hashed again: never the old one", async () => {
    await download("one.bin");
    await writeFile(join(server.dir, "one.bin"), two);
    const rows = await rowsOf();
    assert.equal(rows[0].version, "1.2.0");
    assert.equal(rows[0].md5, undefined);
    assert.equal(await download("one.bin"), md5(two));
    assert.equal((await rowsOf())[0].md5, md5(two));
  });
});

describe("chip list containment", () => {
  let base: string;
  let server: Running;
  before(async () => {
    base = await tempDir();
    await mkdir(join(base, "fw"));
    await mkdir(join(base, "fw-old"));
    await mkdir(join(base, "outside"));
    const s3 = buildImage({ chip: "ESP32-S3", version: "6.6.6", size: 9000 });
    await writeFile(join(base, "fw-old", "secret.bin"), s3);
    await writeFile(join(base, "outside", "leak.bin"), s3);
    await mkdir(join(base, "fw", "inner"));
    await writeFile(join(base, "fw", "inner", "ok.bin"), buildImage({ chip: "ESP32", version: "1.0.0", size: 9000 }));
    await symlink(join(base, "outside"), join(base, "fw", "escape"));
    await symlink(join(base, "outside", "leak.bin"), join(base, "fw", "leak.bin"));
    await symlink(join(base, "fw", "inner", "ok.bin"), join(base, "fw", "inner", "alias.bin"));
    server = await start({ dir: join(base, "fw") });
  });
  after(async () => {
    await server.close();
    execFileSync("rm", ["-rf", base]);
  });

  for (const [label, path] of ESCAPING_PATHS) {
    test(`refuses ${label} with a 403 that names no path`, async () => {
      const r = await api(server, path);
      assert.equal(r.status, 403, r.body);
      assert.deepEqual(JSON.parse(r.body), { error: "Forbidden" });
      assert.ok(!r.body.includes(base) && !r.reason.includes(base));
    });
  }

  test("a symlink to an image inside is listed; one that leaves the root is not, nor read", async () => {
    assert.deepEqual(JSON.parse((await api(server, ".")).body), []);
    assert.deepEqual(JSON.parse((await api(server, "inner")).body), [
      { name: "alias.bin", kind: "firmware", chip: "ESP32", chipId: 0, version: "1.0.0", projectName: PROJECT, signed: false },
      { name: "ok.bin", kind: "firmware", chip: "ESP32", chipId: 0, version: "1.0.0", projectName: PROJECT, signed: false },
    ]);
    const all = (await api(server, ".")).body + (await api(server, "inner")).body;
    assert.ok(!all.includes("6.6.6") && !all.includes(base));
  });
});

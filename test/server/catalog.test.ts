// GET /_catalog: AutoConnect's catalog protocol (shared/protocol.md section 1).
// Test vector: shared/fixtures/autoconnect-updateserver-catalog-response.http
// (copied to test/server/fixtures/),
// AutoConnect's reference updateserver.py listing readme.txt, fw_v1.bin,
// fw_v2.bin, subdir (wrongly "file" there) and not_esp.bin (no 0xE9 magic).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, readFile, symlink, utimes, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { ESCAPING_PATHS, FIXTURES, rawRequest, requestText, start, tempDir, type Running } from "./helpers";

// The fixture's files were written at 10:55:15 on 11/22/26, server local time.
const FIXTURE_MTIME = new Date(2026, 10, 22, 10, 55, 15);

function image(size: number, fill: number): Buffer {
  const b = Buffer.alloc(size, fill);
  b[0] = 0xe9;
  return b;
}

async function fixtureCatalog(dir: string): Promise<void> {
  await writeFile(join(dir, "readme.txt"), "read me\n");
  await writeFile(join(dir, "fw_v1.bin"), image(1028, 1));
  await writeFile(join(dir, "fw_v2.bin"), image(2404, 2));
  await writeFile(join(dir, "not_esp.bin"), Buffer.from("no magic here"));
  await mkdir(join(dir, "subdir"));
  for (const f of ["fw_v1.bin", "fw_v2.bin"]) await utimes(join(dir, f), FIXTURE_MTIME, FIXTURE_MTIME);
}

async function catalog(server: Running, query: string): Promise<{ status: number; type: string; length: string; body: string; reason: string }> {
  const r = await rawRequest(server.port, requestText(`/_catalog?${query}`, { Host: `127.0.0.1:${server.port}` }, "GET", "HTTP/1.1"));
  return { status: r.status, type: r.headers["content-type"], length: r.headers["content-length"], body: r.body.toString("utf8"), reason: r.reason };
}

describe("catalog, compared with the reference server's capture", () => {
  let server: Running;
  let fixtureBody: string;
  before(async () => {
    server = await start();
    await fixtureCatalog(server.dir);
    const text = await readFile(join(FIXTURES, "autoconnect-updateserver-catalog-response.http"), "latin1");
    fixtureBody = text.slice(text.indexOf("\r\n\r\n") + 4);
  });
  after(() => server.close());

  test("the AutoConnect request shape gets 200, application/json, explicit Content-Length", async () => {
    // AutoConnectUpdate sends the path unencoded over HTTP/1.1.
    const r = await catalog(server, "op=list&path=.");
    assert.equal(r.status, 200);
    assert.equal(r.type, "application/json");
    assert.equal(Number(r.length), Buffer.byteLength(r.body));
  });

  test("every entry is byte-identical to the reference's, except the folder, now a directory", async () => {
    const { body } = await catalog(server, "op=list&path=.");
    const objects = fixtureBody.match(/\{[^}]*\}/g) ?? [];
    assert.equal(objects.length, 5);
    for (const o of objects) {
      if (o.includes('"subdir"')) continue;
      assert.ok(body.includes(o), `missing ${o} in ${body}`);
    }
    assert.ok(body.includes('{"name": "subdir", "type": "directory"}'));
    assert.ok(!body.includes('{"name": "subdir", "type": "file"}'));
  });

  test("entries come in stable name order, in the reference's JSON spacing", async () => {
    const { body } = await catalog(server, "op=list&path=.");
    const names = (JSON.parse(body) as { name: string }[]).map((e) => e.name);
    assert.deepEqual(names, ["fw_v1.bin", "fw_v2.bin", "not_esp.bin", "readme.txt", "subdir"]);
    assert.equal(body, (await catalog(server, "op=list&path=.")).body);
    assert.ok(body.startsWith('[{"name": "fw_v1.bin", "type": "bin", '));
  });

  test("path defaults to the catalog root and lists sub-folders", async () => {
    assert.equal((await catalog(server, "op=list")).body, (await catalog(server, "op=list&path=.")).body);
    await writeFile(join(server.dir, "subdir", "inner.bin"), image(64, 3));
    const inner = JSON.parse((await catalog(server, "op=list&path=subdir")).body) as { name: string; type: string; size: number }[];
    assert.deepEqual(inner.map((e) => [e.name, e.type, e.size]), [["inner.bin", "bin", 64]]);
  });

  test("an op other than list, or none, is 403", async () => {
    assert.equal((await catalog(server, "op=delete&path=.")).status, 403);
    assert.equal((await catalog(server, "path=.")).status, 403);
  });

  test("a missing folder is a JSON 404 that does not name the path", async () => {
    const r = await catalog(server, "op=list&path=nowhere/at/all");
    assert.equal(r.status, 404);
    assert.deepEqual(JSON.parse(r.body), { error: "Not Found" });
    assert.ok(!r.body.includes("nowhere") && !r.body.includes(server.dir));
    assert.equal((await catalog(server, "op=list&path=readme.txt")).status, 404);
  });
});

describe("catalog containment", () => {
  let base: string;
  let server: Running;
  before(async () => {
    // root "fw" and a sibling "fw-old" that shares its prefix
    base = await tempDir();
    await mkdir(join(base, "fw"));
    await mkdir(join(base, "fw-old"));
    await mkdir(join(base, "outside"));
    await writeFile(join(base, "fw-old", "secret.bin"), image(10, 9));
    await writeFile(join(base, "outside", "leak.bin"), image(10, 9));
    await mkdir(join(base, "fw", "inner"));
    await writeFile(join(base, "fw", "inner", "ok.bin"), image(10, 9));
    await symlink(join(base, "outside"), join(base, "fw", "escape"));
    await symlink(join(base, "outside", "leak.bin"), join(base, "fw", "leak.bin"));
    await symlink(join(base, "fw", "inner"), join(base, "fw", "alias"));
    server = await start({ dir: join(base, "fw") });
  });
  after(async () => {
    await server.close();
    execFileSync("rm", ["-rf", base]);
  });

  for (const [label, path] of ESCAPING_PATHS) {
    test(`refuses ${label}`, async () => {
      const r = await catalog(server, `op=list&path=${path}`);
      assert.equal(r.status, 403, r.body);
      assert.ok(!r.body.includes(base));
    });
  }

  test("refuses the absolute path of a folder inside the catalog (updateserver.py lists it)", async () => {
    for (const path of [join(base, "fw"), join(base, "fw", "inner")]) {
      const r = await catalog(server, `op=list&path=${path}`);
      assert.equal(r.status, 403, r.body);
      assert.ok(!r.body.includes(base));
    }
    assert.equal((await catalog(server, "op=list&path=inner")).status, 200, "the same folder, relative");
  });

  test("lists a symlink that stays inside, leaves out those that escape", async () => {
    const names = (JSON.parse((await catalog(server, "op=list&path=.")).body) as { name: string }[]).map((e) => e.name);
    assert.deepEqual(names, ["alias", "inner"]);
    assert.equal((await catalog(server, "op=list&path=alias")).status, 200);
  });

  test("a relative --catalog path works (the reference 403s every query)", async () => {
    const rel = relative(process.cwd(), join(base, "fw"));
    const relServer = await start({ dir: join(base, "fw"), catalogDir: rel });
    try {
      const r = await catalog(relServer, "op=list&path=inner");
      assert.equal(r.status, 200);
      assert.equal((JSON.parse(r.body) as { name: string }[])[0].name, "ok.bin");
    } finally {
      await relServer.close();
    }
  });
});

describe("catalog with hostile file names", () => {
  let server: Running;
  before(async () => {
    server = await start();
    await writeFile(join(server.dir, 'q"uote\\back\nline.bin'), image(20, 1));
    await writeFile(join(server.dir, "fïrmwäre-€.bin"), image(21, 1));
    await writeFile(join(server.dir, "<script>.bin"), image(22, 1));
    await writeFile(join(server.dir, ".bin"), image(23, 1)); // a dot file: hidden
    execFileSync("mkfifo", [join(server.dir, "pipe.bin")]); // opening it must not hang the listing
  });
  after(() => server.close());

  test("names are escaped like json.dumps (ASCII only) and round-trip", async () => {
    const { body, status } = await catalog(server, "op=list&path=.");
    assert.equal(status, 200);
    assert.ok(/^[\x20-\x7e]*$/.test(body), "body is printable ASCII");
    assert.ok(body.includes('"f\\u00efrmw\\u00e4re-\\u20ac.bin"'));
    const entries = JSON.parse(body) as { name: string; type: string }[];
    const byName = new Map(entries.map((e) => [e.name, e.type]));
    assert.equal(byName.get('q"uote\\back\nline.bin'), "bin");
    assert.equal(byName.get("fïrmwäre-€.bin"), "bin");
    assert.equal(byName.get("<script>.bin"), "bin");
    assert.equal(byName.has(".bin"), false, "hidden files are not listed");
    assert.equal(byName.get("pipe.bin"), "file");
  });

  test("every name is byte-identical to json.dumps: DEL, controls, astral (surrogate pairs), BMP", async () => {
    const odd = join(server.dir, "odd");
    await mkdir(odd);
    const names = ["c\x01\x08\t\x0c\x1f", "d\x7fel", "e\u{1f600}", "s~", "\u00e9\u20ac\u0080\uffff"];
    for (const name of names) await writeFile(join(odd, name), "x");
    const { body, status } = await catalog(server, "op=list&path=odd");
    assert.equal(status, 200);
    // Python 3.11: json.dumps([{"name": n, "type": "file"} for n in names])
    const expected =
      '[{"name": "c\\u0001\\b\\t\\f\\u001f", "type": "file"}, {"name": "d\\u007fel", "type": "file"}, ' +
      '{"name": "e\\ud83d\\ude00", "type": "file"}, {"name": "s~", "type": "file"}, {"name": "\\u00e9\\u20ac\\u0080\\uffff", "type": "file"}]';
    assert.equal(body, expected);
    assert.deepEqual((JSON.parse(body) as { name: string }[]).map((e) => e.name), names);
  });
});

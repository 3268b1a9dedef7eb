// Hardening found by an adversarial run (issue 10): hidden files on every
// route and mode, FIFOs named *.bin, folders swapped for symlinks during
// listings, listings cached and dropped on change, and the idle timeout.
// Nothing here times anything: each test waits for an event, and the runner's
// timeout is the only clock.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, rename, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DEFAULTS } from "../../server/options";
import { parseRules } from "../../server/rules";
import { buildImage } from "../../tools/esp-image";
import { esp32Headers, esp8266Headers, parseResponse, rawRequest, requestText, start, tempDir, type Running } from "./helpers";

const PLAIN = { Host: "127.0.0.1", "User-Agent": "hardening-test" };
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const get = (server: Running, target: string, headers: Record<string, string> = PLAIN) => rawRequest(server.port, requestText(target, headers));
const names = async (server: Running, path: string) => (JSON.parse((await get(server, `/_catalog?op=list&path=${path}`)).body.toString()) as { name: string }[]).map((e) => e.name);

describe("hidden files and folders: never listed, never served", () => {
  let open: Running;
  let closed: Running;
  const image = Buffer.from(buildImage({ version: "1.0.0", size: 5000 }));
  before(async () => {
    const dir = await tempDir();
    await writeFile(join(dir, ".env"), "SECRET=1\n");
    await mkdir(join(dir, ".git"));
    await writeFile(join(dir, ".git", "config"), "[core]\n");
    await writeFile(join(dir, ".hidden.bin"), image);
    await mkdir(join(dir, "app"));
    await writeFile(join(dir, "app", "fw.bin"), image);
    await writeFile(join(dir, "app", ".old.bin"), image);
    await symlink(join(dir, ".env"), join(dir, "visible.bin"));
    await symlink(join(dir, ".git"), join(dir, "repo"));
    const rules = parseRules("default: app/fw.bin\ndevices:\n  \"24:6F:28:AA:BB:01\": visible.bin\n", "yaml");
    open = await start({ dir, open: true });
    closed = await start({ dir, rules });
  });
  after(async () => {
    await open.close();
    await closed.close();
    await rm(open.dir, { recursive: true, force: true });
  });

  test("listings leave them out, and a symlink onto one", async () => {
    assert.deepEqual(await names(open, "."), ["app"]);
    assert.deepEqual(await names(open, "app"), ["fw.bin"]);
    const api = JSON.parse((await get(open, "/api/catalog?path=.")).body.toString()) as object[];
    assert.deepEqual(api, []);
    for (const path of [".git", "repo", "app/.old.bin"]) assert.equal((await get(open, `/_catalog?op=list&path=${path}`)).status, 404, path);
    assert.equal((await get(open, "/api/catalog?path=.git")).status, 404);
  });

  test("downloads refuse them, with --open and without, with spoofed HTTPUpdate headers in any mode", async () => {
    for (const target of ["/.env", "/.git/config", "/.hidden.bin", "/app/.old.bin", "/visible.bin", "/repo/config", "/%2Eenv", ".env"]) {
      assert.equal((await get(open, target)).status, 404, `--open ${target}`);
      for (const mode of ["sketch", "spiffs", "version"]) {
        const r = await get(closed, target, esp8266Headers({ "x-ESP8266-mode": mode }));
        assert.equal(r.status, 404, `${mode} ${target}`);
        assert.ok(!r.body.toString().includes("SECRET"));
      }
    }
    assert.equal((await get(open, "/app/fw.bin")).status, 200);
  });

  test("/api/firmware and the updater refuse them too", async () => {
    for (const path of [".env", ".git/config", "visible.bin", "app/.old.bin"]) assert.equal((await get(open, `/api/firmware?path=${encodeURIComponent(path)}`)).status, 404, path);
    // a rule naming a symlink onto a hidden file: the file is "missing"
    const r = await get(closed, "/update", esp32Headers());
    assert.equal(r.status, 404);
    assert.equal(r.reason, "Firmware file missing");
  });
});

describe("FIFOs named *.bin", () => {
  let server: Running;
  const image = Buffer.from(buildImage({ version: "1.0.0", size: 5000 }));
  before(async () => {
    const dir = await tempDir();
    for (let i = 0; i < 8; i++) execFileSync("mkfifo", [join(dir, `pipe${i}.bin`)]);
    await writeFile(join(dir, "fw.bin"), image);
    server = await start({ dir, open: true, rules: parseRules("default: pipe0.bin\n", "yaml") });
  });
  after(() => server.close());

  test("every route answers at once for each of them and keeps serving (no I/O thread left hanging)", { timeout: 20_000 }, async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => [
        get(server, `/pipe${i}.bin`),
        get(server, `/api/firmware?path=pipe${i}.bin`),
        get(server, "/update", esp32Headers()),
      ]).flat(),
    );
    for (const r of answers) assert.equal(r.status, 404);
    const list = JSON.parse((await get(server, "/_catalog?op=list&path=.")).body.toString()) as { name: string; type: string }[];
    assert.deepEqual(list.find((e) => e.name === "pipe0.bin"), { name: "pipe0.bin", type: "file" });
    assert.equal((await get(server, "/api/catalog?path=.")).status, 200);
    const ok = await get(server, "/fw.bin");
    assert.equal(ok.status, 200);
    assert.ok(ok.body.equals(image));
  });
});

describe("listings are cached per folder and dropped on change", () => {
  let server: Running;
  const image = (v: string, size = 5000) => Buffer.from(buildImage({ version: v, size }));
  before(async () => {
    server = await start();
    await mkdir(join(server.dir, "app"));
    await mkdir(join(server.dir, "store"));
    await writeFile(join(server.dir, "app", "a.bin"), image("1.0.0"));
    await writeFile(join(server.dir, "store", "real.bin"), image("7.0.0"));
    await symlink(join(server.dir, "store", "real.bin"), join(server.dir, "app", "link.bin"));
  });
  after(() => server.close());

  const list = async (path = "app") => JSON.parse((await get(server, `/_catalog?op=list&path=${path}`)).body.toString()) as { name: string; size?: number }[];
  const api = async (path = "app") => JSON.parse((await get(server, `/api/catalog?path=${path}`)).body.toString()) as { name: string; version?: string }[];

  test("a second listing is not built again", async () => {
    await list();
    await list(); // the first build may be dropped by its own atime update
    const builds = server.context.folders.builds;
    await list();
    await api();
    assert.equal(server.context.folders.builds, builds);
  });

  test("a file added, rewritten in place, removed; a symlink target rewritten elsewhere: each shows at once", async () => {
    await writeFile(join(server.dir, "app", "b.bin"), image("2.0.0"));
    assert.deepEqual((await list()).map((e) => e.name), ["a.bin", "b.bin", "link.bin"]);
    const b2 = image("2.0.1", 9000);
    await writeFile(join(server.dir, "app", "b.bin"), b2);
    assert.equal((await list()).find((e) => e.name === "b.bin")?.size, b2.length);
    assert.equal((await api()).find((e) => e.name === "b.bin")?.version, "2.0.1");
    await unlink(join(server.dir, "app", "b.bin"));
    assert.deepEqual((await list()).map((e) => e.name), ["a.bin", "link.bin"]);
    const real2 = image("7.0.1", 12000);
    await writeFile(join(server.dir, "store", "real.bin"), real2);
    assert.equal((await list()).find((e) => e.name === "link.bin")?.size, real2.length);
    assert.equal((await api()).find((e) => e.name === "link.bin")?.version, "7.0.1");
  });

  test("the folder itself replaced by another one is listed afresh", async () => {
    await list("app");
    await rename(join(server.dir, "app"), join(server.dir, "app-old"));
    await mkdir(join(server.dir, "app"));
    await writeFile(join(server.dir, "app", "new.bin"), image("3.0.0"));
    assert.deepEqual((await list()).map((e) => e.name), ["new.bin"]);
  });
});

describe("a folder swapped for a symlink during listings", () => {
  let base: string;
  let server: Running;
  before(async () => {
    base = await tempDir();
    await mkdir(join(base, "fw", "sub"), { recursive: true });
    await writeFile(join(base, "fw", "sub", "inside.bin"), Buffer.from(buildImage({ version: "1.0.0", size: 3000 })));
    await mkdir(join(base, "outside"));
    for (let i = 0; i < 20; i++) await writeFile(join(base, "outside", `secret-${i}.bin`), Buffer.from(buildImage({ version: "6.6.6", size: 4000 + i })));
    server = await start({ dir: join(base, "fw") });
  });
  after(async () => {
    await server.close();
    await rm(base, { recursive: true, force: true });
  });

  test("no listing ever carries an outside name, size or version", { timeout: 30_000 }, async () => {
    const sub = join(base, "fw", "sub");
    let swapping = true;
    const swapper = (async () => {
      while (swapping) {
        await rename(sub, `${sub}.real`);
        await symlink(join(base, "outside"), sub);
        await new Promise((r) => setImmediate(r));
        await unlink(sub);
        await rename(`${sub}.real`, sub);
        await new Promise((r) => setImmediate(r));
      }
    })();
    let listed = 0;
    let leaks = 0;
    const client = async () => {
      for (let n = 0; n < 60; n++) {
        for (const target of ["/_catalog?op=list&path=sub", "/api/catalog?path=sub"]) {
          const r = await get(server, target);
          if (r.status !== 200) continue;
          listed++;
          const text = r.body.toString();
          if (/secret|6\.6\.6|"size": 40\d\d/.test(text)) leaks++;
        }
      }
    };
    await Promise.all(Array.from({ length: 10 }, client));
    swapping = false;
    await swapper;
    assert.ok(listed > 0, "some listings were served");
    assert.equal(leaks, 0, `${leaks} of ${listed} listings leaked outside entries`);
  });
});

describe("idle timeout", () => {
  test("the default is at least 60 s (the ESP8266 Updater's stream timeout) and is what the server uses", async () => {
    assert.ok(DEFAULTS.idleTimeoutMs >= 60_000);
    const server = await start();
    try {
      assert.equal(server.app.server.timeout, DEFAULTS.idleTimeoutMs);
    } finally {
      await server.close();
    }
  });

  test("a client that stops reading is dropped; one that pauses for less than the timeout gets every byte", { timeout: 30_000 }, async () => {
    // Margins wide enough for a loaded machine: the steady client's pauses are a tenth of the timeout.
    const server = await start({ open: true, idleTimeoutMs: 1500 });
    try {
      const data = Buffer.alloc(8 * 1024 * 1024);
      for (let i = 0; i < data.length; i += 512) data.writeUInt32LE(i, i);
      await writeFile(join(server.dir, "big.bin"), data);
      await get(server, "/big.bin"); // held in memory from now on

      const download = (pauseEveryBytes: number, pauseMs: number, once = false) =>
        new Promise<{ body: Buffer; md5: string }>((resolve) => {
          const socket = connect(server.port, "127.0.0.1");
          const chunks: Buffer[] = [];
          let since = 0;
          socket.on("data", (c: Buffer) => {
            chunks.push(c);
            since += c.length;
            if (since >= pauseEveryBytes) {
              since = once ? -Infinity : 0;
              socket.pause();
              setTimeout(() => socket.resume(), pauseMs).unref();
            }
          });
          socket.on("error", () => undefined);
          socket.on("close", () => {
            const r = parseResponse(Buffer.concat(chunks));
            resolve({ body: r.body, md5: r.headers["x-md5"] });
          });
          socket.write(requestText("/big.bin", PLAIN));
        });
      // A paused socket notices the drop only once it reads again: the stalled one resumes well after the timeout.
      const [steady, stalled] = await Promise.all([download(1024 * 1024, 150), download(2 * 1024 * 1024, 5000, true)]);
      assert.equal(steady.body.length, data.length, "pauses under the timeout: all bytes");
      assert.equal(md5(steady.body), steady.md5);
      assert.ok(stalled.body.length < data.length, "a client that stopped reading was dropped");
    } finally {
      await server.close();
    }
  });
});

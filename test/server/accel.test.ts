// X-Accel-Redirect mode (server/accel.ts): ota-server keeps the gate, the
// rules, pre-flight and the headers; nginx in front sends the bytes from a
// snapshot written once per version. The first part needs no nginx; the
// second runs the real one (Debian's nginx-light, installed by .ci/run) with
// the configuration docs/architecture.md gives.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { hasNginx, startNginx, type Nginx } from "../../bench/nginx";
import { parseRules } from "../../server/rules";
import { buildImage } from "../../tools/esp-image";
import { esp32Headers, rawRequest, requestText, start, tempDir, type Running } from "./helpers";
import { signImage, testKey } from "../fakes/signature";

const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const PREFIX = "/_ota_accel/";
const CURL = { Host: "127.0.0.1", "User-Agent": "curl/8.5.0" };


function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function setUp(): Promise<{ server: Running; accelDir: string; work: string; v1: Buffer; big: Buffer }> {
  const work = await tempDir("ota-accel-");
  const accelDir = join(work, "accel");
  const server = await start({
    accel: { prefix: PREFIX, dir: accelDir, recheckMs: 0 },
    maxMemoryFileBytes: 1024 * 1024,
    rules: parseRules("default: fw.bin\n", "yaml"),
  });
  const v1 = Buffer.from(buildImage({ version: "1.0.0", size: 200_000 }));
  const big = Buffer.from(buildImage({ version: "9.0.0", size: 1_500_000 }));
  await writeFile(join(server.dir, "fw.bin"), v1);
  await writeFile(join(server.dir, "big.bin"), big);
  return { server, accelDir, work, v1, big };
}

describe("X-Accel-Redirect answers (no nginx needed)", () => {
  let s: Awaited<ReturnType<typeof setUp>>;
  before(async () => {
    s = await setUp();
  });
  after(async () => {
    await s.server.close();
    await rm(s.work, { recursive: true, force: true });
  });
  const get = (target: string, headers: Record<string, string>, method = "GET") => rawRequest(s.server.port, requestText(target, headers, method), method === "HEAD");

  test("a device's download: headers and a redirect to a snapshot holding exactly the hashed bytes, no body", async () => {
    const r = await get("/fw.bin", esp32Headers());
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-length"], "0");
    assert.equal(r.body.length, 0);
    assert.equal(r.headers["x-md5"], md5(s.v1));
    assert.equal(r.headers["x-accel-redirect"], `${PREFIX}${sha256(s.v1)}.bin`);
    const snapshot = join(s.accelDir, `${sha256(s.v1)}.bin`);
    assert.ok((await readFile(snapshot)).equals(s.v1));
    assert.equal((await stat(snapshot)).mode & 0o777, 0o644, "readable by nginx workers");
  });

  test("the updater redirects too; the gate and pre-flight still answer by themselves", async () => {
    const r = await get("/update", esp32Headers());
    assert.equal(r.headers["x-accel-redirect"], `${PREFIX}${sha256(s.v1)}.bin`);
    const curl = await get("/fw.bin", CURL);
    assert.equal(curl.status, 403);
    assert.equal(curl.headers["x-accel-redirect"], undefined);
    const tooBig = await get("/fw.bin", esp32Headers({ "x-ESP32-free-space": "1000" }));
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.headers["x-accel-redirect"], undefined);
  });

  test("HEAD, Range requests and files too large to hold are answered by ota-server itself", async () => {
    const head = await get("/fw.bin", esp32Headers(), "HEAD");
    assert.equal(head.headers["x-accel-redirect"], undefined);
    assert.equal(head.headers["content-length"], String(s.v1.length));
    const range = await get("/fw.bin", esp32Headers({ Range: "bytes=0-99" }));
    assert.equal(range.status, 206);
    assert.ok(range.body.equals(s.v1.subarray(0, 100)));
    assert.equal(range.headers["x-accel-redirect"], undefined);
    const big = await get("/big.bin", esp32Headers());
    assert.equal(big.headers["x-accel-redirect"], undefined);
    assert.ok(big.body.equals(s.big));
  });

  test("a replaced catalog file gets a new snapshot; the old one is left as it was (nginx may be sending it)", async () => {
    const v2 = Buffer.from(buildImage({ version: "2.0.0", size: 210_000 }));
    await writeFile(join(s.server.dir, ".fw.tmp"), v2);
    await rename(join(s.server.dir, ".fw.tmp"), join(s.server.dir, "fw.bin"));
    const r = await get("/fw.bin", esp32Headers());
    assert.equal(r.headers["x-md5"], md5(v2));
    assert.equal(r.headers["x-accel-redirect"], `${PREFIX}${sha256(v2)}.bin`);
    assert.ok((await readFile(join(s.accelDir, `${sha256(v2)}.bin`))).equals(v2));
    assert.ok((await readFile(join(s.accelDir, `${sha256(s.v1)}.bin`))).equals(s.v1));
  });

  test("a snapshot deleted by someone else is written again", async () => {
    const r1 = await get("/fw.bin", esp32Headers());
    const name = r1.headers["x-accel-redirect"].slice(PREFIX.length);
    await rm(join(s.accelDir, name));
    await get("/fw.bin", esp32Headers());
    assert.equal(md5(await readFile(join(s.accelDir, name))), r1.headers["x-md5"]);
  });

  test("the CLI takes both flags or neither", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", join(import.meta.dirname, "..", "..", "server", "cli.ts"), "--accel-redirect", PREFIX], { encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--accel-redirect and --accel-dir go together/);
  });
});

describe("behind real nginx", { skip: hasNginx() ? false : "nginx not installed (apt-get install -y nginx-light)" }, () => {
  let s: Awaited<ReturnType<typeof setUp>>;
  let nginx: Nginx;
  let port: number;
  before(async () => {
    s = await setUp();
    port = await freePort();
    nginx = await startNginx({ kind: "accel", upstreamPort: s.server.port, prefix: PREFIX, dir: s.accelDir }, port, join(s.work, "nginx"), 1);
  });
  after(async () => {
    await nginx?.stop();
    await s.server.close();
    await rm(s.work, { recursive: true, force: true });
  });
  const get = (target: string, headers: Record<string, string>) => rawRequest(port, requestText(target, { ...headers, Host: `127.0.0.1:${port}` }));

  test("a device gets the whole image from nginx with our x-MD5, x-SHA256 and ETag, one Content-Length", async () => {
    for (const target of ["/fw.bin", "/update"]) {
      const r = await get(target, esp32Headers());
      assert.equal(r.status, 200, target);
      assert.ok(r.body.equals(s.v1), target);
      assert.equal(r.headers["x-md5"], md5(r.body));
      assert.equal(r.headers["x-sha256"], sha256(r.body));
      assert.equal(r.headers.etag, `"${sha256(r.body)}"`);
      assert.equal(r.rawHeaders.filter(([k]) => k.toLowerCase() === "content-length").length, 1);
      assert.equal(r.headers["content-length"], String(s.v1.length));
      assert.equal(r.headers["x-accel-redirect"], undefined, "nginx does not pass it on");
      assert.equal(r.headers["content-disposition"], "attachment; filename=fw.bin");
    }
  });

  test("the gate's refusal, ranges and large files come through nginx from ota-server", async () => {
    const curl = await get("/fw.bin", CURL);
    assert.equal(curl.status, 403);
    assert.equal(curl.reason, "The request available only from ESP8266 or ESP32 http updater.");
    const range = await get("/fw.bin", esp32Headers({ Range: "bytes=10-19" }));
    assert.equal(range.status, 206);
    assert.ok(range.body.equals(s.v1.subarray(10, 20)));
    const big = await get("/big.bin", esp32Headers());
    assert.ok(big.body.equals(s.big));
    assert.equal(big.headers["x-md5"], md5(s.big));
  });

  test("a signed image's x-Firmware-Signature comes through nginx (the add_header line), for a download and a check-in", async () => {
    const sig = signImage(new Uint8Array(s.v1), testKey(1));
    await writeFile(join(s.server.dir, "fw.bin.sig"), sig);
    try {
      for (const target of ["/fw.bin", "/update"]) {
        const r = await get(target, esp32Headers());
        assert.equal(r.status, 200, target);
        assert.ok(r.body.equals(s.v1), target);
        assert.equal(Buffer.from(r.headers["x-firmware-signature"] ?? "", "base64").toString("utf8"), sig, target);
      }
    } finally {
      await rm(join(s.server.dir, "fw.bin.sig"));
    }
    assert.equal((await get("/fw.bin", esp32Headers())).headers["x-firmware-signature"], undefined, "none when there is no .sig");
  });

  test("the snapshot folder is not reachable from outside", async () => {
    const r = await get(`${PREFIX}${sha256(s.v1)}.bin`, esp32Headers());
    assert.notEqual(r.status, 200);
  });
});

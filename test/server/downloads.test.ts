// Binary downloads (shared/protocol.md section 1): the request shapes of
// HTTPUpdate on ESP8266 (capture shared/fixtures/esp8266-httpupdate-request.http)
// and ESP32, AutoConnect's no-leading-slash target, the reference's response
// head (shared/fixtures/autoconnect-updateserver-binary-response-head.http),
// the ESP client gate, HEAD, Range/If-Range and every refusal.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildImage } from "../../tools/esp-image";
import { esp8266Image, esp32Headers, esp32v2Headers, esp8266Headers, FIXTURES, fixtureRequest, rawRequest, requestText, start, tempDir, without, type Running } from "./helpers";

const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("downloads", () => {
  let server: Running;
  let fw: Buffer;
  let s3: Buffer;
  const esp8266 = esp8266Image(300_000);
  before(async () => {
    const base = await tempDir();
    await mkdir(join(base, "fw"));
    server = await start({ dir: join(base, "fw") });
    fw = Buffer.from(buildImage({ version: "1.0.0", size: 200_000 }));
    s3 = Buffer.from(buildImage({ chip: "ESP32-S3", version: "1.0.0", size: 50_000 }));
    await mkdir(join(server.dir, "bin"));
    await writeFile(join(server.dir, "bin", "fw.bin"), fw);
    await writeFile(join(server.dir, "fw.bin"), fw);
    await writeFile(join(server.dir, "s3.bin"), s3);
    await writeFile(join(server.dir, "esp8266.bin"), esp8266);
    await writeFile(join(server.dir, 'we"ird név.bin'), fw);
    await mkdir(join(base, "fw-old"));
    await writeFile(join(base, "fw-old", "secret.bin"), fw);
    await writeFile(join(base, "outside.bin"), fw);
    await symlink(join(base, "outside.bin"), join(server.dir, "link.bin"));
  });
  after(() => server.close());

  const get = (target: string, headers: Record<string, string>, method = "GET") =>
    rawRequest(server.port, requestText(target, headers, method), method === "HEAD");

  test("AutoConnect's `GET bin/fw.bin HTTP/1.0` (no leading slash) is served", async () => {
    const r = await get("bin/fw.bin", esp32Headers());
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(fw));
  });

  test("the response head carries what the device needs, spelled like the reference's", async () => {
    const reference = await readFile(join(FIXTURES, "autoconnect-updateserver-binary-response-head.http"), "latin1");
    const refNames = reference
      .split("\r\n")
      .slice(1)
      .filter((l) => l.includes(":"))
      .map((l) => l.slice(0, l.indexOf(":")))
      .filter((n) => n !== "Server" && n !== "Date");
    assert.deepEqual(refNames, ["Content-Type", "Content-Disposition", "Content-Length", "x-MD5"]);
    const r = await get("/bin/fw.bin", esp32Headers());
    const sent = new Map(r.rawHeaders.map(([k, v]) => [k.toLowerCase(), v]));
    for (const n of refNames) assert.ok(sent.has(n.toLowerCase()), `missing ${n}`);
    assert.ok(r.rawHeaders.some(([k]) => k === "x-MD5"), "x-MD5 keeps its spelling");
    assert.equal(r.headers["content-type"], "application/octet-stream");
    assert.equal(r.headers["content-disposition"], "attachment; filename=fw.bin");
    assert.equal(r.headers["content-length"], String(fw.length));
    assert.match(r.headers["x-md5"], /^[0-9a-f]{32}$/);
    assert.equal(r.headers["x-md5"], md5(r.body));
    assert.equal(r.headers["x-sha256"], sha256(r.body));
    assert.equal(r.headers.etag, `"${sha256(fw)}"`);
    assert.equal(r.headers["transfer-encoding"], undefined);
  });

  test("the ESP8266 capture (Content-Length: 0 on a GET) is served", async () => {
    const request = await fixtureRequest("esp8266-httpupdate-request.http", "/esp8266.bin", server.port);
    assert.ok(request.includes("Content-Length: 0\r\n"));
    const r = await rawRequest(server.port, request);
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(esp8266));
    assert.equal(r.headers["x-md5"], md5(esp8266));
  });

  test("the ESP32 current and 2.0.x header sets are served", async () => {
    for (const headers of [esp32Headers(), esp32v2Headers()]) {
      const r = await get("/fw.bin", headers);
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(fw));
    }
  });

  test("header names in any case are recognised", async () => {
    const lower = Object.fromEntries(Object.entries(esp32Headers()).map(([k, v]) => [k.toLowerCase(), v]));
    const upper = Object.fromEntries(Object.entries(esp32Headers()).map(([k, v]) => [k.startsWith("x-") ? k.toUpperCase() : k, v]));
    assert.equal((await get("/fw.bin", lower)).status, 200);
    assert.equal((await get("/fw.bin", upper)).status, 200);
  });

  test("browsers and curl are refused by the HTTPUpdate gate (as the reference does)", async () => {
    const r = await get("/fw.bin", { Host: "127.0.0.1", "User-Agent": "curl/8.5.0" });
    assert.equal(r.status, 403);
    assert.equal(r.reason, "The request available only from ESP8266 or ESP32 http updater.");
    const missing = await get("/fw.bin", without(esp32Headers(), "x-ESP32-free-space"));
    assert.equal(missing.status, 403);
    const spoofed = await get("/fw.bin", { ...esp32Headers(), "User-Agent": "Mozilla/5.0" });
    assert.equal(spoofed.status, 403);
  });

  test("an ESP32 1.0.x core, which sends no sketch MD5, passes the gate", async () => {
    assert.equal((await get("/fw.bin", without(esp32v2Headers(), "x-ESP32-sketch-md5"))).status, 200);
  });

  test("HEAD answers the headers with the length and no body", async () => {
    const r = await get("/fw.bin", esp32Headers(), "HEAD");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-length"], String(fw.length));
    assert.equal(r.headers["x-md5"], md5(fw));
    assert.equal(r.body.length, 0);
  });

  test("a missing file is 404 and the answer names no path", async () => {
    const r = await get("/bin/nothing-here.bin", esp32Headers());
    assert.equal(r.status, 404);
    const text = r.head + r.body.toString("latin1");
    assert.ok(!text.includes("nothing-here") && !text.includes(server.dir) && !text.includes("/tmp"), text);
  });

  for (const [label, target] of [
    ["a parent segment", "/../outside.bin"],
    ["a parent segment without a leading slash", "../outside.bin"],
    ["encoded dots", "/%2e%2e/outside.bin"],
    ["encoded dots and slash", "/%2e%2e%2foutside.bin"],
    ["the sibling folder sharing the root's prefix", "/../fw-old/secret.bin"],
    ["an absolute path", "//etc/passwd"],
    ["a symlink that leaves the root", "/link.bin"],
  ]) {
    test(`refuses ${label}`, async () => {
      const r = await get(target, esp32Headers());
      assert.ok(r.status === 403 || r.status === 404, `status ${r.status}`);
      assert.notEqual(r.status, 200);
      assert.ok(!r.body.toString("latin1").includes("/tmp"));
    });
  }

  test("a stray percent sign is looked up literally (as updateserver.py does); a miss echoes nothing", async () => {
    const r = await get("/%zz.bin", esp32Headers());
    assert.equal(r.status, 404);
    assert.ok(!(r.head + r.body.toString()).includes("zz"));
  });

  test("a hostile file name gets a quoted, encoded Content-Disposition", async () => {
    const r = await get(`/${encodeURIComponent('we"ird név.bin')}`, esp32Headers());
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-disposition"], `attachment; filename="we_ird n_v.bin"; filename*=UTF-8''we%22ird%20n%C3%A9v.bin`);
  });

  for (const [label, headers] of [
    ["a bad MAC", esp32Headers({ "x-ESP32-STA-MAC": "24:6F:28:ZZ:BB:01" })],
    ["a non-hex sketch MD5", esp32Headers({ "x-ESP32-sketch-md5": "g".repeat(32) })],
    ["a short sketch MD5", esp8266Headers({ "x-ESP8266-sketch-md5": "abc" })],
    ["a non-numeric free space", esp8266Headers({ "x-ESP8266-free-space": "lots" })],
    ["a non-decimal ESP8266 chip id", esp8266Headers({ "x-ESP8266-Chip-ID": "0xEE" })],
    ["headers of both families", { ...esp32Headers(), "x-ESP8266-STA-MAC": "DE:BA:7A:B1:E0:42" }],
  ] as const) {
    test(`malformed device headers (${label}) are 400, and the server carries on`, async () => {
      const r = await get("/fw.bin", headers);
      assert.equal(r.status, 400);
      assert.ok(r.reason.length > 0);
      assert.equal((await get("/fw.bin", esp32Headers())).status, 200);
    });
  }

  test("pre-flight: an ESP32 image for an ESP8266, or one larger than free space, is refused with a reason", async () => {
    const wrongChip = await get("/fw.bin", esp8266Headers());
    assert.equal(wrongChip.status, 409);
    assert.equal(wrongChip.reason, "Image is for ESP32, device is ESP8266");
    const tooBig = await get("/fw.bin", esp32Headers({ "x-ESP32-free-space": String(fw.length - 1) }));
    assert.equal(tooBig.status, 413);
    assert.match(tooBig.reason, /^Not enough space/);
    const s3OnEsp32 = await get("/s3.bin", esp32Headers({ "x-ESP32-chip": "esp32" }));
    assert.equal(s3OnEsp32.status, 409);
    assert.equal(s3OnEsp32.reason, "Image is for ESP32-S3, device is ESP32");
    assert.ok(server.logs.some((l) => l.msg === "download refused by pre-flight" && l.reason === "Image is for ESP32-S3, device is ESP32"));
    const esp8266OnEsp32 = await get("/esp8266.bin", esp32Headers());
    assert.equal(esp8266OnEsp32.status, 409);
    assert.equal(esp8266OnEsp32.reason, "Image is not an ESP32 app image");
    // filesystem images carry no app header: not chip-checked
    assert.equal((await get("/esp8266.bin", esp32Headers({ "x-ESP32-mode": "spiffs" }))).status, 200);
  });
});

describe("downloads with --open", () => {
  let server: Running;
  let data: Buffer;
  before(async () => {
    server = await start({ open: true });
    data = Buffer.from(buildImage({ version: "2.0.0", size: 100_000 }));
    await writeFile(join(server.dir, "fw.bin"), data);
  });
  after(() => server.close());

  const get = (headers: Record<string, string> = {}, method = "GET") =>
    rawRequest(server.port, requestText("/fw.bin", { Host: "127.0.0.1", "User-Agent": "curl/8.5.0", ...headers }, method), method === "HEAD");

  test("curl downloads", async () => {
    const r = await get();
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(data));
    assert.equal(r.headers["accept-ranges"], "bytes");
  });

  test("Range: first bytes, an open end and a suffix give 206 with Content-Range", async () => {
    const a = await get({ Range: "bytes=0-99" });
    assert.equal(a.status, 206);
    assert.equal(a.headers["content-range"], `bytes 0-99/${data.length}`);
    assert.equal(a.headers["content-length"], "100");
    assert.ok(a.body.equals(data.subarray(0, 100)));
    assert.equal(a.headers["x-md5"], md5(data), "x-MD5 describes the whole image");
    const b = await get({ Range: `bytes=${data.length - 5}-` });
    assert.equal(b.status, 206);
    assert.ok(b.body.equals(data.subarray(data.length - 5)));
    const c = await get({ Range: "bytes=-7" });
    assert.equal(c.headers["content-range"], `bytes ${data.length - 7}-${data.length - 1}/${data.length}`);
    assert.ok(c.body.equals(data.subarray(data.length - 7)));
    const d = await get({ Range: `bytes=10-${data.length * 2}` });
    assert.equal(d.headers["content-range"], `bytes 10-${data.length - 1}/${data.length}`);
    assert.ok(d.body.equals(data.subarray(10)));
  });

  test("an unsatisfiable range is 416 with the size", async () => {
    const r = await get({ Range: `bytes=${data.length}-` });
    assert.equal(r.status, 416);
    assert.equal(r.headers["content-range"], `bytes */${data.length}`);
  });

  test("a malformed or multi-part range is ignored: 200 with the whole image", async () => {
    for (const range of ["bytes=abc", "bytes=5-2", "bytes=0-1,5-6", "lines=1-2"]) {
      const r = await get({ Range: range });
      assert.equal(r.status, 200, range);
      assert.ok(r.body.equals(data));
    }
  });

  test("If-Range: the current ETag or date resumes, anything else restarts", async () => {
    const head = await get({}, "HEAD");
    const etag = head.headers.etag;
    const date = head.headers["last-modified"];
    const resumed = await get({ Range: "bytes=1000-1999", "If-Range": etag });
    assert.equal(resumed.status, 206);
    assert.ok(resumed.body.equals(data.subarray(1000, 2000)));
    assert.equal((await get({ Range: "bytes=1000-1999", "If-Range": date })).status, 206);
    for (const stale of ['"0000"', `W/${etag}`, "Mon, 01 Jan 2024 00:00:00 GMT"]) {
      const r = await get({ Range: "bytes=1000-1999", "If-Range": stale });
      assert.equal(r.status, 200, stale);
      assert.ok(r.body.equals(data));
    }
  });

  test("HEAD with a range reports the partial length", async () => {
    const r = await get({ Range: "bytes=0-9" }, "HEAD");
    assert.equal(r.status, 206);
    assert.equal(r.headers["content-length"], "10");
    assert.equal(r.body.length, 0);
  });
});

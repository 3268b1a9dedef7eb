// The HTTPUpdate "advanced updater" (shared/protocol.md section 2): the exact
// ESP8266 requests of shared/fixtures/esp8266-httpupdate-request*.http, the
// ESP32 current and 2.0.x header sets, rules by MAC, group and default,
// 304 when up to date, pre-flight refusals and malformed headers.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseRules } from "../../server/rules";
import { buildImage } from "../../tools/esp-image";
import {
  esp32Headers,
  esp32v2Headers,
  esp8266Headers,
  esp8266Image,
  fixtureRequest,
  MAC_A,
  MAC_B,
  MAC_C,
  rawRequest,
  requestText,
  start,
  without,
  type Running,
} from "./helpers";

const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const esp32v110 = Buffer.from(buildImage({ version: "1.1.0", size: 120_000 }));
const s3v200 = Buffer.from(buildImage({ chip: "ESP32-S3", version: "2.0.0", size: 90_000 }));
const big = Buffer.from(buildImage({ version: "9.9.9", size: 3_000_000 }));
const flash8mb = Buffer.from(buildImage({ version: "3.0.0", size: 60_000, flashSize: 8 * 1024 * 1024 }));
const esp8266 = esp8266Image(350_000);
const filesystem = Buffer.alloc(64 * 1024, 0xff);
/** A well-formed ESP32 image (app descriptor, checksum, appended SHA-256 redone) whose chip id 0x0099 no ESP-IDF target has. */
const unknownChip = (() => {
  const b = Buffer.from(buildImage({ version: "4.0.0", size: 60_000 }));
  b.writeUInt16LE(0x0099, 12);
  createHash("sha256").update(b.subarray(0, b.length - 32)).digest().copy(b, b.length - 32);
  return b;
})();

const RULES = `
endpoint: /update
default: { firmware: esp32/app-1.1.0.bin, chip: esp32 }
groups:
  lab: { firmware: s3/app-2.0.0.bin, chip: esp32-s3, members: ["${MAC_C}"] }
devices:
  "${MAC_A}": { firmware: esp8266/app.bin, chip: esp8266, version: "1.0.0" }
  "${MAC_B.toLowerCase()}": { firmware: esp32/app-1.1.0.bin, filesystem: fs/data.bin }
  "24-6F-28-AA-BB-05": { firmware: s3/app-2.0.0.bin, chip: esp32 }
  "24:6F:28:AA:BB:06": big.bin
  "24:6F:28:AA:BB:07": missing/nothing.bin
  "24:6F:28:AA:BB:08": flash8mb.bin
  "24:6F:28:AA:BB:09": unknown-chip.bin
`;

describe("advanced updater", () => {
  let server: Running;
  before(async () => {
    server = await start({ rules: parseRules(RULES, "yaml") });
    for (const d of ["esp32", "s3", "esp8266", "fs"]) await mkdir(join(server.dir, d));
    await writeFile(join(server.dir, "esp32", "app-1.1.0.bin"), esp32v110);
    await writeFile(join(server.dir, "s3", "app-2.0.0.bin"), s3v200);
    await writeFile(join(server.dir, "esp8266", "app.bin"), esp8266);
    await writeFile(join(server.dir, "fs", "data.bin"), filesystem);
    await writeFile(join(server.dir, "big.bin"), big);
    await writeFile(join(server.dir, "flash8mb.bin"), flash8mb);
    await writeFile(join(server.dir, "unknown-chip.bin"), unknownChip);
  });
  after(() => server.close());

  const ask = (headers: Record<string, string>, target = "/update") => rawRequest(server.port, requestText(target, headers));
  const logged = (msg: string) => server.logs.filter((l) => l.msg === msg);

  test("ESP8266 capture with x-ESP8266-version equal to the rule's version: 304", async () => {
    const r = await rawRequest(server.port, await fixtureRequest("esp8266-httpupdate-request.http", "/update", server.port));
    assert.equal(r.status, 304);
    assert.equal(r.body.length, 0);
  });

  test("ESP8266 capture without a version, other sketch MD5: 200 with its image", async () => {
    const r = await rawRequest(server.port, await fixtureRequest("esp8266-httpupdate-request-noversion.http", "/update", server.port));
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(esp8266));
    assert.equal(r.headers["content-length"], String(esp8266.length));
    assert.equal(r.headers["x-md5"], md5(esp8266));
    assert.ok(r.rawHeaders.some(([k]) => k === "x-MD5"));
  });

  test("ESP8266 running the image (sketch MD5 equal): 304", async () => {
    const r = await ask(esp8266Headers({ "x-ESP8266-sketch-md5": md5(esp8266) }));
    assert.equal(r.status, 304);
  });

  test("ESP32 (current core) gets its device rule's image; 304 by version, MD5 or SHA-256", async () => {
    const r = await ask(esp32Headers());
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(esp32v110));
    assert.equal(r.headers["x-md5"], md5(esp32v110));
    assert.equal(r.headers["x-sha256"], sha256(esp32v110));
    assert.equal((await ask(esp32Headers({ "x-ESP32-version": "1.1.0" }))).status, 304, "version from esp_app_desc_t");
    assert.equal((await ask(esp32Headers({ "x-ESP32-version": "1.0.9" }))).status, 200);
    assert.equal((await ask(esp32Headers({ "x-ESP32-sketch-md5": md5(esp32v110) }))).status, 304);
    assert.equal((await ask(esp32Headers({ "x-ESP32-sketch-sha256": sha256(esp32v110).toUpperCase() }))).status, 304);
  });

  test("ESP32 2.0.x (no BASE-MAC, no SHA-256) and 1.0.x (no sketch MD5) are served", async () => {
    const r = await ask(esp32v2Headers());
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(esp32v110));
    assert.equal((await ask(without(esp32v2Headers(), "x-ESP32-sketch-md5"))).status, 200);
  });

  test("header names in any case", async () => {
    const lower = Object.fromEntries(Object.entries(esp32Headers({ "x-ESP32-version": "1.1.0" })).map(([k, v]) => [k.toLowerCase(), v]));
    assert.equal((await ask(lower)).status, 304);
    const upper = Object.fromEntries(Object.entries(esp8266Headers()).map(([k, v]) => [k.toUpperCase(), v]));
    assert.equal((await ask(upper)).status, 200);
  });

  test("the request target without a leading slash reaches the updater too", async () => {
    assert.equal((await ask(esp32Headers(), "update")).status, 200);
  });

  test("group membership and the default pick the image", async () => {
    const lab = await ask(esp32Headers({ "x-ESP32-STA-MAC": MAC_C, "x-ESP32-BASE-MAC": MAC_C }));
    assert.equal(lab.status, 200);
    assert.ok(lab.body.equals(s3v200));
    const stranger = await ask(esp32Headers({ "x-ESP32-STA-MAC": "11:22:33:44:55:66", "x-ESP32-BASE-MAC": "11:22:33:44:55:66" }));
    assert.equal(stranger.status, 200);
    assert.ok(stranger.body.equals(esp32v110));
  });

  test("a device known only by its AP MAC is matched", async () => {
    const r = await ask(esp32v2Headers({ "x-ESP32-STA-MAC": "11:22:33:44:55:66", "x-ESP32-AP-MAC": "24:6F:28:AA:BB:06" }));
    assert.equal(r.status, 413, "the big.bin rule applied");
  });

  test("an S3 image on a rule that says esp32 is refused before any byte is sent, and logged", async () => {
    const r = await ask(esp32Headers({ "x-ESP32-STA-MAC": "24:6F:28:AA:BB:05", "x-ESP32-BASE-MAC": "24:6F:28:AA:BB:05" }));
    assert.equal(r.status, 409);
    assert.equal(r.reason, "Image is for ESP32-S3, device is ESP32");
    assert.equal(r.headers["x-md5"], undefined);
    assert.ok(logged("updater: refused by pre-flight").some((l) => l.reason === r.reason && l.mac === "24:6F:28:AA:BB:05"));
  });

  test("an x-ESP32-chip header the sketch adds is checked against the image", async () => {
    const r = await ask(esp32Headers({ "x-ESP32-STA-MAC": MAC_C, "x-ESP32-BASE-MAC": MAC_C, "x-ESP32-chip": "esp32-c3" }));
    assert.equal(r.status, 409);
    assert.equal(r.reason, "Image is for ESP32-S3, device is ESP32-C3");
    assert.equal((await ask(esp32Headers({ "x-ESP32-STA-MAC": MAC_C, "x-ESP32-BASE-MAC": MAC_C, "x-ESP32-chip": "ESP32S3" }))).status, 200);
    assert.equal((await ask(esp32Headers({ "x-ESP32-chip": "esp99" }))).status, 400);
  });

  test("with no chip from the device or the rule, an image for a chip id ESP-IDF does not have is refused: no board boots it", async () => {
    const r = await ask(esp32Headers({ "x-ESP32-STA-MAC": "24:6F:28:AA:BB:09" }));
    assert.equal(r.status, 409);
    assert.equal(r.reason, "Image is for unknown chip 0x0099, a chip id no ESP-IDF target has");
    assert.equal(r.headers["x-md5"], undefined);
    const named = await ask(esp32Headers({ "x-ESP32-STA-MAC": "24:6F:28:AA:BB:09", "x-ESP32-chip": "esp32" }));
    assert.equal(named.reason, "Image is for unknown chip 0x0099, device is ESP32", "a known device chip keeps the mismatch wording");
  });

  test("an ESP8266 that falls to the esp32 default rule is refused", async () => {
    const r = await ask(esp8266Headers({ "x-ESP8266-STA-MAC": "11:22:33:44:55:66", "x-ESP8266-AP-MAC": "11:22:33:44:55:66" }));
    assert.equal(r.status, 409);
    assert.equal(r.reason, "Rule is for esp32, device is ESP8266");
  });

  test("an image larger than x-*-free-space: 413 with the sizes", async () => {
    const r = await ask(esp32Headers({ "x-ESP32-STA-MAC": "24:6F:28:AA:BB:06" }));
    assert.equal(r.status, 413);
    assert.equal(r.reason, `Not enough space: image ${big.length} bytes, free 1966080`);
    assert.ok(logged("updater: refused by pre-flight").some((l) => l.status === 413));
  });

  test("an image built for more flash than the chip has is refused", async () => {
    const r = await ask(esp32Headers({ "x-ESP32-STA-MAC": "24:6F:28:AA:BB:08" }));
    assert.equal(r.status, 409);
    assert.equal(r.reason, "Image is built for 8 MB of flash, this board has 4 MB");
  });

  test("a rule naming a missing file: 404 without the path, logged as an error", async () => {
    const r = await ask(esp32Headers({ "x-ESP32-STA-MAC": "24:6F:28:AA:BB:07" }));
    assert.equal(r.status, 404);
    assert.equal(r.reason, "Firmware file missing");
    assert.ok(!(r.head + r.body.toString()).includes("nothing.bin"));
    assert.ok(logged("updater: rule names an unavailable file").length > 0);
  });

  test("filesystem modes get the rule's filesystem image, or 304 when it has none", async () => {
    const r = await ask(esp32Headers({ "x-ESP32-mode": "spiffs" }));
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(filesystem));
    assert.equal((await ask(esp32Headers({ "x-ESP32-mode": "littlefs", "x-ESP32-STA-MAC": MAC_C, "x-ESP32-BASE-MAC": MAC_C }))).status, 304);
  });

  for (const [label, headers] of [
    ["a bad STA MAC", esp32Headers({ "x-ESP32-STA-MAC": "not-a-mac" })],
    ["a bad BASE MAC", esp32Headers({ "x-ESP32-BASE-MAC": "24:6F:28:AA:BB" })],
    ["a non-hex sketch MD5", esp8266Headers({ "x-ESP8266-sketch-md5": "z".repeat(32) })],
    ["a bad sketch SHA-256", esp32Headers({ "x-ESP32-sketch-sha256": "12" })],
    ["a negative free space", esp32Headers({ "x-ESP32-free-space": "-1" })],
    ["a mode with spaces", esp32Headers({ "x-ESP32-mode": "sketch; rm" })],
  ] as const) {
    test(`${label}: 400, never a crash`, async () => {
      const r = await ask(headers);
      assert.equal(r.status, 400);
      assert.equal((await ask(esp32Headers())).status, 200);
    });
  }

  test("browsers, curl and requests missing device headers: 403", async () => {
    assert.equal((await ask({ Host: "127.0.0.1", "User-Agent": "curl/8.5.0" })).status, 403);
    assert.equal((await ask(without(esp8266Headers(), "x-ESP8266-free-space"))).status, 403);
    assert.equal((await ask({ ...esp32Headers(), "User-Agent": "ESP8266-http-Update" })).status, 400, "UA and headers disagree");
  });
});

describe("advanced updater: getAvailableVersion, --open, update reports", () => {
  let server: Running;
  let open: Running;
  const rules = parseRules(`
default: { firmware: esp32/app-1.1.0.bin }
devices:
  "${MAC_A}": { firmware: esp8266/app.bin, version: "1.0.0" }
  "${MAC_C}": esp32/app-1.1.0.bin
`, "yaml");
  before(async () => {
    server = await start({ rules, logLevel: "debug" });
    open = await start({ rules, open: true, dir: server.dir });
    for (const d of ["esp32", "esp8266"]) await mkdir(join(server.dir, d));
    await writeFile(join(server.dir, "esp32", "app-1.1.0.bin"), esp32v110);
    await writeFile(join(server.dir, "esp8266", "app.bin"), esp8266);
  });
  after(async () => {
    await open.close();
    await server.close();
  });
  const ask = (headers: Record<string, string>, s = server) => rawRequest(s.port, requestText("/update", headers));

  test("x-ESP8266-mode: version gets 200 with x-version and x-MD5 and no body, as getAvailableVersion() expects", async () => {
    const r = await ask(esp8266Headers({ "x-ESP8266-mode": "version", "x-ESP8266-version": "0.9.0" }));
    assert.equal(r.status, 200, "getAvailableVersion() takes 304 for 'Wrong HTTP Code'");
    assert.equal(r.headers["x-version"], "1.0.0", "the rule's version");
    assert.equal(r.headers["x-md5"], md5(esp8266));
    assert.equal(r.headers["content-length"], "0");
    assert.equal(r.body.length, 0);
    // the same board on its current version still gets the answer, not 304
    assert.equal((await ask(esp8266Headers({ "x-ESP8266-mode": "version", "x-ESP8266-version": "1.0.0" }))).status, 200);
  });

  test("the version query of an ESP32 image reports its esp_app_desc_t version", async () => {
    const r = await ask(esp32Headers({ "x-ESP32-mode": "version", "x-ESP32-STA-MAC": MAC_C, "x-ESP32-BASE-MAC": MAC_C }));
    assert.equal(r.status, 200);
    assert.equal(r.headers["x-version"], "1.1.0");
    assert.equal(r.body.length, 0);
  });

  test("--open opens plain downloads only: the updater still answers HTTPUpdate clients alone (README)", async () => {
    const curl = { Host: "127.0.0.1", "User-Agent": "curl/8.5.0" };
    assert.equal((await ask(curl, open)).status, 403);
    assert.equal((await rawRequest(open.port, requestText("/esp32/app-1.1.0.bin", curl))).status, 200);
    assert.equal((await ask(esp32Headers(), open)).status, 200);
  });

  test("an ESP8266 with an empty sketch MD5 checks in like any other", async () => {
    const r = await ask(esp8266Headers({ "x-ESP8266-sketch-md5": "" }));
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(esp8266));
  });

  test("a board's report of its last update is logged with its MAC; the answer is as without it", async () => {
    const plain = await ask(esp32Headers({ "x-ESP32-version": "1.1.0" }));
    for (const [result, spelled] of [["valid", "valid"], ["rolled-back", "Rolled-Back"], ["failed", "FAILED"]]) {
      const before = server.logs.length;
      const r = await ask(esp32Headers({ "x-ESP32-version": "1.1.0", "X-esp32-Update-Result": spelled, "x-ESP32-UPDATE-VERSION": "1.1.0" }));
      assert.equal(r.status, plain.status);
      assert.equal(r.head.replace(/Date: .*\r\n/, ""), plain.head.replace(/Date: .*\r\n/, ""));
      const line = server.logs.slice(before).find((l) => l.msg === "device reported its last update");
      assert.ok(line, "logged");
      assert.equal(line.result, result);
      assert.equal(line.version, "1.1.0");
      assert.equal(line.mac, MAC_B);
      assert.equal(line.level, 30, "info");
    }
  });

  test("an ESP8266 check-in carrying a report is not taken for a mix of chip families", async () => {
    const r = await ask(esp8266Headers({ "x-ESP8266-version": "1.0.0", "x-ESP32-update-result": "valid", "x-ESP32-update-version": "1.0.0" }));
    assert.equal(r.status, 304, "version 1.0.0 = the rule's version, as without the report");
  });

  test("malformed reports are ignored (logged at debug), never refused", async () => {
    for (const [result, version] of [["exploded", "1.0.0"], ["valid", "x".repeat(200)], ["valid", "1.0\t0"], ["", ""]]) {
      const before = server.logs.length;
      const r = await ask(esp32Headers({ "x-ESP32-update-result": result, "x-ESP32-update-version": version }));
      assert.equal(r.status, 200, `${result} / ${version.slice(0, 10)}`);
      const lines = server.logs.slice(before);
      const info = lines.find((l) => l.msg === "device reported its last update");
      if (result === "valid") assert.equal(info?.version, undefined, "the bad version is left out");
      else assert.equal(info, undefined);
      assert.ok(lines.some((l) => l.level === 20 && /update report/.test(String(l.msg))), "a debug line says why");
    }
    const noResult = await ask(esp32Headers({ "x-ESP32-update-version": "1.0.0" }));
    assert.equal(noResult.status, 200);
  });

  test("catalog requests' reports are logged too (/_catalog, /api/catalog); boards without one are answered as today", async () => {
    for (const target of ["/_catalog?op=list&path=esp32", "/api/catalog?path=esp32"]) {
      const plain = await rawRequest(server.port, requestText(target, { Host: "x", "User-Agent": "ESP32HTTPClient" }));
      const before = server.logs.length;
      const r = await rawRequest(server.port, requestText(target, { Host: "x", "User-Agent": "ESP32HTTPClient", "x-ESP32-update-result": "rolled-back", "x-ESP32-update-version": "2.0.0" }));
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(plain.body));
      const line = server.logs.slice(before).find((l) => l.msg === "device reported its last update");
      assert.deepEqual([line?.result, line?.version, line?.mac], ["rolled-back", "2.0.0", undefined]);
      assert.ok(!server.logs.slice(before - 2, before).some((l) => l.msg === "device reported its last update"));
    }
  });
});

describe("without rules", () => {
  test("the updater endpoint does not exist", async () => {
    const server = await start();
    try {
      const r = await rawRequest(server.port, requestText("/update", esp32Headers()));
      assert.equal(r.status, 404);
    } finally {
      await server.close();
    }
  });
});

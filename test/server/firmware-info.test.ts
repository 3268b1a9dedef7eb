// GET /api/firmware?path=P: extended metadata, kept out of the catalog.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildImage } from "../../tools/esp-image";
import { esp8266Image, rawRequest, requestText, start, type Running } from "./helpers";

describe("firmware metadata", () => {
  let server: Running;
  const s3 = Buffer.from(buildImage({ chip: "ESP32-S3", version: "2.1.0", projectName: "thermostat", idfVersion: "v5.3.2", date: "Nov 20 2026", time: "08:01:02", size: 80_000, flashSize: 8 * 1024 * 1024 }));
  const mtime = new Date("2026-11-22T10:55:15.000Z");
  // chip id 0x0099 (no ESP-IDF target), appended SHA-256 redone
  const unknownChip = Buffer.from(buildImage({ version: "4.0.0", size: 60_000 }));
  unknownChip.writeUInt16LE(0x0099, 12);
  createHash("sha256").update(unknownChip.subarray(0, unknownChip.length - 32)).digest().copy(unknownChip, unknownChip.length - 32);
  before(async () => {
    server = await start();
    await mkdir(join(server.dir, "s3"));
    await writeFile(join(server.dir, "s3", "thermo.bin"), s3);
    await utimes(join(server.dir, "s3", "thermo.bin"), mtime, mtime);
    await writeFile(join(server.dir, "esp8266.bin"), esp8266Image(5000));
    await writeFile(join(server.dir, "notes.txt"), "hello");
    await writeFile(join(server.dir, "unknown-chip.bin"), unknownChip);
  });
  after(() => server.close());

  const info = async (path: string) => {
    const r = await rawRequest(server.port, requestText(`/api/firmware?path=${encodeURIComponent(path)}`, { Host: "127.0.0.1", "User-Agent": "browser" }));
    return { status: r.status, body: JSON.parse(r.body.toString()) as Record<string, unknown> };
  };

  test("hashes, size, mtime and what the ESP32 image says about itself", async () => {
    const { status, body } = await info("s3/thermo.bin");
    assert.equal(status, 200);
    assert.deepEqual(body, {
      name: "thermo.bin",
      path: "s3/thermo.bin",
      size: s3.length,
      mtime: "2026-11-22T10:55:15.000Z",
      md5: createHash("md5").update(s3).digest("hex"),
      sha256: createHash("sha256").update(s3).digest("hex"),
      family: "esp32",
      image: { chipId: 9, chip: "ESP32-S3", flashSize: 8 * 1024 * 1024, segmentCount: 5, spiMode: 2, entryAddress: 0x40378000, hashAppended: true, problem: null },
      app: { secureVersion: 0, version: "2.1.0", projectName: "thermostat", time: "08:01:02", date: "Nov 20 2026", idfVersion: "v5.3.2" },
      signed: false,
      signer: null,
    });
  });

  test("an image for a chip id ESP-IDF does not have says why no board would take it", async () => {
    const { status, body } = await info("unknown-chip.bin");
    assert.equal(status, 200);
    const image = body.image as Record<string, unknown>;
    assert.equal(image.chip, "unknown chip 0x0099");
    assert.equal(image.problem, "Image is for unknown chip 0x0099, a chip id no ESP-IDF target has");
  });

  test("an ESP8266 image and a plain file: hashes without ESP32 header facts", async () => {
    const a = await info("esp8266.bin");
    assert.equal(a.body.family, "esp8266");
    assert.equal(a.body.image, null);
    assert.equal(a.body.app, null);
    const b = await info("notes.txt");
    assert.equal(b.body.family, "none");
    assert.equal(b.body.md5, createHash("md5").update("hello").digest("hex"));
  });

  test("missing, outside and absent paths are refused without naming them", async () => {
    const missing = await info("s3/gone.bin");
    assert.equal(missing.status, 404);
    assert.ok(!JSON.stringify(missing.body).includes("gone"));
    assert.equal((await info("../etc/passwd")).status, 403);
    assert.equal((await info("/etc/passwd")).status, 403);
    assert.equal((await info("s3")).status, 404);
    const r = await rawRequest(server.port, requestText("/api/firmware", { Host: "127.0.0.1" }));
    assert.equal(r.status, 400);
  });

  test("the compatibility catalog stays flat: no hashes or image facts in it", async () => {
    const r = await rawRequest(server.port, requestText("/_catalog?op=list&path=s3", { Host: "127.0.0.1" }));
    assert.deepEqual(Object.keys((JSON.parse(r.body.toString()) as object[])[0]), ["name", "type", "date", "time", "size"]);
  });
});

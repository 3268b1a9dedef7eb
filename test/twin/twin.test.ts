// The device twin end to end without a browser: real update server, real HTTP
// on loopback, the fault proxy in between, the emulated flash checked by bytes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Twin } from "../../twin/device";
import { startStack, deadPort } from "../support/stack";
import { loadCatalog, startUpdate, status, waitForEnd, waitForValid } from "../support/portal-client";

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const otadataHex = (twin: Twin) => Buffer.from(twin.flash.chip.read(twin.flash.otadata.offset, twin.flash.otadata.size)).toString("hex");
const slotHex = (twin: Twin, slot: number, length: number) => Buffer.from(twin.flash.chip.read(twin.flash.slots[slot].offset, length)).toString("hex");

test("update to 1.1.0: catalog, download, otadata switch, restart into ota_1; the flash file keeps it", async () => {
  const s = await startStack({ twin: { requirePassword: false } });
  try {
    const base = s.twin.url;
    const first = await status(base);
    assert.deepEqual([first.version, first.partition], ["1.0.0", "ota_0"]);
    const catalog = await loadCatalog(base);
    assert.equal(catalog.state, "ready");
    if (catalog.state !== "ready") return;
    assert.deepEqual(
      catalog.entries.map((e) => e.name),
      ["demo-1.0.0.bin", "demo-1.1.0.bin", "demo-2.0.0.bin", "demo-big-3.0.0.bin", "demo-broken-2.1.0.bin", "demo-s3-2.0.0.bin", "demo-xs16-2.2.0.bin", "hello-1.0.0.xsa", "hello-1.1.0.xsa", "hello-broken-1.2.0.xsa", "hello-failcheck-1.3.0.xsa", "hello-xs16-1.0.0.xsa"],
    );
    assert.ok(catalog.entries.filter((e) => e.name.endsWith(".xsa")).every((e) => e.kind === "mod" && e.size !== undefined), "the demo's mods, sized by /api/catalog");
    assert.match(catalog.entries.find((e) => e.name === "demo-big-3.0.0.bin")?.disabled ?? "", /Too large/);
    const started = await startUpdate(base, "demo-1.1.0.bin");
    assert.equal(started.status, 202);
    const end = await waitForEnd(base);
    assert.equal(end.phase, "done", end.error);
    assert.equal(end.received, s.firmwares[1].size);
    await s.twin.booted(2);
    const after = await waitForValid(base);
    assert.equal(after.version, "1.1.0");
    assert.equal(after.partition, "ota_1");
    assert.deepEqual(after.lastUpdate, { version: "1.1.0", result: "valid" });
    const [a, b] = s.twin.flash.readOtadata();
    assert.deepEqual([a.seq, b.seq], [1, 2]);
    const image = readFileSync(`${s.catalogDir}/demo-1.1.0.bin`);
    assert.equal(slotHex(s.twin, 1, image.length), image.toString("hex"));
  } finally {
    await s.twin.stop();
    // A new twin on the same file boots what was installed.
    const again = await Twin.start({ requirePassword: false, flashPath: s.flashPath, server: { host: "127.0.0.1", port: s.serverPort, path: "." } });
    assert.equal(again.device.appVersion, "1.1.0");
    assert.equal(again.device.runningPartition, "ota_1");
    await again.stop();
    await s.stop();
  }
});

test("connection cut at 50 %: the download resumes with Range and the update succeeds", async () => {
  const s = await startStack({ twin: { requirePassword: false }, fault: { cutAt: 0.5 } });
  try {
    const base = s.twin.url;
    await loadCatalog(base);
    assert.equal((await startUpdate(base, "demo-1.1.0.bin")).status, 202);
    const end = await waitForEnd(base);
    assert.equal(end.phase, "done", end.error);
    assert.ok(end.resumes >= 1, `resumes ${end.resumes}`);
    assert.equal(s.proxy?.stats.cuts, 1);
    assert.equal(s.proxy?.stats.requests.filter((p) => p.endsWith("/demo-1.1.0.bin")).length, 2);
    await s.twin.booted(2);
    assert.equal((await status(base)).version, "1.1.0");
  } finally {
    await s.stop();
  }
});

test("one corrupted byte: MD5 error, running version, ota_0 and otadata unchanged", async () => {
  const s = await startStack({ twin: { requirePassword: false }, fault: { flipAt: 100_000 } });
  try {
    const base = s.twin.url;
    const otadata = otadataHex(s.twin);
    const running = slotHex(s.twin, 0, s.firmwares[0].size);
    await loadCatalog(base);
    await startUpdate(base, "demo-1.1.0.bin");
    const end = await waitForEnd(base);
    assert.equal(end.phase, "failed");
    assert.match(end.error ?? "", /MD5/i);
    assert.equal(s.proxy?.stats.flipped, 1);
    assert.equal(otadataHex(s.twin), otadata);
    assert.equal(slotHex(s.twin, 0, s.firmwares[0].size), running);
    assert.equal((await status(base)).version, "1.0.0");
    assert.equal(s.twin.boots, 1);
  } finally {
    await s.stop();
  }
});

test("ESP32-S3 image: listed disabled from the server's chip list; refused before any flash write (the whole flash file is unchanged)", async () => {
  const s = await startStack({ twin: { requirePassword: false } });
  try {
    const base = s.twin.url;
    const before = sha(s.flashPath);
    const erased = s.twin.flash.chip.counters.sectorsErased;
    const catalog = await loadCatalog(base);
    assert.equal(catalog.state, "ready");
    const entry = catalog.state === "ready" ? catalog.entries.find((e) => e.name === "demo-s3-2.0.0.bin") : undefined;
    assert.equal(entry?.disabled, "Image is for ESP32-S3, this board is ESP32");
    assert.equal(entry?.version, "2.0.0");
    const started = await startUpdate(base, "demo-s3-2.0.0.bin");
    assert.equal(started.status, 409);
    assert.equal(started.body.error, "Image is for ESP32-S3, this board is ESP32");
    assert.equal((await status(base)).version, "1.0.0");
    assert.equal(sha(s.flashPath), before);
    assert.equal(s.twin.flash.chip.counters.sectorsErased, erased);
  } finally {
    await s.stop();
  }
});

test("ESP32-S3 image when the chip list fails (cut mid-body): listed as before, and pre-flight refuses it before any flash write", async () => {
  const s = await startStack({ twin: { requirePassword: false }, fault: { match: /^\/api\/catalog\?/, cutAt: 0.5 } });
  try {
    const base = s.twin.url;
    const before = sha(s.flashPath);
    const erased = s.twin.flash.chip.counters.sectorsErased;
    const catalog = await loadCatalog(base);
    assert.equal(s.proxy?.stats.cuts, 1, "the chip list was cut");
    assert.equal(catalog.state, "ready", "no error for a failed chip list");
    const entry = catalog.state === "ready" ? catalog.entries.find((e) => e.name === "demo-s3-2.0.0.bin") : undefined;
    assert.deepEqual(entry && [entry.disabled, entry.version], [undefined, undefined]);
    assert.equal((await startUpdate(base, "demo-s3-2.0.0.bin")).status, 202);
    const end = await waitForEnd(base);
    assert.equal(end.phase, "failed");
    assert.equal(end.error, "Image is for ESP32-S3, this board is ESP32");
    assert.equal(sha(s.flashPath), before);
    assert.equal(s.twin.flash.chip.counters.sectorsErased, erased);
  } finally {
    await s.stop();
  }
});

test("too large for the OTA slot: refused before any flash write", async () => {
  const s = await startStack({ twin: { requirePassword: false } });
  try {
    const base = s.twin.url;
    const before = sha(s.flashPath);
    await loadCatalog(base);
    const started = await startUpdate(base, "demo-big-3.0.0.bin");
    assert.equal(started.status, 409);
    assert.match(started.body.error ?? "", /Too large/);
    assert.equal(sha(s.flashPath), before);
  } finally {
    await s.stop();
  }
});

test("server down: the catalog says it cannot reach the server", async () => {
  const s = await startStack({ twin: { requirePassword: false }, serverPort: await deadPort() });
  try {
    const catalog = await loadCatalog(s.twin.url);
    assert.equal(catalog.state, "error");
    if (catalog.state === "error") assert.match(catalog.error, /server|connect|reach/i);
  } finally {
    await s.stop();
  }
});

test("stalled download: the engine notices, resumes with Range and finishes", async () => {
  const s = await startStack({ fault: { stallAt: 120_000 }, twin: { requirePassword: false, updater: { restartDelayMs: 300, stallMs: 1000 } } });
  try {
    const base = s.twin.url;
    await loadCatalog(base);
    await startUpdate(base, "demo-1.1.0.bin");
    const end = await waitForEnd(base);
    assert.equal(end.phase, "done", end.error);
    assert.ok(end.resumes >= 1);
    assert.equal(s.proxy?.stats.stalls, 1);
    await s.twin.booted(2);
    assert.equal((await status(base)).version, "1.1.0");
  } finally {
    await s.stop();
  }
});

// Signed updates on the twin over real HTTP (the signed demo: npm start --
// --signed): the update server's x-Firmware-Signature, a plain static server's
// `<image>.sig` (no header), and the phone upload's header, through the twin's
// engine, emulated flash and bootloader. A refused image leaves the flash's
// boot selection (otadata) exactly as it was.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { startStack, type Stack } from "../support/stack";
import { loadCatalog, startUpdate, status, waitForEnd, waitForValid } from "../support/portal-client";
import { REFUSED_OTHER_KEY, REFUSED_TAMPERED, REFUSED_UNSIGNED } from "../../twin/demo-signing";
import { buildImage } from "../../tools/esp-image";
import { PROJECT } from "../../twin/demo-catalog";
import { Twin } from "../../twin/device";
import { signImageFile } from "../../server/signing";

const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const otadata = (s: { twin: Twin }) => Buffer.from(s.twin.flash.chip.read(s.twin.flash.otadata.offset, s.twin.flash.otadata.size)).toString("hex");

async function withSigned(run: (s: Stack) => Promise<void>): Promise<void> {
  const s = await startStack({ signed: true, scale: 0.3, twin: { requirePassword: false } });
  try {
    await run(s);
  } finally {
    await s.stop();
  }
}

test("signed demo: the list disables the unsigned and the other key's image with the reason; the tampered one is listed", async () => {
  await withSigned(async (s) => {
    const catalog = await loadCatalog(s.twin.url);
    if (catalog.state !== "ready") return assert.fail(catalog.state);
    const by = new Map(catalog.entries.map((e) => [e.name, e]));
    const owner = s.keys!.owner.publicKey.fingerprint;
    assert.equal(by.get(REFUSED_UNSIGNED)?.disabled, "Not signed by this board's owner: the image has no signature");
    assert.equal(by.get(REFUSED_OTHER_KEY)?.disabled, `Not signed by this board's owner: it is signed with key ${s.keys!.stranger.publicKey.fingerprint}, this board trusts ${owner}`);
    assert.equal(by.get(REFUSED_TAMPERED)?.disabled, undefined);
    assert.equal(by.get("demo-1.1.0.bin")?.disabled, undefined);
    const refused = await startUpdate(s.twin.url, REFUSED_UNSIGNED);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error, "Not signed by this board's owner: the image has no signature");
  });
});

test("signed demo: the tampered image downloads whole, is refused before the boot switch, otadata unchanged; a signed one then installs", async () => {
  await withSigned(async (s) => {
    const before = otadata(s);
    await loadCatalog(s.twin.url);
    assert.equal((await startUpdate(s.twin.url, REFUSED_TAMPERED)).status, 202);
    const end = await waitForEnd(s.twin.url);
    assert.equal(end.phase, "failed");
    assert.equal(end.error, "Not signed by this board's owner: the image was changed after it was signed (its SHA-256 differs)");
    assert.equal(end.received, end.total, "refused after the last byte");
    assert.equal(otadata(s), before, "boot selection untouched");
    assert.equal(s.twin.boots, 1, "no restart");

    assert.equal((await startUpdate(s.twin.url, "demo-1.1.0.bin")).status, 202);
    assert.equal((await waitForEnd(s.twin.url)).phase, "done");
    await s.twin.booted(2);
    const after = await waitForValid(s.twin.url);
    assert.deepEqual([after.version, after.partition], ["1.1.0", "ota_1"]);
  });
});

/** A plain static file server (as nginx or a CDN): the files and an AutoConnect-shaped /_catalog, no signature header. */
async function staticServer(dir: string, names: string[]): Promise<{ server: Server; port: number; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? "/").split("?")[0]);
    requests.push(path);
    if (path === "/_catalog") {
      const rows = names.map((name) => ({ name, type: "bin", date: "11/22/26", time: "10:55:15", size: statSync(join(dir, name)).size }));
      return res.end(JSON.stringify(rows));
    }
    try {
      const bytes = readFileSync(join(dir, path.slice(1)));
      res.writeHead(200, { "Content-Length": bytes.length, "x-MD5": md5(bytes) });
      res.end(bytes);
    } catch {
      res.writeHead(404, { "Content-Length": 9 });
      res.end("Not Found");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, requests };
}

test("a static server without the header: the twin fetches <image>.sig first; signed installs, unsigned (404) is refused from the image's head, nothing erased", async () => {
  await withSigned(async (s) => {
    const plain = await staticServer(s.catalogDir, ["demo-1.1.0.bin", REFUSED_UNSIGNED]);
    try {
      const settings = await fetch(new URL("/update/settings", s.twin.url), { method: "POST", body: new URLSearchParams({ host: "127.0.0.1", port: String(plain.port), path: "." }), redirect: "manual" });
      assert.equal(settings.status, 303);
      const catalog = await loadCatalog(s.twin.url);
      if (catalog.state !== "ready") return assert.fail(catalog.state);
      assert.ok(catalog.entries.every((e) => e.disabled === undefined), "no /api/catalog here: nothing known before the download");

      const before = otadata(s);
      const erased = s.twin.flash.chip.counters.sectorsErased;
      assert.equal((await startUpdate(s.twin.url, REFUSED_UNSIGNED)).status, 202);
      const refused = await waitForEnd(s.twin.url);
      assert.equal(refused.error, "Not signed by this board's owner: the image has no signature");
      assert.equal(otadata(s), before);
      assert.equal(s.twin.flash.chip.counters.sectorsErased, erased, "the other slot (the way back) was not erased");
      assert.deepEqual(plain.requests.filter((p) => p.startsWith("/demo")), [`/${REFUSED_UNSIGNED}.sig`, `/${REFUSED_UNSIGNED}`]);

      assert.equal((await startUpdate(s.twin.url, "demo-1.1.0.bin")).status, 202);
      const done = await waitForEnd(s.twin.url);
      assert.equal(done.phase, "done", done.error);
      assert.deepEqual(plain.requests.slice(-2), ["/demo-1.1.0.bin.sig", "/demo-1.1.0.bin"]);
    } finally {
      plain.server.close();
    }
  });
});

test("upload over HTTP: without x-Firmware-Signature 422 before the body, nothing erased; with the .sig in base64 it installs", async () => {
  await withSigned(async (s) => {
    const image = readFileSync(join(s.catalogDir, "demo-2.0.0.bin"));
    const sig = readFileSync(join(s.catalogDir, "demo-2.0.0.bin.sig"));
    const before = otadata(s);
    const erased = s.twin.flash.chip.counters.sectorsErased;
    const unsigned = await fetch(new URL("/update/upload", s.twin.url), { method: "POST", headers: { "x-MD5": md5(image), "x-Filename": "demo-2.0.0.bin" }, body: image });
    assert.equal(unsigned.status, 422);
    assert.deepEqual(await unsigned.json(), { ok: false, error: "Not signed by this board's owner: the image has no signature (send its .sig file, base64, in x-Firmware-Signature)" });
    assert.equal(s.twin.flash.chip.counters.sectorsErased, erased, "nothing erased");
    assert.equal(otadata(s), before);

    const wrong = buildImage({ version: "2.0.0", projectName: PROJECT, size: image.length, seed: 77 });
    await fetch(new URL("/update/upload", s.twin.url), { method: "POST", headers: { "x-Firmware-Signature": sig.toString("base64") }, body: Buffer.from(wrong) });
    assert.equal((await waitForEnd(s.twin.url)).error, "Not signed by this board's owner: the image was changed after it was signed (its SHA-256 differs)");

    const signed = await fetch(new URL("/update/upload", s.twin.url), { method: "POST", headers: { "x-MD5": md5(image), "x-Firmware-Signature": sig.toString("base64") }, body: image });
    assert.equal(signed.status, 202);
    assert.equal((await waitForEnd(s.twin.url)).phase, "done");
    await s.twin.booted(2);
    assert.equal((await status(s.twin.url)).version, "2.0.0");
  });
});

test("a signed downgrade is refused from its head, the other slot not erased; Go back below the running secure_version is refused too", async () => {
  await withSigned(async (s) => {
    // 1.5.0 raises secure_version to 1 (a release that fixes a hole).
    const raised = join(s.catalogDir, "demo-secure-1.5.0.bin");
    writeFileSync(raised, buildImage({ chip: "ESP32", version: "1.5.0", projectName: PROJECT, size: 200_000, secureVersion: 1, seed: 1500 }));
    await signImageFile(raised, s.keys!.owner);
    await loadCatalog(s.twin.url);
    assert.equal((await startUpdate(s.twin.url, "demo-secure-1.5.0.bin")).status, 202);
    assert.equal((await waitForEnd(s.twin.url)).phase, "done");
    await s.twin.booted(2);
    const running = await waitForValid(s.twin.url);
    assert.deepEqual([running.version, running.previous?.version, running.previous?.bootable], ["1.5.0", "1.0.0", true]);

    // demo-1.1.0.bin is signed by the owner but has secure_version 0.
    const erased = s.twin.flash.chip.counters.sectorsErased;
    const selection = otadata(s);
    await loadCatalog(s.twin.url);
    assert.equal((await startUpdate(s.twin.url, "demo-1.1.0.bin")).status, 202);
    const refused = await waitForEnd(s.twin.url);
    assert.equal(refused.error, "Downgrade refused: the image's secure_version 0 is lower than the running firmware's 1");
    assert.equal(s.twin.flash.chip.counters.sectorsErased, erased, "nothing erased");
    assert.equal(otadata(s), selection);
    const after = await status(s.twin.url);
    assert.deepEqual([after.previous?.version, after.previous?.bootable], ["1.0.0", true], "the other slot's image is still there");
    // ...but a signed-only board does not boot it again: 1.0.0 has secure_version 0.
    const back = await fetch(new URL("/api/rollback", s.twin.url), { method: "POST", headers: { "Content-Type": "application/json", Origin: s.twin.url.replace(/\/$/, "") }, body: "{}" });
    assert.equal(back.status, 409);
    assert.deepEqual(await back.json(), { ok: false, error: "1.0.0 cannot be started again: its secure_version 0 is lower than the running firmware's 1" });
    assert.equal(otadata(s), selection);
  });
});

// POST /update/upload on the twin over real HTTP, as curl and the phone's page
// send it: the body streams into the emulated flash as it arrives; 202, then
// the new image boots and passes its check; refusals come before the body is
// read; a client that stops sending leaves the flash as it was.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { connect } from "node:net";
import { readFileSync } from "node:fs";
import { startStack, type Stack } from "../support/stack";
import { status, waitForEnd, waitForValid } from "../support/portal-client";
import { demoFirmwares, demoImage } from "../../twin/demo-catalog";

const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const flashHex = (s: Stack) => createHash("sha256").update(readFileSync(s.flashPath)).digest("hex");

/** Sends the head (and `body`, when given) on a raw socket; resolves with the status line and body, and the time the answer took. */
function raw(port: number, head: string, body?: Uint8Array): Promise<{ status: number; body: string; ms: number; socket: ReturnType<typeof connect> }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.on("data", (d) => {
      text += d.toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(text);
      if (split >= 0 && length && text.length >= split + 4 + Number(length[1])) resolve({ status: Number(text.slice(9, 12)), body: text.slice(split + 4), ms: Date.now() - t0, socket });
    });
    socket.on("error", reject);
    socket.write(head);
    if (body) socket.write(body);
  });
}

const uploadHead = (port: number, length: number, extra = "") => `POST /update/upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n${extra}\r\n`;

test("curl --data-binary @fw.bin -H 'x-MD5: ...': 202, streamed into ota_1, boots and passes its check", async () => {
  const s = await startStack({ twin: { requirePassword: false } });
  try {
    const image = demoImage({ ...demoFirmwares(0.3)[1] });
    const r = await fetch(new URL("/update/upload", s.twin.url), { method: "POST", headers: { "x-MD5": md5(image), "x-Filename": "demo-1.1.0.bin" }, body: Buffer.from(image) });
    assert.equal(r.status, 202);
    assert.deepEqual(await r.json(), { ok: true });
    const end = await waitForEnd(s.twin.url);
    assert.equal(end.phase, "done", end.error);
    assert.equal(end.target, "demo-1.1.0.bin");
    await s.twin.booted(2);
    const after = await waitForValid(s.twin.url);
    assert.deepEqual([after.version, after.partition, after.lastUpdate?.result], ["1.1.0", "ota_1", "valid"]);
  } finally {
    await s.stop();
  }
});

test("refused at once, before the body: over the slot 413, and a form post over its cap 413", async () => {
  const s = await startStack({ twin: { requirePassword: false } });
  try {
    const before = flashHex(s);
    const big = await raw(s.twin.port, uploadHead(s.twin.port, 5 * 1024 * 1024)); // the body never comes
    assert.equal(big.status, 413);
    assert.match(JSON.parse(big.body).error, /^Image is 5 MB, the update partition holds 1\.9 MB$/);
    assert.ok(big.ms < 2000, `answered in ${big.ms} ms`);
    big.socket.destroy();
    const form = await raw(s.twin.port, `POST /wifi/connect HTTP/1.1\r\nHost: 127.0.0.1:${s.twin.port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n`);
    assert.equal(form.status, 413);
    assert.ok(form.ms < 2000, `answered in ${form.ms} ms (the twin used to wait 30 s)`);
    form.socket.destroy();
    assert.equal(flashHex(s), before);
  } finally {
    await s.stop();
  }
});

test("an ESP32-S3 image: 422 with the reason, nothing erased; a second upload while one runs: 409", async () => {
  const s = await startStack({ twin: { requirePassword: false } });
  try {
    const before = flashHex(s);
    const s3 = demoImage(demoFirmwares(0.3).find((f) => f.chip === "ESP32-S3")!);
    const r = await fetch(new URL("/update/upload", s.twin.url), { method: "POST", body: Buffer.from(s3) });
    assert.equal(r.status, 422);
    assert.deepEqual(await r.json(), { ok: false, error: "Image is for ESP32-S3, this board is ESP32" });
    assert.equal(flashHex(s), before, "the whole flash file is unchanged");
    const image = demoImage(demoFirmwares(0.3)[1]);
    const first = await new Promise<ReturnType<typeof connect>>((resolve) => {
      const socket = connect(s.twin.port, "127.0.0.1", () => {
        socket.write(uploadHead(s.twin.port, image.length));
        socket.write(image.subarray(0, 8192));
        resolve(socket);
      });
    });
    await new Promise((r2) => setTimeout(r2, 200));
    const second = await fetch(new URL("/update/upload", s.twin.url), { method: "POST", body: Buffer.from(image) });
    assert.equal(second.status, 409);
    assert.deepEqual(await second.json(), { ok: false, error: "An update is already running" });
    first.destroy();
  } finally {
    await s.stop();
  }
});

test("a client that stops sending: the update fails after the stall time; the running slot and boot selection are unchanged", async () => {
  const s = await startStack({ twin: { requirePassword: false } }); // stallMs 2000
  try {
    const otadata = Buffer.from(s.twin.flash.chip.read(s.twin.flash.otadata.offset, s.twin.flash.otadata.size)).toString("hex");
    const running = Buffer.from(s.twin.flash.chip.read(s.twin.flash.slots[0].offset, 300_000)).toString("hex");
    const image = demoImage(demoFirmwares(0.3)[1]);
    const socket = connect(s.twin.port, "127.0.0.1");
    let answer = "";
    socket.on("data", (d) => (answer += d.toString("latin1")));
    const closed = new Promise<number>((resolve) => socket.on("end", () => resolve(Date.now())));
    const t0 = Date.now();
    socket.write(uploadHead(s.twin.port, image.length));
    socket.write(image.subarray(0, 100_000));
    const end = await waitForEnd(s.twin.url, 10_000);
    assert.equal(end.phase, "failed");
    assert.match(end.error ?? "", /^The upload stalled at \d+ %: nothing arrived for 2 s$/);
    const closedAt = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(Infinity), 6000))]);
    assert.ok(closedAt - t0 < 4000, `the server closed right after the stall, not at its idle timeout (${closedAt - t0} ms)`);
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/, "the silent client gets an answer");
    assert.deepEqual(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)), { ok: false, error: end.error });
    socket.destroy();
    assert.equal(Buffer.from(s.twin.flash.chip.read(s.twin.flash.otadata.offset, s.twin.flash.otadata.size)).toString("hex"), otadata);
    assert.equal(Buffer.from(s.twin.flash.chip.read(s.twin.flash.slots[0].offset, 300_000)).toString("hex"), running);
    assert.equal((await status(s.twin.url)).version, "1.0.0");
  } finally {
    await s.stop();
  }
});

// An update from an uploaded body (Node and XS): the same pipeline as a
// download (pre-flight before any erase, 4 KB pieces, digests, the image
// rules, verify, commit), and every way an upload can go wrong leaves the
// running image and the boot selection as they were.
import { test, assert } from "../../harness/t";
import type { UploadTarget } from "../../../modules/core/updater-api";
import { createRig, type Rig } from "../../fakes/rig";
import { buildImage } from "../../fakes/image";
import { md5Hex } from "../../fakes/digest";

const IMAGE = buildImage({ size: 40_000, seed: 21, version: "3.1.0" });

function rig(): Rig {
  return createRig({ route: () => ({ refuse: "no network in this test" }) });
}

function send(target: UploadTarget, bytes: Uint8Array, piece = 4096): void {
  for (let at = 0; at < bytes.length; at += piece) target.write(bytes.subarray(at, at + piece));
}

function started(x: Rig, size = IMAGE.length, md5: string | undefined = md5Hex(IMAGE)): UploadTarget {
  const s = x.updater.upload({ size, md5, name: "fw-3.1.0.bin" });
  if (!s.ok) throw new Error(`refused: ${s.status} ${s.error}`);
  return s.upload;
}

test("an upload streams into the slot, is verified and committed after the body, then the board restarts", () => {
  const x = rig();
  const upload = started(x);
  assert.equal(x.updater.progress().phase, "checking");
  send(upload, IMAGE, 1000); // pieces smaller than the 288-byte head and larger
  assert.equal(x.updater.progress().phase, "downloading");
  assert.equal(x.updater.progress().received, IMAGE.length);
  upload.end();
  assert.equal(x.updater.progress().phase, "verifying", "the server answers first; the commit comes on the next turn");
  x.clock.advance(0);
  const p = x.updater.progress();
  assert.equal(p.phase, "done", p.error);
  assert.equal(p.target, "fw-3.1.0.bin");
  assert.equal(x.flash.bootSlot, 1);
  assert.deepEqual(x.flash.written(IMAGE.length), IMAGE);
  assert.ok(x.flash.writer.largestWrite <= 4096);
  x.clock.advance(3000);
  assert.equal(x.system.restarts, 1);
});

test("a corrupted upload fails with the MD5 message after the body; slot and boot selection untouched", () => {
  const x = rig();
  const bad = IMAGE.slice();
  bad[20_000] ^= 1;
  const upload = started(x); // the MD5 of the original
  send(upload, bad);
  upload.end();
  x.clock.advance(0);
  const p = x.updater.progress();
  assert.equal(p.phase, "failed");
  assert.equal(p.error, "MD5 mismatch: the upload was corrupted");
  assert.ok(x.flash.untouched());
  assert.equal(x.flash.writer.state, "aborted");
  assert.deepEqual(x.boot.lastUpdate(), { version: "3.1.0", result: "failed", reason: "MD5 mismatch: the upload was corrupted" });
});

test("a wrong chip is refused from the first bytes, before anything is erased", () => {
  const x = rig();
  const s3 = buildImage({ size: 40_000, chipId: 9, version: "3.1.0" });
  const upload = started(x, s3.length, undefined);
  upload.write(s3.subarray(0, 4096));
  const p = x.updater.progress();
  assert.equal(p.phase, "failed");
  assert.equal(p.error, "Image is for ESP32-S3, this board is ESP32");
  assert.equal(x.flash.writer.begins, 0, "nothing erased");
  send(upload, s3.subarray(4096)); // the rest of the body is taken and dropped
  upload.end();
  assert.equal(x.updater.progress().phase, "failed");
});

test("too large, empty, malformed MD5 and busy are refused before any byte is read", () => {
  const x = rig();
  assert.deepEqual(x.updater.upload({ size: 2 * 1024 * 1024, name: "big.bin" }), { ok: false, status: 413, error: "Image is 2 MB, the update partition holds 1 MB" });
  assert.deepEqual(x.updater.upload({ size: 0, name: "e.bin" }), { ok: false, status: 400, error: "An upload needs its size (Content-Length) and some bytes" });
  assert.deepEqual(x.updater.upload({ size: 100, md5: "xyz", name: "m.bin" }), { ok: false, status: 400, error: "x-MD5 needs 32 hex digits" });
  started(x);
  const second = x.updater.upload({ size: IMAGE.length, name: "again.bin" });
  assert.deepEqual(second, { ok: false, status: 409, error: "An update is already running" });
  assert.equal(x.flash.writer.begins, 0);
});

test("a client that stops sending: the update fails after the stall time, the slot discarded", () => {
  const x = rig();
  const upload = started(x);
  const stalls: string[] = [];
  upload.onStall((error) => stalls.push(error));
  send(upload, IMAGE.subarray(0, 12_000));
  x.clock.advance(7999);
  assert.equal(x.updater.progress().phase, "downloading");
  assert.deepEqual(stalls, []);
  x.clock.advance(1);
  const p = x.updater.progress();
  assert.deepEqual(stalls, [p.error], "the server adapter hears of it once, with the error");
  assert.equal(p.phase, "failed");
  assert.match(p.error ?? "", /^The upload stalled at 30 %: nothing arrived for 8 s$/);
  assert.ok(x.flash.untouched());
  assert.equal(x.flash.writer.state, "aborted");
  send(upload, IMAGE.subarray(12_000)); // a late client changes nothing
  upload.end();
  assert.equal(x.updater.progress().phase, "failed");
  assert.equal(x.updater.upload({ size: IMAGE.length, name: "retry.bin" }).ok, true, "a new upload may start");
});

test("a body that breaks off, ends early or runs long fails; nothing is committed", () => {
  const cut = rig();
  const a = started(cut);
  send(a, IMAGE.subarray(0, 10_000));
  a.abort("the client went away");
  assert.equal(cut.updater.progress().error, "The upload broke off at 25 % (the client went away)");
  const short = rig();
  const b = started(short);
  send(b, IMAGE.subarray(0, 30_000));
  b.end();
  assert.equal(short.updater.progress().error, "The upload ended early at 75 % (30000 of 40000 bytes)");
  const long = rig();
  const c = started(long);
  send(c, IMAGE);
  c.write(new Uint8Array(10));
  assert.equal(long.updater.progress().error, "The upload sent more than the 40000 bytes it announced");
  for (const r of [cut, short, long]) {
    r.clock.advance(60_000);
    assert.ok(r.flash.untouched());
    assert.equal(r.system.restarts, 0);
  }
});

test("while the running image awaits its verdict, an upload is refused like any update", () => {
  const x = createRig({ route: () => ({ refuse: "offline" }), flash: { runningState: "pending-verify" } });
  const r = x.updater.upload({ size: IMAGE.length, name: "fw.bin" });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.status, 409);
    assert.match(r.error, /still being checked/);
  }
});

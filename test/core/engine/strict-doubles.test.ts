// What the strict test doubles catch (Node and XS): callbacks after abort, a
// resume answered without x-MD5 or with the wrong part, a retry after every
// kind of ending, and doubles that refuse what the real parts refuse.
import { test, assert } from "../../harness/t";
import type { HttpRequest } from "../../../modules/core/ports";
import { utf8Encode } from "../../../modules/core/bytes";
import { createRig, type Rig } from "../../fakes/rig";
import { serveBytes, type ScriptedResponse, type ServeOptions } from "../../fakes/http";
import { buildImage } from "../../fakes/image";
import { md5Hex, nobleDigest } from "../../fakes/digest";
import { FakeFlash } from "../../fakes/flash";
import type { DigestAlgorithm } from "../../../modules/core/ports";

const IMAGE = buildImage({ size: 40_000, seed: 11, version: "1.2.0" });
const MD5 = md5Hex(IMAGE);
const CATALOG = utf8Encode(`[{"name":"fw.bin","type":"bin","date":"11/22/26","time":"10:55:15","size":${IMAGE.length}}]`);

function rigServing(serve: (request: HttpRequest, n: number) => ScriptedResponse): Rig {
  let n = 0;
  return createRig({
    route: (r) =>
      r.path.startsWith("/_catalog")
        ? { status: 200, headers: [["Content-Length", String(CATALOG.length)]], body: CATALOG }
        : r.path.startsWith("/api/catalog")
          ? { status: 404, headers: [["Content-Length", "0"]] }
          : r.path === "/check"
            ? { status: 304 }
            : serve(r, n++),
  });
}

const good = (r: HttpRequest, o: ServeOptions = {}) => serveBytes(IMAGE, r, { ...o, headers: [["x-MD5", MD5], ...(o.headers ?? [])] });

async function start(rig: Rig): Promise<void> {
  rig.updater.loadCatalog();
  await rig.settle();
  assert.equal(rig.updater.start("fw.bin"), undefined);
  await rig.settle();
}

async function spin(turns = 200): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}

test("a client that keeps calling back after cancel changes nothing: the session stays cancelled, the slot closed", async () => {
  const rig = rigServing((r) => good(r, { ignoresAbort: true, chunkSize: 1024 }));
  rig.updater.loadCatalog();
  await rig.settle();
  rig.updater.start("fw.bin");
  await spin(20);
  assert.equal(rig.updater.progress().phase, "downloading");
  rig.updater.cancel();
  const received = rig.updater.progress().received;
  await spin(400);
  assert.ok(rig.http.lateCallbacks > 0, "the double did call back late");
  const p = rig.updater.progress();
  assert.equal(p.phase, "cancelled");
  assert.equal(p.received, received, "late chunks are not counted");
  assert.equal(rig.flash.writer.state, "aborted");
  assert.ok(rig.flash.untouched());
});

test("a resume answered 206 without x-MD5 is accepted; the first answer's MD5 still checks the whole image", async () => {
  const rig = rigServing((r, n) => good(r, { omitOnPartial: ["x-MD5"], cut: n === 0 ? { at: 20_000, how: "drop" } : undefined }));
  await start(rig);
  rig.clock.advance(1000); // the resume delay
  await rig.settle();
  const p = rig.updater.progress();
  assert.equal(p.phase, "done", p.error);
  assert.equal(p.resumes, 1);
  assert.equal(rig.flash.bootSlot, 1);
});

test("a resume answered with the wrong part of the image (Content-Range) fails, slot discarded", async () => {
  const rig = rigServing((r, n) => good(r, { contentRange: (from, total) => `bytes ${from + 1}-${total - 1}/${total}`, cut: n === 0 ? { at: 20_000, how: "drop" } : undefined }));
  await start(rig);
  rig.clock.advance(1000);
  await rig.settle();
  const p = rig.updater.progress();
  assert.equal(p.phase, "failed");
  assert.equal(p.error, "Server answered the resume with the wrong part of the image");
  assert.equal(rig.flash.writer.state, "aborted");
  assert.ok(rig.flash.untouched());
});

test("a new update can start after a failed, a cancelled and an already-current session", async () => {
  let answer: "bad" | "good" = "bad";
  const rig = rigServing((r) => (answer === "bad" ? serveBytes(IMAGE, r, { headers: [["x-MD5", md5Hex(IMAGE.subarray(1))]] }) : good(r)));
  await start(rig);
  assert.equal(rig.updater.progress().phase, "failed");
  // after a failure
  answer = "good";
  assert.equal(rig.updater.start("fw.bin"), undefined);
  rig.updater.cancel();
  assert.equal(rig.updater.progress().phase, "cancelled");
  // after a cancel
  assert.equal(rig.updater.checkIn("http://192.168.4.2:8000/check"), undefined);
  await rig.settle();
  assert.equal(rig.updater.progress().phase, "current");
  // after "current"
  assert.equal(rig.updater.start("fw.bin"), undefined);
  await rig.settle();
  assert.equal(rig.updater.progress().phase, "done", rig.updater.progress().error);
});

test("doubles refuse what the real parts refuse: an unknown digest, abort after complete, a second complete", () => {
  assert.throws(() => nobleDigest("SHA1" as DigestAlgorithm), /unsupported algorithm SHA1/);
  const flash = new FakeFlash({ slotSize: 65536, runningImage: buildImage({ size: 1024 }) });
  const w = flash.writer;
  w.begin(IMAGE.length);
  w.write(IMAGE);
  w.complete();
  assert.throws(() => w.complete(), /complete while completed/);
  assert.throws(() => w.abort(), /abort after complete/);
  const failing = new FakeFlash({ slotSize: 65536, runningImage: buildImage({ size: 1024 }) }).writer;
  failing.begin(100);
  assert.throws(() => failing.complete(), /complete after 0 of 100 bytes/);
  assert.equal(failing.state, "failed");
  failing.abort(); // the session discards after a failed complete: allowed
  assert.throws(() => failing.write(IMAGE.subarray(0, 10)), /write while failed/);
});

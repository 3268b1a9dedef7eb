// The update session through the Updater facade, on fakes: every failure must
// leave the running image and the boot selection as they were (flash.untouched()).
import { test, assert } from "../../harness/t";
import type { HttpRequest } from "../../../modules/core/ports";
import type { Progress } from "../../../modules/core/updater-api";
import { utf8Encode } from "../../../modules/core/bytes";
import { createRig, type Rig, type RigOptions } from "../../fakes/rig";
import { serveBytes, type ScriptedResponse, type ServeOptions } from "../../fakes/http";
import { buildImage } from "../../fakes/image";
import { md5Hex, sha256Hex } from "../../fakes/digest";
import { REFERENCE_BINARY_HEAD } from "../../fakes/fixtures"; // /work/shared/fixtures/autoconnect-updateserver-binary-response-head.http

const SIZE = 50_000;
const IMAGE = buildImage({ size: SIZE, seed: 7 });
const MD5 = md5Hex(IMAGE);

/** Serves a one-entry catalog, then answers downloads with `serve(request, downloadIndex)`. */
function firmwareRig(serve: (request: HttpRequest, n: number) => ScriptedResponse, extra: Partial<RigOptions> = {}, size = SIZE): Rig {
  let downloads = 0;
  const catalog = utf8Encode(`[{"name":"fw.bin","type":"bin","date":"11/22/26","time":"10:55:15","size":${size}}]`);
  return createRig({
    route: (request) =>
      request.path.startsWith("/_catalog")
        ? { status: 200, headers: [["Content-Length", String(catalog.length)]], body: catalog }
        : request.path.startsWith("/api/catalog")
          ? { status: 404, headers: [["Content-Length", "0"]] } // as AutoConnect's updateserver.py: no chip list
          : serve(request, downloads++),
    ...extra,
  });
}

/** Standard answer: the image with x-MD5, Range honoured. */
function good(request: HttpRequest, options: ServeOptions = {}, image = IMAGE): ScriptedResponse {
  return serveBytes(image, request, { ...options, headers: [["x-MD5", md5Hex(image)], ...(options.headers ?? [])] });
}

async function startUpdate(rig: Rig): Promise<Progress> {
  rig.updater.loadCatalog();
  await rig.settle();
  assert.equal(rig.updater.start("fw.bin"), undefined);
  await rig.settle();
  return rig.updater.progress();
}

function downloads(rig: Rig): HttpRequest[] {
  return rig.http.requests.filter((r) => !r.path.startsWith("/_catalog") && !r.path.startsWith("/api/catalog"));
}

/** A request header of the n-th download request (0 = the first GET of the image). */
function downloadHeader(rig: Rig, n: number, name: string): string | undefined {
  return downloads(rig)[n]?.headers?.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
}

/** The failure contract: error text shown, nothing flashed that could boot, no restart. */
function assertRefused(rig: Rig, error: string, progress = rig.updater.progress()): void {
  assert.equal(progress.phase, "failed");
  assert.equal(progress.error, error);
  assert.ok(rig.flash.untouched(), "running image and boot partition unchanged");
  assert.equal(rig.flash.writer.state === "open", false, "OTA writer closed");
  rig.clock.advance(60_000);
  assert.equal(rig.system.restarts, 0, "no restart");
}

function assertInstalled(rig: Rig, image = IMAGE): void {
  const p = rig.updater.progress();
  assert.equal(p.phase, "done", p.error);
  assert.equal(p.received, image.length);
  assert.equal(p.total, image.length);
  assert.equal(rig.flash.bootSlot, 1, "boot switched to the update slot");
  assert.deepEqual(rig.flash.written(image.length), image, "slot holds the image byte for byte");
  assert.deepEqual(rig.flash.slots[0].subarray(0, 8192), rig.flash.options.runningImage, "running slot untouched");
}

test("a download is streamed into the update slot, verified, committed, then the board restarts", async () => {
  // the reference server's response head, with this image's size and MD5
  const head = REFERENCE_BINARY_HEAD.filter(([n]) => n !== "Content-Length" && n !== "x-MD5");
  const rig = firmwareRig((r) => serveBytes(IMAGE, r, { headers: [...head, ["x-MD5", MD5]] }));
  await startUpdate(rig);
  assertInstalled(rig);
  const [request] = downloads(rig);
  assert.deepEqual([request.host, request.port, request.path], ["192.168.4.2", 8000, "/fw.bin"]);
  assert.equal(downloadHeader(rig, 0, "x-ESP32-STA-MAC"), "DE:BA:7A:B1:E0:42");
  assert.equal(downloadHeader(rig, 0, "Range"), undefined);
  assert.ok(rig.http.largestChunk <= 4096 && rig.flash.writer.largestWrite <= 4096, "chunks of 4 KB or less");
  assert.equal(rig.flash.writer.begins, 1);
  rig.clock.advance(2999);
  assert.equal(rig.system.restarts, 0, "the page gets time to show done");
  rig.clock.advance(1);
  assert.equal(rig.system.restarts, 1);
  assert.equal(rig.updater.start("fw.bin"), "An update is installed; the board is restarting");
});

test("a catalog folder other than '.' is part of the download path", async () => {
  const rig = firmwareRig((r) => good(r), { defaults: { host: "192.168.4.2", port: 8000, path: "bin/esp32" } });
  await startUpdate(rig);
  assertInstalled(rig);
  assert.equal(downloads(rig)[0].path, "/bin/esp32/fw.bin");
});

test("an uppercase x-MD5 and a correct x-SHA256 are accepted", async () => {
  const rig = firmwareRig((r) => serveBytes(IMAGE, r, { headers: [["X-Md5", MD5.toUpperCase()], ["x-SHA256", sha256Hex(IMAGE)]] }));
  await startUpdate(rig);
  assertInstalled(rig);
});

test("MD5 mismatch: refused after the download, boot partition unchanged", async () => {
  const rig = firmwareRig((r) => serveBytes(IMAGE, r, { headers: [["x-MD5", md5Hex(IMAGE.subarray(1))]] }));
  assertRefused(rig, "MD5 mismatch: the download was corrupted", await startUpdate(rig));
  assert.equal(rig.flash.writer.state, "aborted");
});

test("SHA-256 mismatch when the server sends x-SHA256", async () => {
  const rig = firmwareRig((r) => good(r, { headers: [["x-SHA256", sha256Hex(IMAGE.subarray(1))]] }));
  assertRefused(rig, "SHA-256 mismatch: the download was corrupted", await startUpdate(rig));
});

test("a corrupted byte in transit is caught by the MD5", async () => {
  const bad = IMAGE.slice();
  bad[30_000] ^= 1;
  const rig = firmwareRig((r) => serveBytes(bad, r, { headers: [["x-MD5", MD5]] }));
  assertRefused(rig, "MD5 mismatch: the download was corrupted", await startUpdate(rig));
});

test("x-MD5 is required by default and must be 32 hex digits", async () => {
  let rig = firmwareRig((r) => serveBytes(IMAGE, r));
  assertRefused(rig, "Server sent no MD5 checksum (x-MD5 header)", await startUpdate(rig));
  assert.equal(rig.flash.writer.begins, 0, "nothing erased");
  rig = firmwareRig((r) => serveBytes(IMAGE, r, { headers: [["x-MD5", MD5.slice(1)]] }));
  assertRefused(rig, "Server sent a malformed MD5 checksum (x-MD5 needs 32 hex digits)", await startUpdate(rig));
  rig = firmwareRig((r) => good(r, { headers: [["x-SHA256", "abc"]] }));
  assertRefused(rig, "Server sent a malformed SHA-256 checksum (x-SHA256 needs 64 hex digits)", await startUpdate(rig));
  rig = firmwareRig((r) => serveBytes(IMAGE, r), { options: { requireMd5: false } });
  await startUpdate(rig);
  assertInstalled(rig);
});

test("pre-flight refuses a non-image before anything is erased or written", async () => {
  const html = utf8Encode(`<html>${"x".repeat(200)}</html>`);
  const rig = firmwareRig((r) => good(r, {}, html), {}, html.length);
  assertRefused(rig, "Not an ESP32 app image (first byte 0x3C, expected 0xE9)", await startUpdate(rig));
  assert.equal(rig.flash.writer.begins, 0);
  assert.equal(rig.flash.writer.writes, 0);
  assert.equal(rig.flash.writer.erasedBytes, 0);
});

test("pre-flight refuses an image for another chip, even when its header arrives a few bytes at a time", async () => {
  const s3 = buildImage({ size: SIZE, chipId: 0x0009 });
  for (const chunkSize of [4096, 5, 1]) {
    const rig = firmwareRig((r) => good(r, { chunkSize }, s3));
    assertRefused(rig, "Image is for ESP32-S3, this board is ESP32", await startUpdate(rig));
    assert.equal(rig.flash.writer.begins, 0, `nothing erased (chunks of ${chunkSize})`);
  }
  const rig = firmwareRig((r) => good(r, {}, s3), { device: { chipId: 0x0009 } });
  await startUpdate(rig);
  assertInstalled(rig, s3);
});

test("an image whose header is split over small chunks still installs byte for byte", async () => {
  for (const chunkSize of [5, 23, 24, 25, 1000]) {
    const rig = firmwareRig((r) => good(r, { chunkSize }));
    await startUpdate(rig);
    assertInstalled(rig);
  }
});

test("Content-Length must be present, numeric, > 0 and within the update partition", async () => {
  const cases: Array<[string, Array<[string, string]>, string]> = [
    ["missing", [], "Server did not report the image size (no Content-Length)"],
    ["chunked", [["Transfer-Encoding", "chunked"]], "Server sent the image without a size (chunked transfer); a Content-Length is required"],
    ["zero", [["Content-Length", "0"]], "Server sent an empty image (Content-Length 0)"],
    ["junk", [["Content-Length", "12abc"]], "Server sent an invalid Content-Length (12abc)"],
    ["tiny", [["Content-Length", "10"]], "Image is 10 B, too small to be firmware"],
    ["too big", [["Content-Length", "4404019"]], "Image is 4.2 MB, the update partition holds 1 MB"],
  ];
  for (const [label, headers, error] of cases) {
    const rig = firmwareRig(() => ({ status: 200, headers: [["x-MD5", MD5], ...headers], body: IMAGE }));
    assertRefused(rig, error, await startUpdate(rig));
    assert.equal(rig.flash.writer.begins, 0, `${label}: nothing erased`);
  }
});

test("server errors, refused connections and silence read as plain messages", async () => {
  let rig = firmwareRig(() => ({ status: 404, headers: [["Content-Length", "0"]] }));
  assertRefused(rig, "Server answered 404 Not Found", await startUpdate(rig));
  rig = firmwareRig(() => ({ refuse: "ECONNREFUSED" }));
  assertRefused(rig, "Cannot connect to 192.168.4.2:8000: connection refused", await startUpdate(rig));
  rig = firmwareRig(() => ({ refuse: "cannot resolve", failure: { kind: "resolve" } }));
  assertRefused(rig, "Cannot connect to 192.168.4.2:8000: name not found", await startUpdate(rig));
  rig = firmwareRig(() => ({ refuse: "not HTTP", failure: { kind: "not-http", got: "SSH-2.0-OpenSSH_9.2\r\n" } }));
  assertRefused(rig, "Server at 192.168.4.2:8000 did not answer HTTP (got 'SSH-2.0-OpenSSH_9.2')", await startUpdate(rig));
  rig = firmwareRig(() => ({ status: NaN, headers: [["x-MD5", MD5], ["Content-Length", String(SIZE)]], body: IMAGE }));
  assertRefused(rig, "Server at 192.168.4.2:8000 did not answer HTTP", await startUpdate(rig));
  assert.equal(rig.flash.writer.begins, 0, "nothing erased");
  rig = firmwareRig(() => ({ silent: true }));
  await startUpdate(rig);
  assert.equal(rig.updater.progress().phase, "connecting");
  rig.clock.advance(8000);
  assertRefused(rig, "No answer from 192.168.4.2:8000 within 8 s");
});

test("bytes beyond Content-Length are an error, not appended", async () => {
  const longer = new Uint8Array(SIZE + 100);
  longer.set(IMAGE);
  const rig = firmwareRig(() => ({ status: 200, headers: [["Content-Length", String(SIZE)], ["x-MD5", MD5]], body: longer }));
  assertRefused(rig, "Server sent more than the 50000 bytes it announced", await startUpdate(rig));
});

test("a short body with resumes off: 'Download ended early'", async () => {
  const rig = firmwareRig((r) => good(r, { cut: { at: 20_000, how: "end" } }), { options: { maxResumes: 0 } });
  assertRefused(rig, "Download ended early at 40 % (20000 of 50000 bytes)", await startUpdate(rig));
});

test("a dropped connection resumes with a Range request from the received offset", async () => {
  const rig = firmwareRig((r, n) => good(r, n === 0 ? { cut: { at: 26_000, how: "drop" } } : {}));
  let p = await startUpdate(rig);
  assert.equal(p.phase, "downloading");
  assert.equal(p.received, 26_000);
  rig.clock.advance(1000); // resume delay
  await rig.settle();
  assertInstalled(rig);
  p = rig.updater.progress();
  assert.equal(p.resumes, 1);
  assert.equal(downloadHeader(rig, 1, "Range"), "bytes=26000-");
  assert.equal(rig.flash.writer.begins, 1, "appended to the same slot, not restarted");
});

test("a short body and a stall also resume; several resumes in one session", async () => {
  const rig = firmwareRig((r, n) => good(r, n === 0 ? { cut: { at: 10_000, how: "end" } } : n === 1 ? { cut: { at: 20_000, how: "stall" }, chunkSize: 3000 } : {}));
  await startUpdate(rig);
  rig.clock.advance(1000);
  await rig.settle();
  assert.equal(rig.updater.progress().received, 30_000);
  rig.clock.advance(7999);
  assert.equal(rig.updater.progress().phase, "downloading", "not stalled yet");
  rig.clock.advance(1 + 1000);
  await rig.settle();
  assertInstalled(rig);
  assert.deepEqual([downloadHeader(rig, 1, "Range"), downloadHeader(rig, 2, "Range")], ["bytes=10000-", "bytes=30000-"]);
  assert.equal(rig.updater.progress().resumes, 2);
});

test("a download that keeps stalling gives up after 3 resumes", async () => {
  const rig = firmwareRig((r) => good(r, { cut: { at: 26_000 - Number(/\d+/.exec(r.headers?.find(([n]) => n === "Range")?.[1] ?? "0")?.[0] ?? 0), how: "stall" } }));
  await startUpdate(rig);
  for (let i = 0; i < 3; i++) {
    rig.clock.advance(8000 + 1000);
    await rig.settle();
  }
  rig.clock.advance(8000);
  assertRefused(rig, "Download stalled at 52 %; gave up after 3 resumes");
  assert.equal(downloads(rig).length, 4);
});

test("a connection that keeps dropping gives up after 3 resumes", async () => {
  const rig = firmwareRig((r) => good(r, { cut: { at: r.headers?.some(([n]) => n === "Range") ? 0 : 26_000, how: "drop" } }));
  await startUpdate(rig);
  for (let i = 0; i < 3; i++) {
    rig.clock.advance(1000);
    await rig.settle();
  }
  assertRefused(rig, "Connection lost at 52 %; gave up after 3 resumes");
  assert.equal(downloads(rig).length, 4);
});

test("a 200 answer to a Range request restarts from byte 0, never appending a whole body to a part", async () => {
  const rig = firmwareRig((r, n) => good(r, { honourRange: false, ...(n === 0 ? { cut: { at: 30_000, how: "drop" } } : {}) }));
  await startUpdate(rig);
  rig.clock.advance(1000);
  await rig.settle();
  assertInstalled(rig);
  assert.equal(downloadHeader(rig, 1, "Range"), "bytes=30000-");
  assert.equal(rig.flash.writer.begins, 2, "slot erased again for the fresh body");
});

test("a 200 with a different image after a drop installs that image whole", async () => {
  const v2 = buildImage({ size: 40_000, seed: 8 });
  const rig = firmwareRig((r, n) => (n === 0 ? good(r, { cut: { at: 30_000, how: "drop" } }) : good(r, { honourRange: false }, v2)));
  await startUpdate(rig);
  rig.clock.advance(1000);
  await rig.settle();
  assertInstalled(rig, v2);
});

test("a resume answered with the wrong range or another image's MD5 is refused", async () => {
  let rig = firmwareRig((r, n) =>
    n === 0
      ? good(r, { cut: { at: 30_000, how: "drop" } })
      : { status: 206, headers: [["Content-Range", `bytes 0-${SIZE - 1}/${SIZE}`], ["Content-Length", String(SIZE)]], body: IMAGE },
  );
  await startUpdate(rig);
  rig.clock.advance(1000);
  await rig.settle();
  assertRefused(rig, "Server answered the resume with the wrong part of the image");
  rig = firmwareRig((r, n) => good(r, n === 0 ? { cut: { at: 30_000, how: "drop" } } : { headers: [["x-MD5", md5Hex(IMAGE.subarray(2))]] }));
  await startUpdate(rig);
  rig.clock.advance(1000);
  await rig.settle();
  assertRefused(rig, "The image changed on the server during the download");
});

test("a resume answered 416 or 503 fails with the status", async () => {
  const rig = firmwareRig((r, n) => (n === 0 ? good(r, { cut: { at: 30_000, how: "drop" } }) : { status: 503, headers: [["Content-Length", "0"]] }));
  await startUpdate(rig);
  rig.clock.advance(1000);
  await rig.settle();
  assertRefused(rig, "Server answered 503 Service Unavailable");
});

test("every byte in but no end of body: verified once the stall timer fires", async () => {
  const rig = firmwareRig((r) => good(r, { cut: { at: SIZE, how: "stall" } }));
  await startUpdate(rig);
  assert.equal(rig.updater.progress().phase, "downloading");
  rig.clock.advance(8000);
  assertInstalled(rig);
});

test("cancel mid-download: partition discarded, boot partition untouched, no restart", async () => {
  const rig = firmwareRig((r) => good(r, { cut: { at: 20_000, how: "stall" } }));
  await startUpdate(rig);
  const aborts = rig.http.aborts; // the catalog's chip-list 404 is aborted unread
  rig.updater.cancel();
  const p = rig.updater.progress();
  assert.equal(p.phase, "cancelled");
  assert.equal(p.error, undefined);
  assert.equal(rig.flash.writer.state, "aborted");
  assert.ok(rig.flash.untouched());
  assert.equal(rig.http.aborts - aborts, 1);
  rig.clock.advance(60_000);
  assert.equal(rig.system.restarts, 0);
  assert.equal(downloads(rig).length, 1, "no resume after a cancel");
  assert.equal(rig.updater.start("fw.bin"), undefined, "a new session may start");
});

test("cancel while waiting to resume, and before the server answers", async () => {
  let rig = firmwareRig((r) => good(r, { cut: { at: 20_000, how: "drop" } }));
  await startUpdate(rig);
  rig.updater.cancel();
  rig.clock.advance(5000);
  await rig.settle();
  assert.equal(rig.updater.progress().phase, "cancelled");
  assert.equal(downloads(rig).length, 1);
  assert.ok(rig.flash.untouched());
  rig = firmwareRig(() => ({ silent: true }));
  await startUpdate(rig);
  rig.updater.cancel();
  rig.clock.advance(10_000);
  assert.equal(rig.updater.progress().phase, "cancelled");
  assert.equal(rig.flash.writer.begins, 0);
});

test("flash failures at begin, write and commit end the session with the boot partition untouched", async () => {
  let rig = firmwareRig((r) => good(r), { fail: { at: "begin" } });
  assertRefused(rig, "Cannot prepare the update partition: esp_ota_begin failed (ESP_ERR_OTA_PARTITION_CONFLICT)", await startUpdate(rig));
  rig = firmwareRig((r) => good(r), { fail: { at: "write", offset: 10_000 } });
  assertRefused(rig, "Flash write failed at 8192 bytes: esp_ota_write failed (ESP_ERR_FLASH_OP_FAIL)", await startUpdate(rig));
  rig = firmwareRig((r) => good(r), { fail: { at: "complete" } });
  assertRefused(rig, "The new firmware was not accepted: esp_ota_end failed (ESP_ERR_OTA_VALIDATE_FAILED)", await startUpdate(rig));
});

test("progress is serializable and reports state, received, total, rate and resumes", async () => {
  const rig = firmwareRig((r) => good(r, { cut: { at: 20_480, how: "stall" } }));
  await startUpdate(rig);
  rig.clock.advance(2000);
  const p = rig.updater.progress();
  assert.deepEqual(JSON.parse(JSON.stringify(p)), { phase: "downloading", target: "fw.bin", received: 20_480, total: SIZE, rate: 10_240, resumes: 0 });
});

test("only one session at a time; unknown names are refused", async () => {
  const rig = firmwareRig((r) => good(r, { cut: { at: 20_000, how: "stall" } }));
  assert.equal(rig.updater.start("fw.bin"), "Load the firmware list first");
  await startUpdate(rig);
  assert.equal(rig.updater.start("fw.bin"), "An update is already running");
  assert.equal(rig.updater.start("other.bin"), "other.bin is not in the firmware list");
});

test("a drop inside the 24-byte image header resumes from there; nothing is erased until the header is whole", async () => {
  const rig = firmwareRig((r, n) => good(r, n === 0 ? { chunkSize: 5, cut: { at: 10, how: "drop" } } : { chunkSize: 7 }));
  await startUpdate(rig);
  assert.equal(rig.updater.progress().received, 10);
  assert.equal(rig.flash.writer.begins, 0, "not erased on a partial header");
  rig.clock.advance(1000);
  await rig.settle();
  assertInstalled(rig);
  assert.equal(downloadHeader(rig, 1, "Range"), "bytes=10-");
});

test("resume requests that cannot connect or get no answer use up the resumes", async () => {
  let rig = firmwareRig((r, n) => (n === 0 ? good(r, { cut: { at: 26_000, how: "drop" } }) : n < 3 ? { refuse: "ECONNREFUSED" } : good(r)));
  await startUpdate(rig);
  for (let i = 0; i < 3; i++) {
    rig.clock.advance(1000);
    await rig.settle();
  }
  assertInstalled(rig);
  assert.equal(rig.updater.progress().resumes, 3);
  rig = firmwareRig((r, n) => (n === 0 ? good(r, { cut: { at: 26_000, how: "drop" } }) : { silent: true }));
  await startUpdate(rig);
  for (let i = 0; i < 3; i++) {
    rig.clock.advance(1000 + 8000);
    await rig.settle();
  }
  assertRefused(rig, "Download stalled at 52 %; gave up after 3 resumes");
});

test("an image the bootloader would refuse (code not aligned to its page) is refused before anything is written; the slot is aborted", async () => {
  const old = buildImage({ size: SIZE, seed: 12, segments: [[0x3f400020, 256], [0x400d0020, 40_000]] });
  const rig = firmwareRig((r) => good(r, {}, old));
  assertRefused(
    rig,
    'Segment 1 load address 0x400d0020 does not match its data offset 0x00000128 modulo the 64 KB MMU page (ESP-IDF: "doesn\'t match data"); the bootloader would refuse this image',
    await startUpdate(rig),
  );
  assert.equal(rig.flash.writer.begins, 1);
  assert.equal(rig.flash.writer.writes, 0, "refused on the chunk that holds the segment header, before it was written");
  assert.equal(rig.flash.writer.state, "aborted");
});

test("a segment the bootloader would not load, far into the image, is refused mid-download: slot aborted, nothing committed", async () => {
  const bad = buildImage({ size: SIZE, seed: 13, segments: [[0x3f400020, 20_000], [0x3fff0000, 256]] });
  const rig = firmwareRig((r) => good(r, {}, bad));
  assertRefused(
    rig,
    'Segment 1 loads to 0x3fff0000-0x3fff0100, over the bootloader\'s own data (ESP-IDF: "Segment 1 0x3fff0000-0x3fff0100 invalid: overlaps bootloader data"); the bootloader would refuse this image',
    await startUpdate(rig),
  );
  assert.equal(rig.flash.writer.writes, 4, "the four chunks before segment 1's header were written");
  assert.equal(rig.flash.writer.state, "aborted");
  assert.equal(rig.flash.bootSlot, 0);
});

test("a truncated image (Content-Length shorter than its segments say) is refused", async () => {
  const cut = IMAGE.subarray(0, 30_000);
  for (const chunkSize of [4096, 7]) {
    const rig = firmwareRig((r) => good(r, { chunkSize }, cut), {}, cut.length);
    assertRefused(rig, "Image is truncated: segment 0 needs 49852 bytes, but the image has 30000", await startUpdate(rig));
    assert.equal(rig.flash.writer.state, "aborted");
  }
  // Cut inside the checksum block: the segments fit, the image does not.
  const short = IMAGE.subarray(0, SIZE - 2);
  const rig = firmwareRig((r) => good(r, {}, short), {}, short.length);
  assertRefused(rig, `Image is truncated: its checksum needs ${SIZE} bytes, but the image has ${SIZE - 2}`, await startUpdate(rig));
});

test("bytes after the image's end (a 4 KB signature block) are allowed and installed", async () => {
  const signed = new Uint8Array(SIZE + 4096);
  signed.set(IMAGE);
  signed.fill(0x5a, SIZE);
  const rig = firmwareRig((r) => good(r, { chunkSize: 1000 }, signed), {}, signed.length);
  await startUpdate(rig);
  assertInstalled(rig, signed);
});

test("an image that does not support the board's chip revision is refused before the slot is erased", async () => {
  const capped = buildImage({ size: SIZE, seed: 14, maxRev: 99 });
  let rig = firmwareRig((r) => good(r, {}, capped), { device: { chipRevision: 300 } });
  assertRefused(rig, 'Image supports chip revisions up to v0.99, this chip is v3.0 (ESP-IDF: "chip revision check failed. Required <= v0.99, found v3.0."); the bootloader would refuse this image', await startUpdate(rig));
  assert.equal(rig.flash.writer.begins, 0, "nothing erased");
  rig = firmwareRig((r) => good(r, {}, capped), { device: { chipRevision: 99 } });
  await startUpdate(rig);
  assertInstalled(rig, capped);
});

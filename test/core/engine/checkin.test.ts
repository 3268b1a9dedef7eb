// Advanced-updater client mode: the check-in request and what its answers do.
import { test, assert } from "../../harness/t";
import type { HttpRequest } from "../../../modules/core/ports";
import { checkInHeaders, parseUpdateUrl } from "../../../modules/core/engine/checkin";
import { createRig } from "../../fakes/rig";
import { fakeDevice } from "../../fakes/device";
import { serveBytes } from "../../fakes/http";
import { buildImage } from "../../fakes/image";
import { md5Hex } from "../../fakes/digest";
import { ESP8266_CHECKIN_HEADERS } from "../../fakes/fixtures"; // /work/shared/fixtures/esp8266-httpupdate-request.http

const IMAGE = buildImage({ size: 30_000, seed: 3 });

test("check-in headers carry the same facts as the captured ESP8266 request, as x-ESP32-*", () => {
  const device = fakeDevice();
  const headers = checkInHeaders(device, 1_966_080);
  const names = headers.map(([n]) => n);
  assert.deepEqual(names, [
    "User-Agent", "Cache-Control", "x-ESP32-BASE-MAC", "x-ESP32-STA-MAC", "x-ESP32-AP-MAC", "x-ESP32-free-space",
    "x-ESP32-sketch-size", "x-ESP32-sketch-md5", "x-ESP32-chip-size", "x-ESP32-sdk-version", "x-ESP32-mode", "x-ESP32-version",
  ]);
  // every x-ESP8266-* fact of the capture except the ESP8266-only Chip-ID has an ESP32 counterpart
  for (const [name] of ESP8266_CHECKIN_HEADERS) {
    if (!name.startsWith("x-ESP8266-") || name === "x-ESP8266-Chip-ID") continue;
    assert.ok(names.includes(name.replace("ESP8266", "ESP32")), name);
  }
  const get = (n: string) => headers.find(([k]) => k === n)?.[1];
  assert.equal(get("User-Agent"), "ESP32-http-Update");
  assert.equal(get("x-ESP32-STA-MAC"), "DE:BA:7A:B1:E0:42");
  assert.equal(get("x-ESP32-free-space"), "1966080");
  assert.equal(get("x-ESP32-sketch-size"), "400000");
  assert.equal(get("x-ESP32-sketch-md5"), "0123456789abcdef0123456789abcdef");
  assert.equal(get("x-ESP32-chip-size"), "4194304");
  assert.equal(get("x-ESP32-mode"), "sketch");
  assert.equal(get("x-ESP32-version"), "1.0.0");
});

test("unknown sketch size/MD5 and an empty version are left out, like the ESP32 core does", () => {
  const names = checkInHeaders(fakeDevice({ sketchSize: undefined, sketchMd5: undefined, appVersion: "" }), 1).map(([n]) => n);
  assert.ok(!names.includes("x-ESP32-sketch-size") && !names.includes("x-ESP32-sketch-md5") && !names.includes("x-ESP32-version"));
});

test("update URLs: http only, port defaults to 80", () => {
  assert.deepEqual(parseUpdateUrl("http://192.168.4.2:8000/update?x=1"), { host: "192.168.4.2", port: 8000, path: "/update?x=1" });
  assert.deepEqual(parseUpdateUrl("http://updates.local"), { host: "updates.local", port: 80, path: "/" });
  assert.deepEqual(parseUpdateUrl("https://x/y"), { error: "Only http:// update URLs are supported" });
  assert.deepEqual(parseUpdateUrl("ftp://x/y"), { error: "Not an update URL: ftp://x/y (expected http://host:port/path)" });
  assert.deepEqual(parseUpdateUrl("http://x:70000/"), { error: "Port 70000 is out of range" });
});

test("304 means the firmware is current: nothing erased, no restart", async () => {
  const rig = createRig({ route: [{ status: 304 }] });
  assert.equal(rig.updater.checkIn("http://192.168.4.2:8000/esp32/update"), undefined);
  await rig.settle();
  const req = rig.http.requests[0];
  assert.deepEqual([req.host, req.port, req.path], ["192.168.4.2", 8000, "/esp32/update"]);
  assert.equal(rig.http.header(0, "x-ESP32-mode"), "sketch");
  const p = rig.updater.progress();
  assert.equal(p.phase, "current");
  assert.equal(p.error, undefined);
  assert.equal(rig.flash.writer.begins, 0);
  assert.ok(rig.flash.untouched());
  rig.clock.advance(10_000);
  assert.equal(rig.system.restarts, 0);
});

test("200 runs the same update session: verified, committed, restarted", async () => {
  const rig = createRig({ route: (r: HttpRequest) => serveBytes(IMAGE, r, { headers: [["x-MD5", md5Hex(IMAGE)]] }) });
  assert.equal(rig.updater.checkIn("http://192.168.4.2:8000/esp32/update"), undefined);
  await rig.settle();
  assert.equal(rig.updater.progress().phase, "done");
  assert.deepEqual(rig.flash.written(IMAGE.length), IMAGE);
  assert.equal(rig.flash.bootSlot, 1);
  rig.clock.advance(3000);
  assert.equal(rig.system.restarts, 1);
});

test("check-in refusals: 403, no server, a bad URL", async () => {
  let rig = createRig({ route: [{ status: 403 }] });
  rig.updater.checkIn("http://192.168.4.2:8000/u");
  await rig.settle();
  assert.equal(rig.updater.progress().error, "Server answered 403 Forbidden");
  assert.ok(rig.flash.untouched());
  rig = createRig({ route: [{ refuse: "ECONNREFUSED" }] });
  rig.updater.checkIn("http://192.168.4.2:8000/u");
  await rig.settle();
  assert.equal(rig.updater.progress().error, "Cannot connect to 192.168.4.2:8000: connection refused");
  assert.equal(rig.updater.checkIn("https://x/"), "Only http:// update URLs are supported");
});

test("scheduled check-ins run every interval until an update is installed", async () => {
  let n = 0;
  const rig = createRig({
    route: (r) => (n++ < 2 ? { status: 304 } : serveBytes(IMAGE, r, { headers: [["x-MD5", md5Hex(IMAGE)]] })),
    options: { checkIn: { url: "http://192.168.4.2:8000/u", intervalMs: 60_000 } },
  });
  assert.equal(rig.http.requests.length, 0, "nothing before the first interval");
  rig.clock.advance(60_000);
  await rig.settle();
  assert.equal(rig.updater.progress().phase, "current");
  rig.clock.advance(60_000);
  await rig.settle();
  assert.equal(rig.http.requests.length, 2);
  rig.clock.advance(60_000);
  await rig.settle();
  assert.equal(rig.updater.progress().phase, "done");
  rig.clock.advance(10 * 60_000);
  await rig.settle();
  assert.equal(rig.http.requests.length, 3, "no check-in once an update waits for the restart");
  assert.equal(rig.system.restarts, 1);
});

test("a scheduled check-in does not interrupt a running update", async () => {
  const rig = createRig({
    route: (r) => serveBytes(IMAGE, r, { headers: [["x-MD5", md5Hex(IMAGE)]], cut: { at: 10_000, how: "stall" } }),
    options: { checkIn: { url: "http://192.168.4.2:8000/u", intervalMs: 5_000 }, stallMs: 60_000 },
  });
  rig.clock.advance(5_000);
  await rig.settle();
  assert.equal(rig.updater.progress().phase, "downloading");
  rig.clock.advance(5_000);
  await rig.settle();
  assert.equal(rig.http.requests.length, 1);
  assert.equal(rig.updater.checkIn("http://192.168.4.2:8000/u"), "An update is already running");
});

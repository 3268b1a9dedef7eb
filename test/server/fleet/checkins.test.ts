// Every advanced-updater check-in and every download is recorded, on both
// databases: the MACs, chip, flash, running version and MD5, the answer given
// (304, 200 with which image, or the refusal and why) and the previous
// update's outcome a board of ours reports. Boards that report nothing get the
// same answer as from a server without the registry, and so does every board
// when the database fails.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { parseRules } from "../../../server/rules";
import { buildImage } from "../../../tools/esp-image";
import { BACKENDS } from "../../support/databases";
import { esp32Headers, esp8266Headers, rawRequest, requestText, start } from "../helpers";
import { startFleetServer, type FleetServer } from "./helpers";

const v1 = Buffer.from(buildImage({ version: "1.0.0", size: 40_000 }));
const v2 = Buffer.from(buildImage({ version: "2.0.0", size: 48_000 }));
// Over the server's 16 MB in-memory limit, so it streams from disk and notices a client that
// leaves: a smaller image goes to the kernel in one write, and loopback's socket buffers take
// all of it before the client hangs up ("bytes sent" are bytes handed to the kernel).
const big = Buffer.from(buildImage({ version: "3.0.0", size: 20_000_000 }));
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const RULES = `default: { firmware: fw/app.bin, channel: stable }
devices:
  "24:6F:28:AA:BB:09": { firmware: big.bin }`;
const MAC = "24:6F:28:20:00:01";

interface History {
  device: Record<string, unknown>;
  checkins: Array<Record<string, unknown>>;
  downloads: Array<Record<string, unknown>>;
}

for (const backend of BACKENDS) {
  describe(`check-in and download history on ${backend.name}`, { skip: backend.skip }, () => {
    let s: FleetServer;
    before(async () => {
      s = await startFleetServer(backend, { rules: RULES, files: { "fw/app.bin": v2, "big.bin": big, "big.bin.sig": Buffer.from("not parsed here\n") } });
    });
    after(() => s?.stop());
    const history = async (mac: string) => (await s.api<History>(`/api/devices/${mac}/history`)).body;

    test("a 200, then a 304: the device row holds the facts, each check-in the answer", async () => {
      const sent = await s.checkIn(MAC, { version: "1.0.0", md5: md5(v1) });
      assert.equal(sent.status, 200);
      assert.ok(sent.body.equals(v2));
      const current = await s.checkIn(MAC, { version: "2.0.0", md5: md5(v2) });
      assert.equal(current.status, 304);
      const h = await history(MAC);
      assert.equal(h.device.version, "2.0.0");
      assert.equal(h.device.sketchMd5, md5(v2));
      assert.equal(h.device.flashSize, 4194304);
      assert.equal(h.device.freeSpace, 1966080);
      assert.equal(h.device.apMac, "24:6F:28:AA:BB:03");
      assert.equal(h.device.channel, "stable");
      assert.equal(h.device.checkins, 2);
      assert.equal(h.device.lastStatus, 304);
      assert.deepEqual(
        h.checkins.map((c) => [c.status, c.answer, c.image, c.source, c.version]),
        [
          [304, "current", "fw/app.bin", "default", "2.0.0"],
          [200, "update", "fw/app.bin", "default", "1.0.0"],
        ],
      );
      assert.deepEqual(
        h.downloads.map((d) => [d.path, d.status, d.length, d.bytesSent, d.completed]),
        [["fw/app.bin", 200, v2.length, v2.length, true]],
      );
    });

    test("a refusal is recorded with its reason; the answer is as without the registry", async () => {
      const r = await s.checkIn("24:6F:28:AA:BB:09");
      assert.equal(r.status, 413);
      const h = await history("24:6F:28:AA:BB:09");
      assert.equal(h.checkins[0].status, 413);
      assert.equal(h.checkins[0].answer, "refused");
      assert.match(String(h.checkins[0].reason), /^Not enough space: image 2000\d+ bytes, free 1966080$/);
      assert.deepEqual(h.downloads, []);
    });

    test("malformed headers (400) and a client that is not HTTPUpdate (403) are recorded too", async () => {
      const bad = await rawRequest(s.port, requestText("/update", esp32Headers({ "x-ESP32-STA-MAC": "nope" })));
      assert.equal(bad.status, 400);
      const curl = await rawRequest(s.port, requestText("/update", { Host: "x", "User-Agent": "curl/8", "x-ESP32-STA-MAC": "24:6F:28:20:00:07" }));
      assert.equal(curl.status, 403);
      await s.fleet!.settled();
      const rows = await s.fleet!.db.all<{ status: number; mac: string | null; reason: string }>("SELECT status, mac, reason FROM checkins WHERE status IN (400, 403) ORDER BY id");
      assert.deepEqual(
        rows.map((r) => [r.status, r.mac]),
        [
          [400, null],
          [403, "24:6F:28:20:00:07"],
        ],
      );
      assert.match(rows[0].reason, /Malformed STA-MAC/);
    });

    test("the previous update's outcome, header names in any case, is recorded; an unknown value is not", async () => {
      const mac = "24:6F:28:20:00:02";
      await s.checkIn(mac, { version: "2.0.0", md5: md5(v2), extra: { "X-esp32-UPDATE-result": "Rolled-Back", "x-Esp32-Update-Version": "2.1.0" } });
      let h = await history(mac);
      assert.equal(h.device.lastResult, "rolled-back");
      assert.equal(h.device.lastResultVersion, "2.1.0");
      assert.deepEqual([h.checkins[0].updateResult, h.checkins[0].updateVersion], ["rolled-back", "2.1.0"]);
      const at = h.device.lastResultAt;
      await s.checkIn(mac, { version: "2.0.0", md5: md5(v2), result: "rolled-back", resultVersion: "2.1.0" });
      assert.equal((await history(mac)).device.lastResultAt, at, "a repeated report keeps its first time");
      await s.checkIn(mac, { version: "2.0.0", md5: md5(v2), result: "exploded" });
      h = await history(mac);
      assert.equal(h.checkins[0].updateResult, null);
      assert.equal(h.device.lastResult, "rolled-back");
    });

    test("an ESP8266 board is registered from its own headers", async () => {
      const h = esp8266Headers({ "x-ESP8266-STA-MAC": "DE:BA:7A:00:00:01", "x-ESP8266-update-result": "valid" });
      const r = await rawRequest(s.port, requestText("/update", h));
      assert.equal(r.status, 409); // an ESP32 image for an ESP8266
      await s.fleet!.settled();
      const d = (await history("DE:BA:7A:00:00:01")).device;
      assert.deepEqual([d.family, d.chip, d.lastResult], ["esp8266", "ESP8266", "valid"]);
    });

    test("catalog downloads: complete, cut short by the client, and a range", async () => {
      const mac = "24:6F:28:20:00:03";
      const headers = esp32Headers({ "x-ESP32-STA-MAC": mac, "x-ESP32-free-space": "30000000" });
      const full = await rawRequest(s.port, requestText("/big.bin", headers));
      assert.equal(full.body.length, big.length);
      const ranged = await rawRequest(s.port, requestText("/big.bin", { ...headers, Range: "bytes=1000-1999" }));
      assert.equal(ranged.status, 206);
      // read the head and a little body, then hang up
      await new Promise<void>((resolve) => {
        const socket = connect(s.port, "127.0.0.1");
        let got = 0;
        socket.on("data", (c: Buffer) => {
          got += c.length;
          if (got > 100_000) {
            socket.destroy();
            resolve();
          }
        });
        socket.write(requestText("/big.bin", headers));
      });
      for (let i = 0; i < 50; i++) {
        await s.fleet!.settled();
        if ((await history(mac)).downloads.length === 3) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const downloads = (await history(mac)).downloads.reverse();
      assert.deepEqual(
        downloads.slice(0, 2).map((d) => [d.path, d.status, d.length, d.rangeStart, d.bytesSent, d.completed]),
        [
          ["big.bin", 200, big.length, null, big.length, true],
          ["big.bin", 206, 1000, 1000, 1000, true],
        ],
      );
      const cut = downloads[2];
      assert.equal(cut.completed, false);
      assert.ok((cut.bytesSent as number) > 0 && (cut.bytesSent as number) < big.length, `bytes sent ${String(cut.bytesSent)}`);
      const catalog = await rawRequest(s.port, requestText("/_catalog?op=list&path=.", { Host: "x" }));
      assert.equal(catalog.status, 200);
      const sig = await rawRequest(s.port, requestText("/big.bin.sig", headers));
      assert.equal(sig.status, 200, "a signed-only board fetches the .sig beside the image");
      await s.fleet!.settled();
      assert.equal((await history(mac)).downloads.length, 3, "neither a catalog listing nor a .sig fetch is a download");
    });
  });
}

describe("answers with and without the registry", () => {
  const rules = "default: { firmware: fw/app.bin }";
  let plain: Awaited<ReturnType<typeof start>>;
  let fleet: FleetServer;
  before(async () => {
    plain = await start({ rules: parseRules(rules, "yaml") });
    fleet = await startFleetServer(BACKENDS[0], { rules, files: { "fw/app.bin": v2 } });
    const { mkdir, writeFile } = await import("node:fs/promises");
    await mkdir(`${plain.dir}/fw`);
    await writeFile(`${plain.dir}/fw/app.bin`, v2);
  });
  after(async () => {
    await plain?.close();
    await fleet?.stop();
  });

  const cases: Array<[string, Record<string, string>]> = [
    ["an update", esp32Headers({ "x-ESP32-version": "1.0.0" })],
    ["up to date", esp32Headers({ "x-ESP32-sketch-md5": md5(v2) })],
    ["too large for the board", esp32Headers({ "x-ESP32-free-space": "1000" })],
    ["not HTTPUpdate", { Host: "x", "User-Agent": "curl/8" }],
  ];
  for (const [label, headers] of cases) {
    test(`${label}: same status, reason, x-MD5 and body`, async () => {
      const a = await rawRequest(plain.port, requestText("/update", headers));
      const b = await rawRequest(fleet.port, requestText("/update", headers));
      assert.deepEqual([b.status, b.reason, b.headers["x-md5"], b.headers["content-length"], md5(b.body)], [a.status, a.reason, a.headers["x-md5"], a.headers["content-length"], md5(a.body)]);
    });
  }

  test("with the database gone, boards are answered by the rules and the failure is logged", async () => {
    await fleet.fleet!.db.close();
    const r = await rawRequest(fleet.port, requestText("/update", esp32Headers({ "x-ESP32-version": "1.0.0" })));
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(v2));
    await fleet.fleet!.settled();
    assert.ok(fleet.logs.some((l) => l.msg === "fleet: registry unavailable, answering by the rules"));
  });
});

// Issue 20 item 2, bounded history, on both databases: a repeat check-in that
// changes nothing adds no row (the board's row counts it), while answers and
// reports that change are kept; rows older than historyDays go, and a board
// keeps at most historyPerBoard check-ins (its newest), pruned in batches by
// the background timer as well as on demand. Time is simulated.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { DeviceView } from "../../../server/fleet/registry";
import { buildImage } from "../../../tools/esp-image";
import { BACKENDS } from "../../support/databases";
import { esp32Headers, rawRequest, requestText } from "../helpers";
import { macOf, startFleetServer, type FleetServer } from "./helpers";

const v1 = Buffer.from(buildImage({ version: "1.0.0", size: 30_000 }));
const v2 = Buffer.from(buildImage({ version: "2.0.0", size: 31_000 }));
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const DAY = 24 * 60 * 60 * 1000;

interface History {
  device: DeviceView;
  checkins: Array<{ answer: string; version: string | null; updateResult: string | null; at: string }>;
  downloads: unknown[];
}

for (const backend of BACKENDS) {
  describe(`bounded history on ${backend.name}`, { skip: backend.skip }, () => {
    let s: FleetServer;
    let now = Date.UTC(2026, 10, 1);
    before(async () => {
      s = await startFleetServer(backend, {
        rules: "default: { firmware: fw/v2.bin }",
        files: { "fw/v2.bin": v2, "fw/v1.bin": v1 },
        now: () => now,
        fleet: { historyDays: 30, historyPerBoard: 4, pruneEveryMs: 3_600_000, pruneBatch: 2 },
      });
    });
    after(() => s?.stop());
    const history = async (mac: string) => (await s.api<History>(`/api/devices/${mac}/history`)).body;
    const count = async (table: string, mac: string) => Number((await s.fleet!.db.get<{ n: number }>(`SELECT count(*) AS n FROM ${table} WHERE mac = ?`, [mac]))?.n);

    test("repeat check-ins that change nothing update the board's row; a change, an update answer or a new report adds one", async () => {
      const mac = macOf(1);
      for (let i = 0; i < 5; i++) {
        now += 60_000;
        assert.equal((await s.checkIn(mac, { version: "2.0.0", md5: md5(v2) })).status, 304);
      }
      let h = await history(mac);
      assert.equal(h.checkins.length, 1);
      assert.deepEqual([h.device.checkins, h.device.repeatCheckins, h.device.lastSeen], [5, 4, new Date(now).toISOString()]);
      // a report is something new: a row; repeated unchanged, no more rows
      await s.checkIn(mac, { version: "2.0.0", md5: md5(v2), result: "valid", resultVersion: "2.0.0" });
      await s.checkIn(mac, { version: "2.0.0", md5: md5(v2), result: "valid", resultVersion: "2.0.0" });
      // an update answer is always kept, each time
      assert.equal((await s.checkIn(mac, { version: "1.0.0", md5: md5(v1) })).status, 200);
      assert.equal((await s.checkIn(mac, { version: "1.0.0", md5: md5(v1) })).status, 200);
      h = await history(mac);
      assert.deepEqual(
        h.checkins.map((c) => [c.answer, c.version, c.updateResult]),
        [["update", "1.0.0", null], ["update", "1.0.0", null], ["current", "2.0.0", "valid"], ["current", "2.0.0", null]],
      );
      assert.equal(h.device.checkins, 9);
      assert.equal(h.downloads.length, 2);
    });

    test("the per-board cap keeps a board's newest check-ins; other boards are untouched", async () => {
      const mac = macOf(2);
      const other = macOf(3);
      await s.checkIn(other, { version: "2.0.0", md5: md5(v2) });
      for (let i = 0; i < 7; i++) {
        now += 60_000;
        // alternate what the board says so each check-in is a row of its own
        await s.checkIn(mac, { version: "2.0.0", md5: md5(v2), result: i % 2 ? "valid" : "failed", resultVersion: `2.0.${i}` });
      }
      assert.equal(await count("checkins", mac), 7);
      const pruned = await s.fleet!.retention.prune();
      assert.deepEqual(pruned, { checkins: 3, downloads: 0 }); // the first test's board has exactly 4
      assert.equal(await count("checkins", mac), 4);
      assert.equal(await count("checkins", other), 1);
      const kept = (await history(mac)).checkins.map((c) => c.at);
      assert.deepEqual(kept, [...kept].sort().reverse());
      assert.equal(kept[0], new Date(now).toISOString(), "the newest is kept");
      const row = await s.fleet!.db.get<{ history_rows: number }>("SELECT history_rows FROM devices WHERE mac = ?", [mac]);
      assert.equal(Number(row?.history_rows), 4);
    });

    test("check-in and download rows older than historyDays go, 2 rows a statement; the boards stay known", async () => {
      const fresh = macOf(4);
      now += 31 * DAY;
      await s.checkIn(fresh, { version: "2.0.0", md5: md5(v2) });
      const before = Number((await s.fleet!.db.get<{ n: number }>("SELECT count(*) AS n FROM checkins"))?.n);
      assert.ok(before > 5);
      const pruned = await s.fleet!.retention.prune();
      assert.equal(pruned.checkins, before - 1, "all but the fresh board's, 2 rows a statement");
      assert.equal(pruned.downloads, 2);
      assert.equal(await count("checkins", fresh), 1);
      assert.equal((await s.api<{ total: number }>("/api/devices")).body.total, 4);
      // a catalog download is history too, and goes once it is old
      await rawRequest(s.port, requestText("/fw/v1.bin", esp32Headers({ "x-ESP32-STA-MAC": fresh })));
      await s.fleet!.settled();
      assert.equal(await count("downloads", fresh), 1);
      now += 31 * DAY;
      assert.deepEqual(await s.fleet!.retention.prune(), { checkins: 1, downloads: 1 });
    });
  });

  describe(`the prune timer on ${backend.name}`, { skip: backend.skip }, () => {
    let s: FleetServer;
    let now = Date.UTC(2026, 10, 1);
    before(async () => {
      s = await startFleetServer(backend, { rules: "default: { firmware: fw/v2.bin }", files: { "fw/v2.bin": v2 }, now: () => now, fleet: { historyDays: 1, pruneEveryMs: 30 } });
    });
    after(() => s?.stop());

    test("old rows disappear without anyone asking", async () => {
      for (let i = 0; i < 3; i++) await s.checkIn(macOf(10 + i), { version: "2.0.0", md5: md5(v2) });
      now += 2 * DAY;
      const deadline = Date.now() + 5000;
      let n = 3;
      while (n > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 30));
        n = Number((await s.fleet!.db.get<{ n: number }>("SELECT count(*) AS n FROM checkins"))?.n);
      }
      assert.equal(n, 0);
    });
  });
}

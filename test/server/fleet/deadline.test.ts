// A registry that stops answering must not hold a board: on PostgreSQL, with
// the devices table locked by someone else, a check-in waits at most the
// fleet's deadline, is answered by the rules alone with a log line, and once
// the lock is gone the registry records again.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { buildImage } from "../../../tools/esp-image";
import { BACKENDS } from "../../support/databases";
import { esp32Headers, rawRequest, requestText } from "../helpers";
import { macOf, startFleetServer, type FleetServer } from "./helpers";

const postgres = BACKENDS.find((b) => b.name === "postgres")!;
const v1 = Buffer.from(buildImage({ version: "1.0.0", size: 20_000 }));
const DEADLINE_MS = 400;

describe("check-ins when PostgreSQL stops answering", { skip: postgres.skip }, () => {
  let s: FleetServer;
  before(async () => {
    s = await startFleetServer(postgres, { rules: "default: { firmware: fw/v1.bin }", files: { "fw/v1.bin": v1 }, deadlineMs: DEADLINE_MS });
  });
  after(() => s?.stop());

  test("a locked registry: answered by the rules within the deadline, with a log line; recorded again once it answers", async () => {
    const locker = new pg.Client({ connectionString: s.db.url });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE devices IN EXCLUSIVE MODE");
      const t0 = performance.now();
      const r = await rawRequest(s.port, requestText("/update", esp32Headers({ "x-ESP32-STA-MAC": macOf(1), "x-ESP32-BASE-MAC": macOf(1), "x-ESP32-version": "0.9.0" })));
      const ms = performance.now() - t0;
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(v1), "the rule's image");
      assert.ok(ms >= DEADLINE_MS * 0.9 && ms < DEADLINE_MS + 1500, `answered after ${ms.toFixed(0)} ms`);
      assert.ok(s.logs.some((l) => l.msg === "fleet: registry too slow, answering by the rules"));
    } finally {
      await locker.query("ROLLBACK").catch(() => undefined);
      await locker.end();
    }
    await s.fleet!.settled();
    const before = await s.fleet!.registry.count();
    await s.checkIn(macOf(2));
    assert.equal(await s.fleet!.registry.count(), before + 1);
  });
});

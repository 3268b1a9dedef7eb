// A registry that stops answering must not hold a board: on PostgreSQL, with
// the devices table locked by someone else, a check-in waits at most the
// fleet's deadline, is answered by the rules alone with a log line, and once
// the lock is gone the registry records again. Under --require-board-auth, a
// check-in whose credentials the deadline left unchecked is never recorded.
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

describe("a signed check-in cut short by the deadline, under --require-board-auth", { skip: postgres.skip }, () => {
  const SECRET = "deadline-fleet-secret-0123456789";
  let s: FleetServer;
  before(async () => {
    s = await startFleetServer(postgres, { rules: "default: { firmware: fw/v1.bin }", files: { "fw/v1.bin": v1 }, deadlineMs: DEADLINE_MS, fleet: { fleetSecret: SECRET, requireBoardAuth: true } });
  });
  after(() => s?.stop());
  const rows = async (mac: string) => Number((await s.fleet!.db.get<{ n: number }>("SELECT count(*) AS n FROM checkins WHERE mac = ?", [mac]))?.n);

  test("answered by the rules and not recorded: its credentials were not checked when the answer went", async () => {
    const locker = new pg.Client({ connectionString: s.db.url });
    await locker.connect();
    const mac = macOf(3);
    try {
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE board_auth IN ACCESS EXCLUSIVE MODE");
      const r = await s.checkIn(mac, { secret: SECRET, settle: false });
      assert.equal(r.status, 200, "the rule's image");
      assert.ok(s.logs.some((l) => l.msg === "fleet: registry too slow, answering by the rules"));
      await new Promise((res) => setTimeout(res, 300)); // the response's record step runs meanwhile
    } finally {
      await locker.query("ROLLBACK").catch(() => undefined);
      await locker.end();
    }
    await s.fleet!.settled();
    assert.equal(await rows(mac), 0, "no check-in row from an unverified check-in");
    await s.checkIn(mac, { secret: SECRET });
    await s.fleet!.settled();
    assert.equal(await rows(mac), 1, "the same board's next check-in, verified in time, is recorded");
  });
});

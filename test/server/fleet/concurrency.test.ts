// Several servers on one database, in one process: three Rollouts over three
// connections (pools) to the same database race each other the way three
// ota-server processes do (many-servers.test.ts runs the real processes).
// Each stage advances exactly once, the halt rule fires exactly once, no
// outcome is lost or counted twice, whoever comes first.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { openDb, type Db } from "../../../server/fleet/db";
import { migrate } from "../../../server/fleet/migrations";
import { FleetError, Rollouts } from "../../../server/fleet/rollouts";
import { BACKENDS, type FreshDb } from "../../support/databases";
import { macOf } from "./helpers";

const SERVERS = 3;
const ROUNDS = 12;

for (const backend of BACKENDS) {
  describe(`${SERVERS} servers on one ${backend.name} database`, { skip: backend.skip }, () => {
    let fresh: FreshDb;
    let dbs: Db[];
    let servers: Rollouts[];
    let clock = 1_000_000;
    let channel = 0;
    before(async () => {
      fresh = await backend.fresh();
      dbs = await Promise.all(Array.from({ length: SERVERS }, () => openDb(fresh.url)));
      await migrate(dbs[0]);
      servers = dbs.map((db) => new Rollouts(db, () => clock));
    });
    after(async () => {
      for (const db of dbs ?? []) await db.close();
      await fresh?.drop();
    });

    /** A rollout on a channel of its own (no supersede between rounds). */
    const newRollout = async (stages: number[], extra: { advanceEveryMs?: number; threshold?: number; minOutcomes?: number } = {}) =>
      (await servers[0].create({ channel: `c${++channel}`, image: "fw/v2.bin", stages, ...extra }, "2.0.0")).id;
    const events = (id: number) => dbs[0].all<{ kind: string; stage: number }>("SELECT kind, stage FROM rollout_events WHERE rollout_id = ? ORDER BY id", [id]);
    /** Settles every racer; FleetErrors (409: someone else was first) are expected outcomes, anything else fails. */
    const race = async <T>(work: Array<() => Promise<T>>) =>
      (await Promise.allSettled(work.map((w) => w()))).map((r) => {
        if (r.status === "rejected" && !(r.reason instanceof FleetError)) throw r.reason;
        return r;
      });

    test("every server's scheduled advance falls due at once: each stage advances exactly once", async () => {
      const id = await newRollout([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], { advanceEveryMs: 1000 });
      for (let round = 1; round <= 8; round++) {
        clock += 1000;
        const advanced = await Promise.all(servers.map((s) => s.tick()));
        assert.equal(advanced.flat().filter((x) => x === id).length, 1, `round ${round}: one server advances it`);
        assert.equal((await servers[1].get(id)).stage, round + 1);
      }
      const advances = (await events(id)).filter((e) => e.kind === "advanced").map((e) => Number(e.stage));
      assert.deepEqual(advances, [2, 3, 4, 5, 6, 7, 8, 9]);
    });

    test("two admins press Advance on the stage they both see: it moves once, the other is told", async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const id = await newRollout([10, 50, 100]);
        const results = await race([() => servers[0].advance(id, "by hand", { stage: 1 }), () => servers[1].advance(id, "by hand", { stage: 1 })]);
        assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
        assert.equal((await servers[2].get(id)).stage, 2);
        assert.deepEqual((await events(id)).filter((e) => e.kind === "advanced").map((e) => Number(e.stage)), [2]);
      }
    });

    test("advances without a stage named take turns: two presses, two stages, each once", async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const id = await newRollout([10, 50, 100]);
        await Promise.all([servers[0].advance(id), servers[1].advance(id)]);
        assert.equal((await servers[2].get(id)).stage, 3);
        assert.deepEqual((await events(id)).filter((e) => e.kind === "advanced").map((e) => Number(e.stage)), [2, 3]);
      }
    });

    test("an automatic advance racing a halt: halted once, and never advanced after the halt", async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const id = await newRollout([10, 50, 100], { advanceEveryMs: 1000 });
        clock += 1000;
        const results = await race<unknown>([...servers.map((s) => () => s.tick()), () => servers[round % SERVERS].halt(id, "halted by hand"), () => servers[(round + 1) % SERVERS].halt(id)]);
        const view = await servers[0].get(id);
        assert.equal(view.state, "halted");
        const log = await events(id);
        assert.equal(log.filter((e) => e.kind === "halted").length, 1, "one halt");
        assert.equal(results.filter((r, i) => i >= SERVERS && r.status === "fulfilled").length, 1, "one of the two halts wins");
        const advances = log.filter((e) => e.kind === "advanced");
        assert.ok(advances.length <= 1);
        assert.equal(view.stage, 1 + advances.length);
        // Whatever happened first, the advance (if any) is before the halt.
        if (advances.length) assert.ok(log.findIndex((e) => e.kind === "advanced") < log.findIndex((e) => e.kind === "halted"));
        clock += 5000;
        await Promise.all(servers.map((s) => s.tick()));
        assert.equal((await servers[0].get(id)).stage, view.stage, "a halted rollout stays where it was");
      }
    });

    test("boards' failure reports arrive on every server at once: each counted once, the halt rule fires once", async () => {
      const boards = Array.from({ length: 30 }, (_, i) => macOf(4000 + i));
      // Known to the registry before any of the rollouts (only such boards' reports count).
      for (const mac of boards) {
        await dbs[0].run("INSERT INTO devices (mac, family, bucket, channel, first_seen, last_seen) VALUES (?, 'esp32', 1, 'stable', ?, ?)", [mac, clock - 1, clock - 1]);
      }
      for (let round = 0; round < 3; round++) {
        clock += 1000; // a report belongs to the board's latest offer of that version
        const id = await newRollout([100], { threshold: 0.2, minOutcomes: 5 });
        for (const mac of boards) await servers[0].recordOffer(id, mac, 0, true);
        const halts = await Promise.all(
          boards.flatMap((mac, i) => [
            servers[i % SERVERS].recordReport(mac, { result: "rolled-back", version: "2.0.0" }),
            // the same board's report again, as a repeat check-in through another server
            servers[(i + 1) % SERVERS].recordReport(mac, { result: "rolled-back", version: "2.0.0" }),
          ]),
        );
        assert.deepEqual(halts.filter((h) => h.notCounted !== undefined), [], "every report counts: known before, offered and downloaded");
        assert.deepEqual(halts.map((h) => h.halted).filter((h) => h !== undefined), [id], "one report halts it, once");
        const log = await events(id);
        assert.equal(log.filter((e) => e.kind === "halted").length, 1);
        const stage = (await servers[0].get(id)).stages[0];
        assert.equal(stage.offered, boards.length);
        assert.equal(stage.rolledBack, boards.length, "no outcome lost, none counted twice");
      }
    });

    test("resuming on two servers at once: resumed once", async () => {
      const id = await newRollout([10, 100]);
      await servers[0].halt(id);
      const results = await race(servers.map((s) => () => s.resume(id)));
      assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
      assert.equal((await events(id)).filter((e) => e.kind === "resumed").length, 1);
    });
  });
}

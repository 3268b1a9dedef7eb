// Staged rollouts over real check-ins, on both databases: which boards a stage
// covers (by MAC hash, and only on its channel), advancing by hand and on a
// schedule, the automatic halt when a stage's failures pass the threshold,
// boards never sent back to an older image by a halt, a rolled-back board
// never offered that image again, completion into the channel's baseline, and
// the refusals of malformed or conflicting requests.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { bucketOf, firstStage, inStage } from "../../../server/fleet/cohort";
import type { RolloutView } from "../../../server/fleet/rollouts";
import { buildImage } from "../../../tools/esp-image";
import { BACKENDS } from "../../support/databases";
import { macOf, startFleetServer, type FleetServer } from "./helpers";

const v1 = Buffer.from(buildImage({ version: "1.0.0", size: 30_000 }));
const v2 = Buffer.from(buildImage({ version: "2.0.0", size: 31_000 }));
const v3 = Buffer.from(buildImage({ version: "3.0.0", size: 32_000 }));
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const image = { "1.0.0": v1, "2.0.0": v2, "3.0.0": v3 } as const;
type Version = keyof typeof image;

const BOARDS = Array.from({ length: 40 }, (_, i) => macOf(i + 1));
const BETA = BOARDS.slice(0, 4);
const STABLE = BOARDS.slice(4);
const RULES = `default: { firmware: fw/v1.bin, channel: stable }
groups:
  testers: { firmware: fw/v1.bin, channel: beta, members: [${BETA.map((m) => `"${m}"`).join(", ")}] }`;
const FILES = { "fw/v1.bin": v1, "fw/v2.bin": v2, "fw/v3.bin": v3, "fw/readme.bin": Buffer.from("not an image") };

describe("cohorts", () => {
  test("a board's bucket is a fixed hash of its MAC: changing it would move boards between stages", () => {
    assert.equal(bucketOf("24:6F:28:AA:BB:01"), 697);
    assert.equal(bucketOf("02:F1:EE:00:00:01"), 2809);
  });
  test("a board in at a stage stays in at every later one; the first stage that covers it is its stage", () => {
    for (const mac of BOARDS) {
      const b = bucketOf(mac);
      const covered = [10, 50, 100].map((p) => inStage(b, p));
      assert.deepEqual(covered, [...covered].sort(), `${mac} (${b})`);
      assert.equal(covered[2], true);
      assert.equal(firstStage(b, [10, 50, 100]), covered.indexOf(true));
    }
  });
});

const stageOf = (mac: string) => firstStage(bucketOf(mac), [10, 50, 100]);
const inFirst = STABLE.filter((m) => stageOf(m) === 0);
const inSecond = STABLE.filter((m) => stageOf(m) === 1);
const inThird = STABLE.filter((m) => stageOf(m) === 2);

for (const backend of BACKENDS) {
  describe(`rollouts on ${backend.name}`, { skip: backend.skip }, () => {
    let s: FleetServer;
    const running = new Map<string, Version>();
    before(async () => {
      assert.ok(inFirst.length >= 2 && inSecond.length >= 6 && inThird.length >= 6, `stage sizes ${inFirst.length}/${inSecond.length}/${inThird.length}`);
      s = await startFleetServer(backend, { rules: RULES, files: FILES });
      for (const m of BOARDS) running.set(m, "1.0.0");
    });
    after(() => s?.stop());

    /** One check-in of each board as it runs now; returns the boards sent an image. */
    const round = async (boards: string[], report?: (mac: string) => { result: string; resultVersion: string } | undefined) => {
      const sent = new Map<string, Version>();
      for (const mac of boards) {
        const v = running.get(mac)!;
        const r = await s.checkIn(mac, { version: v, md5: md5(image[v]), ...report?.(mac) });
        if (r.status === 200) {
          const got = (Object.keys(image) as Version[]).find((k) => image[k].equals(r.body))!;
          sent.set(mac, got);
        } else assert.equal(r.status, 304, `${mac}: ${r.status} ${r.reason}`);
      }
      return sent;
    };
    const rollout = async (id: number) => (await s.api<RolloutView>(`/api/rollouts/${id}`)).body;

    test("stage 1 offers the new image to exactly the boards whose bucket is under 10 %, on its channel only", async () => {
      assert.deepEqual(await round(BOARDS), new Map()); // all on the rule's image
      const created = await s.api<RolloutView>("/api/rollouts", { method: "POST", body: { channel: "stable", image: "fw/v2.bin", stages: [10, 50, 100], threshold: 0.3, minOutcomes: 3 } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.version, "2.0.0");
      assert.deepEqual(created.body.stages.map((st) => st.boards), [inFirst.length, inSecond.length, inThird.length]);
      const sent = await round(BOARDS);
      assert.deepEqual([...sent.keys()].sort(), [...inFirst].sort());
      assert.ok([...sent.values()].every((v) => v === "2.0.0"));
      for (const m of inFirst) running.set(m, "2.0.0");
      const history = await s.api<{ checkins: Array<{ source: string; rolloutId: number; stage: number }> }>(`/api/devices/${inFirst[0]}/history`);
      assert.deepEqual([history.body.checkins[0].source, history.body.checkins[0].rolloutId, history.body.checkins[0].stage], ["rollout 1 stage 1", 1, 1]);
      // the boards come back on 2.0.0 and say so
      assert.deepEqual(await round(inFirst, () => ({ result: "valid", resultVersion: "2.0.0" })), new Map());
      const r = await rollout(1);
      assert.deepEqual(
        [r.stages[0].offered, r.stages[0].downloaded, r.stages[0].valid, r.stages[0].state, r.stages[1].state],
        [inFirst.length, inFirst.length, inFirst.length, "current", "pending"],
      );
    });

    test("advancing covers stage 2; a second rollout on the same channel is refused while one is under way", async () => {
      const conflict = await s.api<{ error: string }>("/api/rollouts", { method: "POST", body: { channel: "stable", image: "fw/v3.bin" } });
      assert.equal(conflict.status, 409);
      assert.match(conflict.body.error, /already has rollout 1 under way/);
      const advanced = await s.api<RolloutView>("/api/rollouts/1/advance", { method: "POST" });
      assert.equal(advanced.status, 200);
      assert.equal(advanced.body.stage, 2);
      const sent = await round(STABLE);
      assert.deepEqual([...sent.keys()].sort(), [...inSecond].sort());
    });

    test("stage 2's failures pass the threshold: the rollout halts by itself and offers nothing more", async () => {
      const failing = new Set(inSecond.slice(0, 3));
      const good = inSecond.slice(3);
      for (const m of good) running.set(m, "2.0.0");
      // the failing boards rolled back: still 1.0.0, and they say so
      await round([...failing], () => ({ result: "rolled-back", resultVersion: "2.0.0" }));
      const r = await rollout(1);
      assert.equal(r.state, "halted");
      assert.match(r.haltedReason!, /^stage 2: 3 of 3 updates failed or rolled back \(100% > 30%\)$/);
      assert.equal(r.stages[1].state, "halted");
      assert.equal(r.events[0].kind, "halted");
      // halted: stage 3 boards and the rolled-back boards stay on 1.0.0; boards on 2.0.0 keep it,
      // including those that never sent a report (stock HTTPUpdate): their version says it
      assert.deepEqual(await round(STABLE), new Map());
      const stats = (await rollout(1)).stages[1];
      assert.deepEqual([stats.rolledBack, stats.valid], [3, good.length]);
      assert.equal((await s.api<RolloutView>("/api/rollouts/1/advance", { method: "POST" })).status, 409);
    });

    test("resumed, the rollout offers again, but never to a board that rolled that image back", async () => {
      const resumed = await s.api<RolloutView>("/api/rollouts/1/resume", { method: "POST" });
      assert.equal(resumed.body.state, "active");
      assert.deepEqual(await round(STABLE), new Map());
      assert.equal((await s.api("/api/rollouts/1/halt", { method: "POST", body: { reason: "enough" } })).status, 200);
      assert.equal((await rollout(1)).haltedReason, "halted by hand: enough");
    });

    test("a new rollout supersedes the halted one; completing it makes its image the channel's baseline", async () => {
      const created = await s.api<RolloutView>("/api/rollouts", { method: "POST", body: { channel: "stable", image: "fw/v3.bin", stages: [50, 100], minOutcomes: 1 } });
      assert.equal(created.status, 201);
      assert.equal((await rollout(1)).state, "superseded");
      await s.api("/api/rollouts/2/advance", { method: "POST" });
      const sent = await round(STABLE);
      assert.equal(sent.size, STABLE.length, "at 100 % every stable board is offered 3.0.0");
      for (const m of STABLE) running.set(m, "3.0.0");
      const done = await s.api<RolloutView>("/api/rollouts/2/advance", { method: "POST" });
      assert.equal(done.body.state, "completed");
      assert.ok(done.body.stages.every((st) => st.state === "done"));
      // a board never seen before gets the baseline, not the rule's 1.0.0; beta boards are untouched
      const newcomer = macOf(999);
      running.set(newcomer, "1.0.0");
      const first = await round([newcomer]);
      assert.equal(first.get(newcomer), "3.0.0");
      const h = await s.api<{ checkins: Array<{ source: string }> }>(`/api/devices/${newcomer}/history`);
      assert.equal(h.body.checkins[0].source, "channel stable baseline (rollout 2)");
      assert.deepEqual(await round(BETA), new Map());
      const list = await s.api<{ rollouts: RolloutView[] }>("/api/rollouts");
      assert.deepEqual(list.body.rollouts.map((r) => [r.id, r.state]), [[2, "completed"], [1, "superseded"]]);
    });

    test("malformed rollouts are refused with the reason", async () => {
      const bad: Array<[unknown, number, RegExp]> = [
        [{ channel: "beta", image: "fw/v2.bin", stages: [10, 50] }, 400, /last stage must be 100/],
        [{ channel: "beta", image: "fw/v2.bin", stages: [50, 10, 100] }, 400, /ascending/],
        [{ channel: "beta", image: "fw/v2.bin", threshold: 1 }, 400, /threshold/],
        [{ channel: "beta", image: "fw/v2.bin", minOutcomes: 0 }, 400, /minOutcomes/],
        [{ channel: "beta", image: "fw/v2.bin", advanceEveryMs: 5 }, 400, /advanceEveryMs/],
        [{ channel: "no spaces", image: "fw/v2.bin" }, 400, /channel/],
        [{ channel: "beta", image: "fw/none.bin" }, 404, /no fw\/none.bin/],
        [{ channel: "beta", image: "../etc/passwd" }, 400, /outside the catalog/],
        [{ channel: "beta", image: "fw/readme.bin" }, 400, /not an ESP app image/],
        [{ channel: "beta" }, 400, /image/],
      ];
      for (const [body, status, message] of bad) {
        const r = await s.api<{ error: string }>("/api/rollouts", { method: "POST", body });
        assert.equal(r.status, status, JSON.stringify(body));
        assert.match(r.body.error, message);
      }
      assert.equal((await s.api("/api/rollouts/99/advance", { method: "POST" })).status, 404);
      assert.equal((await s.api("/api/rollouts/x/advance", { method: "POST" })).status, 400);
    });
  });

  describe(`a late failure on ${backend.name}`, { skip: backend.skip }, () => {
    let s: FleetServer;
    before(async () => {
      s = await startFleetServer(backend, { rules: RULES, files: FILES });
    });
    after(() => s?.stop());

    test("an earlier stage's boards can still halt the rollout after it advanced; that stage is the one shown halted", async () => {
      const early = STABLE.find((m) => firstStage(bucketOf(m), [50, 100]) === 0)!;
      assert.equal((await s.checkIn(early, { version: "1.0.0", md5: md5(v1) })).status, 304, "known before the rollout");
      await s.api("/api/rollouts", { method: "POST", body: { channel: "stable", image: "fw/v2.bin", stages: [50, 100], threshold: 0, minOutcomes: 1 } });
      assert.equal((await s.checkIn(early, { version: "1.0.0", md5: md5(v1) })).status, 200);
      await s.api("/api/rollouts/1/advance", { method: "POST" });
      await s.checkIn(early, { version: "1.0.0", md5: md5(v1), result: "rolled-back", resultVersion: "2.0.0" });
      const r = (await s.api<RolloutView>("/api/rollouts/1")).body;
      assert.deepEqual([r.state, r.stage, r.stages.map((st) => st.state)], ["halted", 2, ["halted", "current"]]);
      assert.match(r.haltedReason!, /^stage 1: 1 of 1 /);
    });
  });

  describe(`scheduled advance on ${backend.name}`, { skip: backend.skip }, () => {
    let s: FleetServer;
    before(async () => {
      s = await startFleetServer(backend, { rules: RULES, files: FILES, tickMs: 50 });
    });
    after(() => s?.stop());

    test("stages advance on their own after advanceEveryMs, and stop at the last one", async () => {
      const r = await s.api<RolloutView>("/api/rollouts", { method: "POST", body: { channel: "beta", image: "fw/v2.bin", stages: [10, 50, 100], advanceEveryMs: 200 } });
      assert.ok(r.body.nextAdvanceAt);
      const deadline = Date.now() + 5000;
      let view = r.body;
      while (view.stage < 3 && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 50));
        view = (await s.api<RolloutView>(`/api/rollouts/${r.body.id}`)).body;
      }
      assert.equal(view.stage, 3);
      await new Promise((res) => setTimeout(res, 400));
      view = (await s.api<RolloutView>(`/api/rollouts/${r.body.id}`)).body;
      assert.deepEqual([view.state, view.stage, view.nextAdvanceAt], ["active", 3, null]);
      assert.deepEqual(
        view.events.map((e) => e.detail).filter((d) => d?.includes("schedule")),
        ["to 100 % on schedule", "to 50 % on schedule"],
      );
    });
  });
}

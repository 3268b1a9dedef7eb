// Power cuts through whole update flows on the twin (test/support/power-sweep.ts):
// a catalog update, a phone upload, a check-in update and "Go back", each cut
// at a deterministic sample of its flash operations (the first and last few,
// and every k-th between: at least 50 points in all; `npm run sweep` cuts at
// every one). After each cut the twin boots again by itself; it must run one of
// its two images, otadata must agree with it, and the home page, /api/status
// and the next check-in must tell the truth about the last update.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FLOWS, samplePoints, startSweepRig, targetOf } from "../support/power-sweep";

/** Cut points per flow in the sample (Go back has fewer operations than that: all of them). */
const PER_FLOW = 18;

test("power cuts at a sample of every flow's flash operations (erase, write, otadata; through the restart, first boot and confirm): the board runs one of its two images, otadata agrees, and what it reports is true", async (t) => {
  const rig = await startSweepRig();
  try {
    let total = 0;
    const summary: string[] = [];
    for (const flow of FLOWS) {
      const clean = await rig.run(flow);
      assert.deepEqual([clean.cut, clean.version, clean.failures], [false, targetOf(flow), []], `${flow}: a run without a cut`);
      assert.ok(clean.ops >= 4, `${flow}: ${clean.ops} flash operations`);
      const points = samplePoints(clean.ops, PER_FLOW);
      const ends: Record<string, number> = {};
      for (const k of points) {
        const r = await rig.run(flow, k);
        assert.equal(r.cut, true, `${flow}, cut at operation ${k}: the power went`);
        assert.deepEqual(r.failures, [], `${flow}, cut at operation ${k} of ${clean.ops}`);
        ends[r.version] = (ends[r.version] ?? 0) + 1;
      }
      // one past the last operation: nothing is cut, so the sample's range covered the whole flow
      assert.equal((await rig.run(flow, clean.ops)).cut, false, `${flow}: ${clean.ops} operations in all`);
      total += points.length;
      summary.push(`${flow}: ${points.length} of ${clean.ops} points, ended on ${JSON.stringify(ends)}`);
    }
    assert.ok(total >= 50, `${total} cut points`);
    t.diagnostic(summary.join("; "));
  } finally {
    await rig.stop();
  }
});

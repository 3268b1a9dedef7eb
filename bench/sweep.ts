// `npm run sweep`: the whole power-cut sweep on the twin (test/support/power-sweep.ts).
// For a catalog update, a phone upload, a check-in update and "Go back", a clean
// run counts the flash operations (erases, writes, otadata writes; through the
// commit's restart, the first boot and the start-up check's confirm), then the
// power is cut at each one in turn and the twin boots again by itself. Prints,
// per flow, the cut points, where the board ended and every failure (it runs
// one of its two images, otadata agrees, home page / status / next check-in
// tell the truth); exits 1 when any failed. `npm test` runs a sample of it
// (test/twin/power-sweep.test.ts).
//   SWEEP_SCALE=0.05   size of the demo images (1 = ~0.9 MB: about 20x the points)
//   SWEEP_FLOWS=catalog,upload,checkin,go-back
import { FLOWS, startSweepRig, type Flow } from "../test/support/power-sweep";

const scale = Number(process.env.SWEEP_SCALE ?? 0.05);
const flows = (process.env.SWEEP_FLOWS?.split(",") ?? [...FLOWS]) as Flow[];
for (const flow of flows) if (!FLOWS.includes(flow)) throw new Error(`unknown flow ${flow} (${FLOWS.join(", ")})`);

const rig = await startSweepRig(scale);
let points = 0;
let failed = 0;
const started = performance.now();
try {
  console.log(`power-cut sweep on the twin, demo images at scale ${scale}`);
  for (const flow of flows) {
    const t0 = performance.now();
    const clean = await rig.run(flow);
    const bad: string[] = [];
    if (clean.cut || clean.failures.length > 0) bad.push(`without a cut: ${clean.failures.join("; ")}`);
    const ends: Record<string, number> = {};
    for (let k = 0; k < clean.ops; k++) {
      const r = await rig.run(flow, k);
      ends[r.version] = (ends[r.version] ?? 0) + 1;
      if (!r.cut) bad.push(`operation ${k}: the power never went`);
      for (const f of r.failures) bad.push(`operation ${k}: ${f}`);
    }
    const past = await rig.run(flow, clean.ops);
    if (past.cut) bad.push(`operation ${clean.ops}: cut, so the clean run missed operations`);
    points += clean.ops;
    failed += bad.length;
    const ms = performance.now() - t0;
    console.log(`  ${flow.padEnd(8)} ${String(clean.ops).padStart(4)} cut points, ${bad.length} failures, ended on ${JSON.stringify(ends)} (${(ms / 1000).toFixed(1)} s, ${(ms / (clean.ops + 2)).toFixed(0)} ms a run)`);
    for (const line of bad) console.log(`      ${line}`);
  }
  console.log(`${points} cut points, ${failed} failures in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} finally {
  await rig.stop();
}
process.exitCode = failed === 0 ? 0 : 1;

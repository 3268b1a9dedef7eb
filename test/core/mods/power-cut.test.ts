// Power cuts at every flash operation of a mod update (install, switch, first
// boot's mapping by XS, confirm) and of a rollback: after each cut the board
// is powered up again (VM creation maps `xs`, ModManager.start(), its window)
// until it settles. Every time it must end with the old or the new mod in
// `xs`, whole (its slot's bytes up to mapping), and a state record that says
// so (Node and XS).
import { test, assert } from "../../harness/t";
import { ModStore } from "../../../modules/core/mods/mod-store";
import { mappedMatches, readHead, sameHeader } from "../../../modules/core/mods/activate";
import { buildArchive, demoMod } from "../../../tools/xs-archive";
import { ModRig } from "../../fakes/mod-rig";
import { PowerCut } from "../../fakes/mod-flash";

const v1 = demoMod("app", "1.0.0", { codeSize: 5000 });

function runningV1(): ModRig {
  const rig = new ModRig();
  assert.equal(rig.install(v1), undefined);
  rig.mods.stagedRestart();
  assert.equal(rig.boot(), "run");
  rig.settle();
  assert.equal(rig.mods.running(), "app@1.0.0");
  return rig;
}

/** Runs `step`; false when the power went during it (a PowerCut thrown, or one a sink turned into a refusal). */
function powered(rig: ModRig, step: () => void): boolean {
  try {
    step();
  } catch (e) {
    if (!(e instanceof PowerCut)) throw e;
  }
  return !rig.flash.power.off;
}

/** Boots until a boot runs a mod to its verdict (or none) without asking for a restart. */
function settle(rig: ModRig): number {
  for (let boots = 1; boots <= 12; boots++) {
    let decision: string = "";
    const ok = powered(rig, () => {
      decision = rig.boot();
      if (decision === "run") rig.settle();
    });
    if (!ok || decision === "reset" || decision === "restart" || rig.system.restarts > 0) continue;
    return boots;
  }
  throw new Error("the board never settled");
}

/** The board runs `expected`, whole in `xs`, and the record says so. */
function assertSettled(rig: ModRig, expected: string, what: string): void {
  const state = new ModStore(rig.store).load();
  assert.equal(rig.mods.running(), expected, `${what}: the running mod`);
  assert.equal(state.pending, null, `${what}: no open switch`);
  const slot = state.xs as 0 | 1;
  const record = state.slots[slot];
  assert.equal(record && `${record.name}@${record.version}`, expected, `${what}: the record's mod in xs`);
  assert.ok(sameHeader(readHead(rig.flash.active), readHead(rig.flash.slots[slot])), `${what}: xs has its header`);
  assert.ok(mappedMatches(rig.flash.active, rig.flash.slots[slot], (record as { size: number }).size), `${what}: xs is whole`);
  assert.equal(rig.mods.status().mod?.state, "valid", `${what}: status`);
}

interface Sweep {
  /** Flash operations of the update without a cut: each is cut once. */
  ops: number;
  installOps: number;
  switchOps: number;
  /** Boots it took, over all the runs. */
  boots: number;
}

/** Runs `update` on a board running v1 with the power cut at op 1, 2, ... until a run has no cut. */
function sweep(update: Uint8Array, check: (rig: ModRig, cutAt: number | undefined, installOps: number) => void): Sweep {
  // a run without a cut: how many operations, and where the install ends
  const clean = runningV1();
  const start = clean.flash.power.ops;
  assert.equal(clean.install(update), undefined);
  const installOps = clean.flash.power.ops - start;
  clean.mods.stagedRestart();
  const switchOps = clean.flash.power.ops - start - installOps;
  settle(clean);
  const ops = clean.flash.power.ops - start;
  check(clean, undefined, installOps);
  let boots = 0;
  for (let n = 1; n <= ops; n++) {
    const rig = runningV1();
    rig.flash.power.arm(n);
    // a cut in the install ends it (the download is lost); otherwise the switch, or else a boot, takes it
    if (powered(rig, () => rig.install(update))) powered(rig, () => rig.mods.stagedRestart());
    boots += settle(rig);
    check(rig, n, installOps);
  }
  return { ops, installOps, switchOps, boots };
}

test("power cuts: install + switch + first boot (mapping) + confirm, cut at every flash operation", () => {
  const v2 = demoMod("app", "2.0.0", { codeSize: 7000 });
  const result = sweep(v2, (rig, cutAt, installOps) => {
    const what = cutAt === undefined ? "no cut" : `cut at op ${cutAt}`;
    const newOne = cutAt === undefined || cutAt > installOps;
    assertSettled(rig, newOne ? "app@2.0.0" : "app@1.0.0", what);
    const last = new ModStore(rig.store).load().last;
    assert.deepEqual(last, { name: "app", version: newOne ? "2.0.0" : "1.0.0", result: "valid" }, `${what}: last outcome`);
  });
  // install: erase, 2 pieces, head; switch: erase, 2 pieces, head; first boot: XS remaps sector 0 (erase + write)
  assert.deepEqual([result.installOps, result.switchOps, result.ops], [4, 4, 10]);
});

test("power cuts: a rollback (the new mod fails its check), cut at every flash operation", () => {
  const v2 = demoMod("app", "2.0.0", { codeSize: 7000, twin: "fail-check" });
  const result = sweep(v2, (rig, cutAt, installOps) => {
    const what = cutAt === undefined ? "no cut" : `cut at op ${cutAt}`;
    assertSettled(rig, "app@1.0.0", what);
    const last = new ModStore(rig.store).load().last;
    if (cutAt !== undefined && cutAt <= installOps) assert.deepEqual(last, { name: "app", version: "1.0.0", result: "valid" }, what);
    else assert.deepEqual(last, { name: "app", version: "2.0.0", result: "rolled-back", reason: "app sensor: sensor not found" }, what);
  });
  // then the rollback: the old mod copied back (erase, 2 pieces, head) and mapped again at the next boot (erase + write)
  assert.deepEqual([result.installOps, result.switchOps, result.ops], [4, 4, 16]);
});

test("power cuts: a crash of the new mod then a rollback, cut at every flash operation", () => {
  const v2 = demoMod("app", "2.0.0", { codeSize: 7000, twin: "crash" });
  const result = sweep(v2, (rig, cutAt) => assertSettled(rig, "app@1.0.0", cutAt === undefined ? "no cut" : `cut at op ${cutAt}`));
  assert.deepEqual([result.installOps, result.switchOps, result.ops], [4, 4, 16]);
});

test("power cuts: a mod whose IDEN straddles two sectors (XS remaps both; a cut between them makes XS refuse the half-mapped copy)", () => {
  const symbols = ["", "default", "trace"];
  for (let i = 0; i < 210; i++) symbols.push(`symbol_number_${i}`);
  const v2 = buildArchive({ archiveName: "tech.moddable.app", symbols, modules: [{ path: "mod", code: new Uint8Array(3000).fill(0x21) }], info: { name: "app", version: "2.0.0" } });
  const result = sweep(v2, (rig, cutAt, installOps) => {
    const what = cutAt === undefined ? "no cut" : `cut at op ${cutAt}`;
    assertSettled(rig, cutAt === undefined || cutAt > installOps ? "app@2.0.0" : "app@1.0.0", what);
  });
  // the first boot's mapping rewrites sectors 0 and 1 (IDEN across them, then CODE's ids): two erases and two writes
  assert.equal(result.ops, result.installOps + result.switchOps + 4);
});

// The mod facade at boot and after (modules/core/mods/mod-boot.ts): decisions,
// confirm, rollback on a throw, a failed check, a timeout, a reset, an XS_E;
// goBack, remove, status, blocked (Node and XS).
import { test, assert } from "../../harness/t";
import { ModStore } from "../../../modules/core/mods/mod-store";
import { mappedMatches, readHead } from "../../../modules/core/mods/activate";
import { demoMod } from "../../../tools/xs-archive";
import { ModRig } from "../../fakes/mod-rig";

const v1 = demoMod("app", "1.0.0", { codeSize: 5000 });
const state = (rig: ModRig) => new ModStore(rig.store).load();

/** xs holds the mod of `slot`, as mapped (the check the sweep uses too). */
function xsHolds(rig: ModRig, slot: 0 | 1): boolean {
  const record = state(rig).slots[slot];
  return !!record && mappedMatches(rig.flash.active, rig.flash.slots[slot], record.size);
}

function runningV1(): ModRig {
  const rig = new ModRig();
  assert.equal(rig.install(v1), undefined);
  assert.equal(rig.mods.status().staged?.version, "1.0.0");
  rig.mods.stagedRestart();
  assert.equal(rig.system.restarts, 1);
  assert.equal(rig.boot(), "run");
  assert.equal(rig.mods.status().mod?.state, "pending");
  rig.settle();
  return rig;
}

test("mod boot: install, switch, first boot maps it, the checks pass: confirmed", () => {
  const rig = runningV1();
  assert.deepEqual(rig.mods.status(), { mod: { name: "app", version: "1.0.0", state: "valid" }, lastModUpdate: { name: "app", version: "1.0.0", result: "valid" } });
  assert.equal(rig.mods.installed(), "app@1.0.0");
  assert.equal(rig.mods.running(), "app@1.0.0");
  assert.deepEqual(rig.host.started, ["app@1.0.0"]);
  assert.ok(xsHolds(rig, 0));
  assert.equal(state(rig).pending, null);
  // next boot: nothing to do, the mod runs
  assert.equal(rig.boot(), "run");
  assert.equal(rig.mods.status().mod?.state, "valid");
  assert.equal(rig.host.result?.mapped && rig.host.result.wrote, false, "already mapped: XS writes nothing");
});

test("mod boot: no mod installed: none, the host starts nothing", () => {
  const rig = new ModRig();
  assert.equal(rig.boot(), "none");
  assert.deepEqual(rig.mods.status(), { mod: null });
  assert.deepEqual(rig.host.started, []);
  assert.equal(rig.mods.installed(), undefined);
});

for (const [behaviour, reason] of [
  ["throw", /threw at start-up: Error: app threw at start/],
  ["fail-check", /app sensor: sensor not found/],
  ["wait-check", /app cloud: not reached after 10 s/],
] as const) {
  test(`mod boot: a new mod that ${behaviour}s is rolled back to the previous mod`, () => {
    const rig = runningV1();
    assert.equal(rig.install(demoMod("app", "2.0.0", { codeSize: 4000, twin: behaviour })), undefined);
    rig.mods.stagedRestart();
    assert.equal(rig.boot(), behaviour === "throw" ? "restart" : "run");
    rig.settle();
    assert.equal(rig.system.restarts, 1, "restarted after the rollback");
    const s = state(rig);
    assert.equal(s.xs, 0);
    assert.match(s.last?.reason ?? "", reason);
    assert.equal(s.last?.result, "rolled-back");
    assert.ok(xsHolds(rig, 0), "xs holds the previous mod (up to mapping)");
    assert.equal(rig.boot(), "run");
    assert.deepEqual(rig.mods.status().mod, { name: "app", version: "1.0.0", state: "valid" });
    assert.deepEqual(rig.mods.status().lastModUpdate, { name: "app", version: "2.0.0", result: "rolled-back", reason: s.last?.reason });
    assert.equal(rig.mods.status().previous, undefined, "the failed mod is not offered by Go back");
    assert.match(rig.mods.goBack() ?? "", /app@2\.0\.0 failed before/);
  });
}

test("mod boot: a new mod that resets the board before its verdict is rolled back at the next boot", () => {
  const rig = runningV1();
  assert.equal(rig.install(demoMod("app", "2.0.0", { twin: "crash" })), undefined);
  rig.mods.stagedRestart();
  assert.equal(rig.boot(), "reset");
  assert.equal(state(rig).pending?.tries, 1);
  assert.equal(rig.boot(), "restart");
  assert.match(state(rig).last?.reason ?? "", /reset the board before its start-up check finished/);
  assert.equal(rig.boot(), "run");
  assert.equal(rig.mods.running(), "app@1.0.0");
});

test("mod boot: the first mod failing leaves no mod (removed), recorded as rolled back", () => {
  const rig = new ModRig();
  assert.equal(rig.install(demoMod("app", "1.0.0", { twin: "fail-check" })), undefined);
  rig.mods.stagedRestart();
  assert.equal(rig.boot(), "run");
  rig.settle();
  assert.equal(rig.system.restarts, 1);
  assert.equal(readHead(rig.flash.active).kind, "none");
  assert.equal(rig.boot(), "none");
  assert.deepEqual(rig.mods.status(), { mod: null, lastModUpdate: { name: "app", version: "1.0.0", result: "rolled-back", reason: "app sensor: sensor not found" } });
});

test("mod boot: XS refuses the mod (XS_E): rolled back, with XS's status", () => {
  const rig = runningV1();
  assert.equal(rig.install(demoMod("app", "2.0.0")), undefined);
  rig.mods.stagedRestart();
  // the firmware's XS is another minor than the one the sink saw (a firmware update in between)
  rig.opts.xs = { major: 17, minor: 8, patch: 0 };
  assert.equal(rig.boot(), "restart");
  assert.equal(readHead(rig.flash.active).kind, "archive");
  assert.match(state(rig).last?.reason ?? "", /the firmware's XS refused it \(fatal check\)/);
  rig.opts.xs = undefined;
  assert.equal(rig.boot(), "run");
  assert.equal(rig.mods.running(), "app@1.0.0");
});

test("mod boot: a firmware update remaps the running mod; a cut remap is copied again", () => {
  const rig = runningV1();
  rig.seed = 2;
  assert.equal(rig.boot(), "run");
  assert.equal(rig.host.result?.mapped && rig.host.result.wrote, true, "remapped with the new firmware's ids");
  rig.seed = 3;
  rig.power();
  rig.flash.power.arm(2); // VM creation: the first sector's erase, then its write: cut
  assert.throws(() => rig.host.createVm(), /power cut/);
  assert.equal(rig.boot(), "restart", "xs is not whole: copied again");
  assert.equal(rig.boot(), "run");
  assert.ok(xsHolds(rig, 0));
});

test("mod boot: goBack switches to the previous mod after the delay, judged as new; remove zeroes xs's head", () => {
  const rig = runningV1();
  assert.equal(rig.install(demoMod("app", "2.0.0")), undefined);
  rig.mods.stagedRestart();
  assert.equal(rig.boot(), "run");
  assert.match(rig.mods.goBack() ?? "", /still being checked/);
  rig.settle();
  assert.deepEqual(rig.mods.status().previous, { name: "app", version: "1.0.0" });
  assert.equal(rig.mods.goBack(), undefined);
  assert.equal(rig.mods.status().mod?.state, "restarting");
  assert.match(rig.mods.remove() ?? "", /restarting/);
  assert.ok(xsHolds(rig, 1), "nothing changes before the delay");
  rig.clock.advance(500);
  assert.equal(rig.system.restarts, 1);
  assert.ok(xsHolds(rig, 0));
  assert.equal(rig.boot(), "run");
  assert.equal(rig.mods.status().mod?.state, "pending");
  rig.settle();
  assert.equal(rig.mods.running(), "app@1.0.0");
  assert.equal(rig.mods.remove(), undefined);
  rig.clock.advance(500);
  assert.deepEqual(rig.flash.active.bytes.subarray(0, 16), new Uint8Array(16));
  assert.equal(rig.boot(), "none");
  assert.deepEqual(rig.mods.status().lastModUpdate, { name: "app", version: "1.0.0", result: "removed" });
  assert.match(rig.mods.remove() ?? "", /No app mod is installed/);
  assert.match(rig.mods.goBack() ?? "", /No app mod is running/);
});

test("mod boot: blocked while a mod is being checked or the firmware says so; the sink refuses while a switch is open", () => {
  let firmware: string | undefined;
  const rig = new ModRig({ firmwareBlocked: () => firmware });
  assert.equal(rig.mods.blocked(), undefined);
  firmware = "The new firmware is still being checked";
  assert.equal(rig.mods.blocked(), firmware);
  firmware = undefined;
  assert.equal(rig.install(v1), undefined);
  rig.mods.stagedRestart();
  assert.match(rig.mods.blocked() ?? "", /restarting/);
  assert.equal(rig.boot(), "run");
  assert.match(rig.mods.blocked() ?? "", /still being checked \(10 s left\)/);
  assert.match(rig.install(demoMod("app", "2.0.0")) ?? "", /switch is still open/);
  rig.settle();
  assert.equal(rig.mods.blocked(), undefined);
});

test("mod boot: a commit the board restarted before switching to is switched to at the next boot", () => {
  const rig = runningV1();
  assert.equal(rig.install(demoMod("app", "2.0.0")), undefined);
  assert.equal(rig.boot(), "restart", "staged: switched now");
  assert.equal(rig.boot(), "run");
  rig.settle();
  assert.equal(rig.mods.running(), "app@2.0.0");
});

test("mod boot: a copy that keeps failing is given up after maxCopies and rolled back", () => {
  const rig = runningV1();
  assert.equal(rig.install(demoMod("app", "2.0.0", { codeSize: 6000 })), undefined);
  rig.mods.stagedRestart();
  for (let i = 0; i < 3; i++) {
    // something clears 3 bytes of CODE in xs after every copy (XS maps it all the same)
    rig.flash.active.write(6001, new Uint8Array(3));
    assert.equal(rig.boot(), "restart", `boot ${i + 1}`);
    assert.equal(state(rig).pending?.copies, i < 2 ? i + 2 : 1, "copies counted; then the rollback's own copy");
  }
  assert.match(state(rig).last?.reason ?? "", /could not be copied into xs \(3 tries\)/);
  assert.equal(rig.boot(), "run");
  assert.equal(rig.mods.running(), "app@1.0.0");
});

test("mod boot: an XS_E over a mod this XS takes is a damaged copy (a cut mapping): copied again, not blamed on the mod", () => {
  const rig = runningV1();
  assert.equal(rig.install(demoMod("app", "2.0.0", { codeSize: 6000 })), undefined);
  rig.mods.stagedRestart();
  // what a cut mapping of a mod with a large SYMB can leave: IDEN half rewritten, fxMapArchive then fails its checks
  rig.flash.active.write(4096, new Uint8Array(64));
  rig.flash.active.write(44, new Uint8Array(8)); // NAME's atom header zeroed: a layout XS refuses
  assert.equal(rig.boot(), "restart");
  assert.deepEqual(readHead(rig.flash.active), readHead(rig.flash.slots[1]), "copied again");
  assert.equal(state(rig).pending?.copies, 2);
  assert.equal(rig.boot(), "run");
  rig.settle();
  assert.equal(rig.mods.running(), "app@2.0.0");
});

// The boot validation policy on fakes (runs on Node and inside XS): a new image
// is confirmed only when every start-up check passes within the window, else
// marked invalid and the board restarts into the previous image; what happened
// to the last update is settled at each boot from the journal.
import { test, assert } from "../../harness/t";
import type { OtaImageState } from "../../../modules/core/ports";
import { BootPolicy, type BootPolicyOptions } from "../../../modules/core/boot/policy";
import { BootJournal, LAST_KEY, PENDING_KEY } from "../../../modules/core/boot/journal";
import type { CheckResult, StartupCheck } from "../../../modules/core/boot/checks";
import { FakeClock } from "../../fakes/clock";
import { FakeFlash } from "../../fakes/flash";
import { MemoryStore } from "../../fakes/store";
import { FakeSystem } from "../../fakes/device";
import { buildImage } from "../../fakes/image";
import { buildAppImage } from "../../fakes/app-image";

const NEW_IMAGE = buildImage({ size: 4096, seed: 3, version: "2.1.0" });
const OLD_IMAGE = buildImage({ size: 4096, seed: 4, version: "2.0.0" });

interface Board {
  flash: FakeFlash;
  store: MemoryStore;
  clock: FakeClock;
  system: FakeSystem;
  policy: BootPolicy;
  log: string[];
}

/** A board running `NEW_IMAGE` in ota_0 in `state`, with `OLD_IMAGE` in ota_1 unless `other` is false. */
function board(state: OtaImageState, checks: StartupCheck[], options: BootPolicyOptions = {}, other = true, store = new MemoryStore()): Board {
  const flash = new FakeFlash({ slotSize: 65536, runningImage: NEW_IMAGE, runningState: state, otherImage: other ? OLD_IMAGE : undefined });
  const clock = new FakeClock();
  const system = new FakeSystem();
  const log: string[] = [];
  const policy = new BootPolicy({ boot: flash.boot, store, clock, system, log: (l) => log.push(l) }, { windowMs: 10_000, pollMs: 1000, ...options });
  for (const check of checks) policy.addCheck(check);
  policy.start();
  return { flash, store, clock, system, policy, log };
}

/** A check whose answer the test sets. */
function scripted(name: string, result: CheckResult = "pass"): StartupCheck & { result: CheckResult; polls: number; stopped: number } {
  const check = {
    name,
    result,
    polls: 0,
    stopped: 0,
    poll() {
      check.polls++;
      return check.result;
    },
    stop() {
      check.stopped++;
    },
  };
  return check;
}

test("every check passes: the pending image is marked valid and the outcome recorded", () => {
  const a = scripted("portal");
  const b = scripted("station", { wait: "not joined" });
  const x = board("pending-verify", [a, b]);
  assert.equal(x.policy.status().phase, "checking");
  x.clock.advance(0);
  assert.equal(x.flash.boot.markedValid, 0, "not while one check waits");
  assert.equal(x.policy.status().waitingFor, "station: not joined");
  assert.match(x.policy.blocked() ?? "", /still being checked \(10 s left\)/);
  b.result = "pass";
  x.clock.advance(1000);
  assert.equal(x.flash.boot.markedValid, 1);
  assert.equal(x.flash.states[0], "valid");
  const status = x.policy.status();
  assert.equal(status.phase, "confirmed");
  assert.equal(status.otaState, "valid");
  assert.deepEqual(status.lastUpdate, { version: "2.1.0", result: "valid" });
  assert.equal(x.store.get(PENDING_KEY), undefined);
  assert.equal(a.polls, 1, "a passed check is not asked again");
  assert.equal(a.stopped + b.stopped, 2, "every check is stopped when the window closes");
  assert.equal(x.policy.blocked(), undefined);
  assert.equal(x.flash.boot.restarts, 0);
});

test("a check still waiting when the window closes: marked invalid, restart into the previous image", () => {
  const x = board("pending-verify", [scripted("Wi-Fi station", { wait: "not joined to home" })]);
  x.clock.advance(9000);
  assert.equal(x.flash.boot.restarts, 0, "still inside the window");
  assert.equal(x.policy.status().remainingMs, 1000);
  x.clock.advance(1000);
  assert.equal(x.flash.boot.restarts, 1);
  assert.equal(x.flash.states[0], "invalid");
  assert.equal(x.flash.bootSlot, 1, "the bootloader will start the previous image");
  assert.equal(x.policy.status().phase, "rolling-back");
  const last = new BootJournal(x.store).last();
  assert.deepEqual(last, { version: "2.1.0", result: "rolled-back", reason: "Wi-Fi station: not joined to home after 10 s" });
  assert.equal(x.policy.blocked(), "The board is going back to the previous firmware");
  assert.equal(x.flash.boot.markedValid, 0);
});

test("a check that fails outright rolls back at once, without waiting for the window", () => {
  const x = board("pending-verify", [scripted("sensor", { fail: "no reply on I2C" })]);
  x.clock.advance(0);
  assert.equal(x.flash.boot.restarts, 1);
  assert.equal(new BootJournal(x.store).last()?.reason, "sensor: no reply on I2C");
});

test("nothing else boots (ESP_ERR_OTA_ROLLBACK_FAILED): the image keeps running, marked valid, the update recorded as failed", () => {
  const x = board("pending-verify", [scripted("portal", { fail: "answered 500" })], {}, false);
  x.clock.advance(0);
  assert.equal(x.flash.boot.restarts, 0);
  assert.equal(x.flash.states[0], "valid", "left pending, the next reset would abort the only image");
  const last = new BootJournal(x.store).last();
  assert.equal(last?.result, "failed");
  assert.match(last?.reason ?? "", /^portal: answered 500; no other firmware to go back to/);
  assert.equal(x.policy.status().phase, "idle");
  assert.equal(x.policy.blocked(), undefined, "updates may fix it");
});

test("a failed mark-valid (flash write error) is tried again at the next poll", () => {
  const x = board("pending-verify", [scripted("portal")]);
  const markValid = x.flash.boot.markValid.bind(x.flash.boot);
  let failures = 1;
  x.flash.boot.markValid = () => {
    if (failures-- > 0) throw new Error("esp_partition_write failed");
    markValid();
  };
  x.clock.advance(0);
  assert.equal(x.policy.status().phase, "checking");
  assert.ok(x.log.some((l) => /marking 2\.1\.0 valid failed: esp_partition_write failed/.test(l)));
  x.clock.advance(1000);
  assert.equal(x.policy.status().phase, "confirmed");
  assert.equal(x.flash.states[0], "valid");
});

test("a reset before the verdict: at the next boot the journal says the new image was rolled back by the bootloader", () => {
  const store = new MemoryStore();
  new BootJournal(store).setPending({ partition: "ota_1", version: "3.0.0" });
  // ota_0 runs (valid): the bootloader marked the pending ota_1 ABORTED and came back here.
  const x = board("valid", [scripted("portal")], {}, true, store);
  assert.equal(x.policy.status().phase, "idle");
  const last = x.policy.status().lastUpdate;
  assert.equal(last?.version, "3.0.0");
  assert.equal(last?.result, "rolled-back");
  assert.match(last?.reason ?? "", /bootloader went back/);
  assert.equal(store.get(PENDING_KEY), undefined);
  assert.equal(x.flash.boot.markedValid, 0);
});

test("a reset between mark-valid and the record: the next boot settles it as valid", () => {
  const store = new MemoryStore();
  new BootJournal(store).setPending({ partition: "ota_0", version: "2.1.0" });
  const x = board("valid", [], {}, true, store);
  assert.deepEqual(x.policy.status().lastUpdate, { version: "2.1.0", result: "valid" });
});

test("state NEW at start (a bootloader without rollback): checked the same way, and the page is told", () => {
  const x = board("new", [scripted("portal")]);
  assert.equal(x.policy.status().bootloaderWithoutRollback, true);
  x.clock.advance(0);
  assert.equal(x.flash.states[0], "valid");
  assert.equal(board("pending-verify", []).policy.status().bootloaderWithoutRollback, undefined);
});

test("a valid image with nothing pending: no checks run, nothing is written", () => {
  const check = scripted("portal");
  const x = board("valid", [check]);
  x.clock.advance(60_000);
  assert.equal(check.polls, 0);
  assert.equal(x.store.data.size, 0);
  assert.equal(x.policy.status().phase, "idle");
  assert.throws(() => x.policy.addCheck(scripted("late")), /before start/);
});

test("go back: the other slot's image is switched to, the restart follows after the page had its answer", () => {
  const x = board("valid", [], { restartDelayMs: 1000 });
  assert.deepEqual(x.policy.status().previous, { partition: "ota_1", state: "valid", bootable: true, app: { version: "2.0.0", projectName: "ota-demo", secureVersion: 0 } });
  assert.equal(x.policy.goBack(), undefined);
  assert.equal(x.flash.bootSlot, 1);
  assert.equal(x.flash.states[1], "new");
  assert.equal(x.system.restarts, 0);
  x.clock.advance(1000);
  assert.equal(x.system.restarts, 1);
  assert.deepEqual(new BootJournal(x.store).pending(), { partition: "ota_1", version: "2.0.0" });
  assert.equal(x.policy.goBack(), "The board is going back to the previous firmware", "once is enough");
});

test("go back is refused without a bootable image and while the new image is being checked", () => {
  const empty = board("valid", [], {}, false);
  assert.equal(empty.policy.goBack(), "ota_1 holds no bootable firmware");
  assert.equal(empty.flash.bootSlot, 0);
  const checking = board("pending-verify", [scripted("portal", { wait: "no answer yet" })]);
  assert.match(checking.policy.goBack() ?? "", /still being checked/);
  assert.equal(checking.flash.bootSlot, 0);
  const rolled = board("valid", [], {}, true);
  rolled.flash.states[1] = "invalid";
  assert.equal(rolled.policy.goBack(), "ota_1 holds no bootable firmware");
});

test("go back while a failed image is rolling back: refused, and neither the journal nor the boot slot is touched", () => {
  const x = board("pending-verify", [scripted("sensor", { fail: "no reply on I2C" })]);
  x.clock.advance(0);
  assert.equal(x.policy.status().phase, "rolling-back");
  const last = new BootJournal(x.store).last();
  assert.equal(x.policy.goBack(), "The board is going back to the previous firmware");
  assert.deepEqual(new BootJournal(x.store).last(), last, "still the rollback's record");
  assert.equal(new BootJournal(x.store).pending(), undefined, "no Go back pending");
  assert.equal(x.flash.states[1], "valid", "the previous image was not set NEW by a second switch");
  x.clock.advance(60_000);
  assert.equal(x.system.restarts, 0, "no second restart scheduled (the rollback's is the bootloader's)");
});

test("go back whose boot switch fails (esp_ota_set_boot_partition refuses): said so, recorded as failed, no pending record left for the next boot to call a rollback, no restart", () => {
  const x = board("valid", []);
  assert.equal(x.policy.status().previous.bootable, true);
  x.flash.intact[1] = false; // the image went bad after the page was drawn: bootOther() throws
  const refused = "Cannot start 2.0.0: esp_ota_set_boot_partition: image does not verify (ESP_ERR_OTA_VALIDATE_FAILED)";
  assert.equal(x.policy.goBack(), refused);
  const failed = { version: "2.0.0", result: "failed", reason: "esp_ota_set_boot_partition: image does not verify (ESP_ERR_OTA_VALIDATE_FAILED)" };
  assert.deepEqual(new BootJournal(x.store).last(), failed);
  assert.equal(x.store.get(PENDING_KEY), undefined);
  assert.equal(x.flash.bootSlot, 0);
  x.clock.advance(60_000);
  assert.equal(x.system.restarts, 0);
  assert.equal(x.policy.blocked(), undefined, "not left 'going back'");
  // the next boot (a reset, the same image) reports the failure, not a rollback that never happened
  const next = board("valid", [], {}, true, x.store);
  assert.deepEqual(next.policy.status().lastUpdate, failed);
});

test("start() twice: the window opens once (one poll per period, one deadline), and a settled record is not settled again", () => {
  const check = scripted("station", { wait: "not joined" });
  const x = board("pending-verify", [check]);
  x.clock.advance(4000);
  x.policy.start();
  const polls = check.polls;
  x.clock.advance(1000);
  assert.equal(check.polls, polls + 1, "one timer");
  x.clock.advance(5000);
  assert.equal(x.flash.boot.restarts, 1, "the window still closes 10 s after the first start()");
  const store = new MemoryStore();
  new BootJournal(store).setPending({ partition: "ota_1", version: "3.0.0" });
  const y = board("valid", [], {}, true, store);
  new BootJournal(store).settle({ version: "3.1.0", result: "failed", reason: "later" });
  new BootJournal(store).setPending({ partition: "ota_1", version: "3.2.0" });
  y.policy.start();
  assert.deepEqual(new BootJournal(store).pending(), { partition: "ota_1", version: "3.2.0" }, "a later pending record is not settled by a second start()");
});

test("the console says each step: the window opening, a confirm, a rollback, a rollback that cannot happen, a reset the bootloader undid", () => {
  const ok = board("pending-verify", [scripted("portal")]);
  ok.clock.advance(0);
  assert.deepEqual(ok.log, ["boot: 2.1.0 in ota_0 is pending-verify; start-up checks have 10 s", "boot: 2.1.0 passed its start-up checks and is confirmed"]);
  const bad = board("pending-verify", [scripted("sensor", { fail: "no reply" })]);
  bad.clock.advance(0);
  assert.deepEqual(bad.log.slice(1), ["boot: 2.1.0 failed its start-up check (sensor: no reply); rolling back"]);
  const alone = board("pending-verify", [scripted("sensor", { fail: "no reply" })], {}, false);
  alone.clock.advance(0);
  assert.deepEqual(alone.log.slice(2), ["boot: cannot roll back (Rollback is not possible, do not have any suitable apps in slots (ESP_ERR_OTA_ROLLBACK_FAILED)); keeping 2.1.0"]);
  const store = new MemoryStore();
  new BootJournal(store).setPending({ partition: "ota_1", version: "3.0.0" });
  assert.deepEqual(board("valid", [], {}, true, store).log, ["boot: 3.0.0 in ota_1 did not start; the bootloader went back to ota_0"]);
  const back = board("valid", []);
  back.policy.goBack();
  assert.deepEqual(back.log, ["boot: going back to 2.0.0 in ota_1"]);
});

test("a running image without an app description: named by the journal's pending record, else 'the new firmware'", () => {
  for (const [pending, name] of [[{ partition: "ota_0", version: "2.5.0" }, "2.5.0"], [undefined, "the new firmware"]] as const) {
    const store = new MemoryStore();
    if (pending) new BootJournal(store).setPending(pending);
    const flash = new FakeFlash({ slotSize: 65536, runningImage: buildImage({ size: 4096, seed: 7 }), runningState: "pending-verify", otherImage: OLD_IMAGE });
    const clock = new FakeClock();
    const policy = new BootPolicy({ boot: flash.boot, store, clock, system: new FakeSystem() }, { windowMs: 10_000 });
    policy.addCheck(scripted("portal"));
    policy.start();
    assert.match(policy.blocked() ?? "", /still being checked/);
    clock.advance(0);
    assert.deepEqual(policy.status().lastUpdate, { version: name, result: "valid" });
  }
});

test("a start-up check without stop(): the window closes without it; custom poll period and Go back delay are kept", () => {
  const bare: StartupCheck = { name: "bare", poll: () => "pass" };
  const x = board("pending-verify", [bare]);
  x.clock.advance(0);
  assert.equal(x.policy.status().phase, "confirmed");
  const check = scripted("station", { wait: "not joined" });
  const y = board("pending-verify", [check], { pollMs: 250 });
  y.clock.advance(0);
  y.clock.advance(750);
  assert.equal(check.polls, 4, "polled at 0, 250, 500 and 750 ms");
  const z = board("valid", [], { restartDelayMs: 300 });
  z.policy.goBack();
  z.clock.advance(299);
  assert.equal(z.system.restarts, 0);
  z.clock.advance(1);
  assert.equal(z.system.restarts, 1);
});

test("status() carries only what applies: no last update, window, wait, warning or refusal on a plain valid board", () => {
  const x = board("valid", []);
  assert.deepEqual(Object.keys(x.policy.status()).sort(), ["otaState", "phase", "previous", "running"]);
  const y = board("pending-verify", [scripted("portal")]);
  assert.deepEqual(Object.keys(y.policy.status()).sort(), ["otaState", "phase", "previous", "remainingMs", "running"], "checking, before the first poll: nothing waited for yet");
});

test("go back on a board that keeps its secure_version: refused to an older secure_version, with the reason in status; allowed to an equal one", () => {
  const store = new MemoryStore();
  const flash = new FakeFlash({ slotSize: 65536, runningImage: buildAppImage({ size: 4096, seed: 3, version: "2.1.0", secureVersion: 2 }), runningState: "valid", otherImage: buildAppImage({ size: 4096, seed: 4, version: "2.0.0", secureVersion: 1 }) });
  const system = new FakeSystem();
  const keeping = new BootPolicy({ boot: flash.boot, store, clock: new FakeClock(), system }, { keepSecureVersion: true });
  keeping.start();
  const reason = "2.0.0 cannot be started again: its secure_version 1 is lower than the running firmware's 2";
  assert.equal(keeping.status().goBackRefused, reason);
  assert.equal(keeping.status().previous.bootable, true, "the bootloader could still boot it");
  assert.equal(keeping.goBack(), reason);
  assert.equal(flash.bootSlot, 0);
  assert.equal(system.restarts, 0);
  assert.equal(new BootJournal(store).pending(), undefined);
  // Without the option (signatures off) the same board goes back.
  const plain = new BootPolicy({ boot: flash.boot, store, clock: new FakeClock(), system }, {});
  plain.start();
  assert.equal(plain.status().goBackRefused, undefined);
  assert.equal(plain.goBack(), undefined);
  // An equal secure_version is no downgrade.
  const same = board("valid", [], { keepSecureVersion: true });
  assert.equal(same.policy.status().goBackRefused, undefined);
  assert.equal(same.policy.goBack(), undefined);
});

test("the updater's records: committing names the update slot, a failure settles at once", () => {
  const x = board("valid", []);
  x.policy.committing("2.2.0");
  assert.deepEqual(new BootJournal(x.store).pending(), { partition: "ota_1", version: "2.2.0" });
  x.policy.failed("2.3.0", "MD5 mismatch: the download was corrupted");
  assert.deepEqual(x.policy.lastUpdate(), { version: "2.3.0", result: "failed", reason: "MD5 mismatch: the download was corrupted" });
  assert.equal(x.store.get(PENDING_KEY), undefined);
  // writing() forgets the other slot: it is being erased
  assert.equal(x.policy.status().previous.bootable, true);
  x.flash.intact[1] = false;
  assert.equal(x.policy.status().previous.bootable, true, "cached until the slot is written");
  x.policy.writing();
  assert.equal(x.policy.status().previous.bootable, false);
});

test("journal: damaged or foreign records read as none; long reasons are cut", () => {
  const store = new MemoryStore({ [PENDING_KEY]: "{not json", [LAST_KEY]: '{"version":"1","result":"exploded"}' });
  const journal = new BootJournal(store);
  assert.equal(journal.pending(), undefined);
  assert.equal(journal.last(), undefined);
  store.set(PENDING_KEY, "[1,2]");
  assert.equal(journal.pending(), undefined);
  journal.settle({ version: "1.0.0", result: "rolled-back", reason: "x".repeat(500) });
  assert.equal(journal.last()?.reason?.length, 200);
});

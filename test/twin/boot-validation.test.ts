// Boot validation on the whole twin without a browser: real update server,
// real HTTP on loopback, the twin's bootloader with rollback. A broken image
// boots pending, fails its start-up check and is rolled back; a reset before
// the check passes is rolled back by the bootloader; "Go back" boots the
// previous image; a power cut in the commit leaves a bootable board.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildImage } from "../../tools/esp-image";
import { OTADATA_SECTOR, OtaState, slotState } from "../../twin/flash/otadata";
import { startStack, type Stack } from "../support/stack";
import { loadCatalog, startUpdate, status, waitForEnd, waitForStatus, waitForValid } from "../support/portal-client";

const entryState = (s: Stack, slot: number) => slotState(s.twin.flash.readOtadata(), slot, 2);

async function install(s: Stack, name: string): Promise<void> {
  await loadCatalog(s.twin.url);
  const started = await startUpdate(s.twin.url, name);
  assert.equal(started.status, 202, started.body.error);
  const end = await waitForEnd(s.twin.url);
  assert.equal(end.phase, "done", end.error);
}

test("the broken demo image: boots pending-verify, never joins Wi-Fi, is marked invalid and the board goes back", async () => {
  const s = await startStack({ twin: { requirePassword: false, boot: { windowMs: 1500, pollMs: 100 } } });
  try {
    await install(s, "demo-broken-2.1.0.bin");
    const pending = await waitForStatus(s.twin.url, (j) => j.version === "2.1.0", "booted 2.1.0");
    assert.equal(pending.otaState, "pending-verify");
    assert.equal(pending.validation.phase, "checking");
    assert.equal(pending.station.connected, false);
    assert.equal(entryState(s, 1), OtaState.PENDING_VERIFY);
    const back = await waitForStatus(s.twin.url, (j) => j.version === "1.0.0" && j.boot !== pending.boot, "rolled back to 1.0.0");
    assert.deepEqual(back.lastUpdate, { version: "2.1.0", result: "rolled-back" });
    assert.match(back.validation.reason ?? "", /^Wi-Fi station: not joined to TwinLAN after 1\.5 s$/);
    assert.equal(back.partition, "ota_0");
    assert.equal(back.otaState, "valid");
    assert.deepEqual(back.previous, { partition: "ota_1", version: "2.1.0", bootable: false });
    assert.equal(entryState(s, 1), OtaState.INVALID);
    const home = await (await fetch(s.twin.url)).text();
    assert.match(home, /2\.1\.0 failed its start-up check and was rolled back; running 1\.0\.0/);
    assert.doesNotMatch(home, /rollback-form/, "no way back to the broken image");
  } finally {
    await s.stop();
  }
});

test("a good image is confirmed after its checks; Go back then restarts into the previous image, which is checked in turn", async () => {
  const s = await startStack({ twin: { requirePassword: false } });
  try {
    await install(s, "demo-1.1.0.bin");
    await s.twin.booted(2);
    const valid = await waitForValid(s.twin.url);
    assert.equal(valid.version, "1.1.0");
    assert.equal(entryState(s, 1), OtaState.VALID);
    assert.deepEqual(valid.previous, { partition: "ota_0", version: "1.0.0", bootable: true });
    const r = await fetch(new URL("/api/rollback", s.twin.url), { method: "POST" });
    assert.deepEqual(await r.json(), { ok: true, version: "1.0.0" });
    await s.twin.booted(3);
    const back = await waitForValid(s.twin.url);
    assert.equal(back.version, "1.0.0");
    assert.equal(back.partition, "ota_0");
    assert.deepEqual(back.lastUpdate, { version: "1.0.0", result: "valid" });
    assert.deepEqual(back.previous, { partition: "ota_1", version: "1.1.0", bootable: true });
  } finally {
    await s.stop();
  }
});

test("a reset before the check passes (a crash, the watchdog): the bootloader marks it ABORTED and the old image runs", async () => {
  const crash = buildImage({ version: "3.0.0", size: 200_000, projectName: "moddable-ota-demo", behaviour: "crash" });
  const s = await startStack({ twin: { requirePassword: false }, extra: { "demo-crash-3.0.0.bin": crash } });
  try {
    await install(s, "demo-crash-3.0.0.bin");
    await s.twin.booted(3); // 1.0.0, 3.0.0 (crashes), 1.0.0 again
    const back = await waitForValid(s.twin.url);
    assert.equal(back.version, "1.0.0");
    assert.equal(back.lastUpdate?.result, "rolled-back");
    assert.equal(back.lastUpdate?.version, "3.0.0");
    assert.match(back.validation.reason ?? "", /bootloader went back/);
    assert.equal(entryState(s, 1), OtaState.ABORTED);
  } finally {
    await s.stop();
  }
});

test("a power cut during the commit's otadata write: the twin boots again on one of its two images", async () => {
  const s = await startStack({ twin: { requirePassword: false } });
  try {
    const before = await status(s.twin.url);
    // the first otadata operation of the update is the commit's erase of the other sector; cut at the program after it
    s.twin.cutPower({ afterOps: 1, region: { offset: s.twin.flash.otadata.offset, length: s.twin.flash.otadata.size } });
    await loadCatalog(s.twin.url);
    await startUpdate(s.twin.url, "demo-1.1.0.bin");
    await s.twin.booted(2);
    const after = await waitForValid(s.twin.url);
    assert.notEqual(after.boot, before.boot);
    assert.ok(["1.0.0", "1.1.0"].includes(after.version), after.version);
    // The cut left sector 1 half programmed: its CRC fails, so sector 0 (1.0.0) still decides.
    assert.equal(after.version, "1.0.0");
    assert.equal(after.lastUpdate?.result, "rolled-back", "the journal had the commit open; the next boot settles it");
  } finally {
    await s.stop();
  }
});

test("Go back is offered only when esp_ota_check_rollback_is_possible says so, as on a board: an erased entry for the previous image (a power cut in its rewrite) withdraws it", async () => {
  const s = await startStack({ twin: { requirePassword: false } });
  try {
    await install(s, "demo-1.1.0.bin");
    await s.twin.booted(2);
    assert.deepEqual((await waitForValid(s.twin.url)).previous, { partition: "ota_0", version: "1.0.0", bootable: true });
    // The entry that names ota_0 (seq 1) is gone; 1.1.0's own entry (seq 2) still selects ota_1.
    const entries = s.twin.flash.readOtadata();
    const old = entries.findIndex((e) => e.seq === 1);
    s.twin.flash.chip.erase(s.twin.flash.otadata.offset + old * OTADATA_SECTOR, OTADATA_SECTOR);
    s.twin.reset();
    await s.twin.booted(3);
    const after = await waitForValid(s.twin.url);
    assert.equal(after.version, "1.1.0");
    assert.deepEqual(after.previous, { partition: "ota_0", version: "1.0.0", bootable: false });
    assert.doesNotMatch(await (await fetch(s.twin.url)).text(), /rollback-form/);
  } finally {
    await s.stop();
  }
});

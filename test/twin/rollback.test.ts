// The twin's bootloader and esp_ota_ops with CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE,
// asserted on otadata bytes (ESP-IDF bootloader_utility.c, esp_ota_ops.c), and
// power cuts at every flash operation of an OTA commit, a confirmation and the
// bootloader's own otadata writes: the board always boots one of its two images.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage } from "../../tools/esp-image";
import { DeviceFlash } from "../../twin/flash/device-flash";
import { boot, type BootResult } from "../../twin/flash/bootloader";
import { EspOta } from "../../twin/flash/esp-ota";
import { FlashOtaWriter } from "../../twin/flash/ota-writer";
import { PowerLoss } from "../../twin/flash/flash-file";
import { OtaState, slotState } from "../../twin/flash/otadata";

const ROLLBACK = { chipId: 0, chipRevision: 300, rollback: true };
const v100 = buildImage({ version: "1.0.0", size: 30_000 });
const v200 = buildImage({ version: "2.0.0", size: 34_000 });

function fresh(): DeviceFlash {
  return DeviceFlash.open(join(mkdtempSync(join(tmpdir(), "twin-rb-")), "flash.bin"), { firstApp: () => v100 });
}

/** Installs `image` from the running slot through esp_ota_begin/write/end + set_boot_partition. */
function install(flash: DeviceFlash, running: BootResult, image: Uint8Array): void {
  const writer = new FlashOtaWriter(flash, new EspOta(flash, running.slot, ROLLBACK));
  writer.begin(image.length);
  for (let at = 0; at < image.length; at += 4096) writer.write(image.subarray(at, at + 4096));
  writer.complete();
}

const state = (flash: DeviceFlash, slot: number) => slotState(flash.readOtadata(), slot, flash.slots.length);
const version = (r: BootResult) => r.app.descriptor.version;

test("a new image: NEW after the switch, PENDING_VERIFY when it boots, ABORTED at the next reset, and the previous image runs", () => {
  const flash = fresh();
  const first = boot(flash, ROLLBACK);
  assert.equal(state(flash, 0), OtaState.VALID, "set_actual_ota_seq writes VALID for the first boot");
  install(flash, first, v200);
  assert.equal(state(flash, 1), OtaState.NEW);
  const second = boot(flash, ROLLBACK);
  assert.equal(version(second), "2.0.0");
  assert.equal(state(flash, 1), OtaState.PENDING_VERIFY);
  const third = boot(flash, ROLLBACK); // reset before confirmation
  assert.equal(version(third), "1.0.0");
  assert.deepEqual(third.aborted, [1]);
  assert.equal(state(flash, 1), OtaState.ABORTED);
  assert.equal(version(boot(flash, ROLLBACK)), "1.0.0", "an aborted entry is never chosen again");
  flash.close();
});

test("confirmed with esp_ota_mark_app_valid_cancel_rollback: it stays across resets", () => {
  const flash = fresh();
  install(flash, boot(flash, ROLLBACK), v200);
  const second = boot(flash, ROLLBACK);
  const ota = new EspOta(flash, second.slot, ROLLBACK);
  assert.throws(() => new FlashOtaWriter(flash, ota).begin(1000), /ESP_ERR_OTA_ROLLBACK_INVALID_STATE/, "no update while unconfirmed");
  ota.markValid();
  assert.equal(state(flash, 1), OtaState.VALID);
  assert.equal(version(boot(flash, ROLLBACK)), "2.0.0");
  assert.equal(version(boot(flash, ROLLBACK)), "2.0.0");
  flash.close();
});

test("marked invalid: the previous image boots; without a valid previous entry the mark is refused", () => {
  const flash = fresh();
  const first = boot(flash, ROLLBACK);
  assert.throws(() => new EspOta(flash, first.slot, ROLLBACK).markInvalid(), /ESP_ERR_OTA_ROLLBACK_FAILED/, "nothing to go back to");
  install(flash, first, v200);
  const second = boot(flash, ROLLBACK);
  const ota = new EspOta(flash, second.slot, ROLLBACK);
  assert.equal(ota.rollbackPossible(), true);
  ota.markInvalid();
  assert.equal(state(flash, 1), OtaState.INVALID);
  assert.equal(version(boot(flash, ROLLBACK)), "1.0.0");
  // a damaged previous image makes the rollback impossible too
  const again = fresh();
  install(again, boot(again, ROLLBACK), v200);
  const running = boot(again, ROLLBACK);
  const damaged = again.slots[0].offset + 0x10100; // in the code segment (the padding before it is zeros)
  assert.notEqual(again.chip.read(damaged, 1)[0], 0);
  again.chip.write(damaged, Uint8Array.of(0));
  assert.equal(new EspOta(again, running.slot, ROLLBACK).rollbackPossible(), false);
  flash.close();
  again.close();
});

test("without rollback (Moddable's default sdkconfig) the switch writes UNDEFINED and an unconfirmed image stays", () => {
  const flash = fresh();
  const plain = { chipId: 0, chipRevision: 300, rollback: false };
  const writer = new FlashOtaWriter(flash, new EspOta(flash, boot(flash, plain).slot, plain));
  writer.begin(v200.length);
  writer.write(v200);
  writer.complete();
  assert.equal(state(flash, 1), OtaState.UNDEFINED);
  assert.equal(version(boot(flash, plain)), "2.0.0");
  assert.equal(version(boot(flash, plain)), "2.0.0");
  flash.close();
});

/** Runs `step` with a power cut armed after n operations in the otadata partition, for every n until a run completes. */
function everyCut(setUp: () => { flash: DeviceFlash; step: () => void }, check: (flash: DeviceFlash, cutAt: number | undefined) => void): number {
  for (let n = 0; ; n++) {
    const { flash, step } = setUp();
    flash.chip.armPowerCut({ afterOps: n, region: { offset: flash.otadata.offset, length: flash.otadata.size } });
    let cut = false;
    try {
      step();
    } catch (error) {
      if (!(error instanceof PowerLoss)) throw error;
      cut = true;
    }
    flash.chip.powerRestored();
    check(flash, cut ? n : undefined);
    flash.close();
    if (!cut) return n;
  }
}

test("a power cut at any flash operation of the commit's otadata write: the board boots 1.0.0 or 2.0.0", () => {
  const outcomes = new Set<string>();
  const ops = everyCut(
    () => {
      const flash = fresh();
      const first = boot(flash, ROLLBACK);
      const writer = new FlashOtaWriter(flash, new EspOta(flash, first.slot, ROLLBACK));
      writer.begin(v200.length);
      writer.write(v200);
      return { flash, step: () => writer.complete() };
    },
    (flash, cutAt) => {
      const booted = boot(flash, ROLLBACK); // throws NoBootableApp if the board were bricked
      outcomes.add(`${cutAt ?? "none"}:${version(booted)}`);
      if (cutAt === undefined) assert.equal(version(booted), "2.0.0");
    },
  );
  assert.ok(ops >= 2, "erase and program of the other sector");
  assert.ok([...outcomes].some((o) => o.endsWith(":1.0.0")), [...outcomes].join(" "));
});

test("a power cut at any flash operation of the bootloader's PENDING_VERIFY write, the ABORTED write and mark-valid: still bootable", () => {
  const installed = () => {
    const flash = fresh();
    install(flash, boot(flash, ROLLBACK), v200);
    return flash;
  };
  // the bootloader turning NEW into PENDING_VERIFY
  everyCut(
    () => {
      const flash = installed();
      return { flash, step: () => void boot(flash, ROLLBACK) };
    },
    (flash) => assert.ok(["1.0.0", "2.0.0"].includes(version(boot(flash, ROLLBACK)))),
  );
  // the bootloader turning PENDING_VERIFY into ABORTED
  everyCut(
    () => {
      const flash = installed();
      boot(flash, ROLLBACK);
      return { flash, step: () => void boot(flash, ROLLBACK) };
    },
    (flash) => assert.ok(["1.0.0", "2.0.0"].includes(version(boot(flash, ROLLBACK)))),
  );
  // the app confirming itself (rewrite_ota_seq on the active sector)
  everyCut(
    () => {
      const flash = installed();
      const running = boot(flash, ROLLBACK);
      return { flash, step: () => new EspOta(flash, running.slot, ROLLBACK).markValid() };
    },
    (flash, cutAt) => {
      const v = version(boot(flash, ROLLBACK));
      assert.ok(["1.0.0", "2.0.0"].includes(v));
      if (cutAt === undefined) assert.equal(v, "2.0.0");
    },
  );
});

test("a power cut in the middle of writing the new slot: the running image boots, otadata untouched", () => {
  const flash = fresh();
  const first = boot(flash, ROLLBACK);
  const before = Buffer.from(flash.chip.read(flash.otadata.offset, flash.otadata.size)).toString("hex");
  const writer = new FlashOtaWriter(flash, new EspOta(flash, first.slot, ROLLBACK));
  writer.begin(v200.length);
  flash.chip.armPowerCut({ afterOps: 3 });
  assert.throws(() => {
    for (let at = 0; at < v200.length; at += 4096) writer.write(v200.subarray(at, at + 4096));
  }, PowerLoss);
  assert.throws(() => flash.chip.write(0, Uint8Array.of(0)), PowerLoss, "nothing reaches the chip once the power is gone");
  flash.chip.powerRestored();
  assert.equal(Buffer.from(flash.chip.read(flash.otadata.offset, flash.otadata.size)).toString("hex"), before);
  assert.equal(version(boot(flash, ROLLBACK)), "1.0.0");
  flash.close();
});

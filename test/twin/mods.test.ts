// The twin runs mods (docs/architecture.md, "Mods"): its `xs` partition mapped
// at each boot with the firmware's XS (tools/xs-mapper.ts), the core's
// ModManager settling it and starting the mod, the mod's ota-mod.json saying
// what it does (tools/demo-mod-run.ts). Installs go through the boot's mod sink
// and the switch-and-restart, at the device level (the portal's mod routes are
// the core's). Ends with a power cut at every flash operation and every mod
// record write of an install, each followed by the twin's own reboots.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mappedMatches } from "../../modules/core/mods/activate";
import { MOD_STATE_KEY } from "../../modules/core/mods/mod-store";
import { demoMod, XS_8_2_3 } from "../../tools/xs-archive";
import { readModInfo } from "../../tools/xs-mapper";
import { Twin } from "../../twin/device";
import { EspOta } from "../../twin/flash/esp-ota";
import { FlashOtaWriter } from "../../twin/flash/ota-writer";
import { modRegion } from "../../twin/flash/flash-area";
import { PROJECT, XS_16_7, demoFirmwares, demoImage, demoModBytes, demoMods, type DemoModFile } from "../../twin/demo-catalog";
import { MOD_OTHER_KEY, MOD_UNSIGNED, writeSignedDemoCatalog } from "../../twin/demo-signing";
import { areaBytes, firmwareValid, installMod, modState, settled, sha256, startModTwin } from "../support/twin-mods";

const demo = (file: string): DemoModFile => {
  const m = demoMods().find((d) => d.file === file);
  if (!m) throw new Error(file);
  return m;
};
const HELLO_100 = demoModBytes(demo("hello-1.0.0.xsa"));
const HELLO_110 = demoModBytes(demo("hello-1.1.0.xsa"));

/** `xs` holds the mod in `slot`, as XS may have mapped it (mod-boot.ts mappedMatches). */
function xsHolds(twin: Twin, slot: 0 | 1, size: number): boolean {
  const mods = twin.flash.mods!;
  return mappedMatches(mods.active, mods.slots[slot], size);
}

function flashOps(twin: Twin): number {
  return twin.flash.chip.counters.sectorsErased + twin.flash.chip.counters.writes;
}

test("a new twin boots with no mod: xs erased, nothing mapped, Moddable 8.2.3's XS", async () => {
  const { twin, stop } = await startModTwin();
  try {
    const status = await settled(twin);
    assert.deepEqual(status, { mod: null });
    assert.deepEqual(twin.modHost?.xs, XS_8_2_3);
    assert.equal(twin.modHost?.mapped(), false);
    assert.ok(areaBytes(twin.flash.mods!.active).every((b) => b === 0xff));
    assert.equal(twin.modHost?.statusLine, undefined);
  } finally {
    await stop();
  }
});

test("a mod installed through the twin's flash runs after the restart: confirmed, its status line set through the host API, xs its slot as mapped", async () => {
  const lines: string[] = [];
  const { twin, stop } = await startModTwin({ log: (l) => lines.push(l) });
  try {
    assert.equal(installMod(twin, HELLO_100), undefined);
    await twin.booted(2);
    const status = await settled(twin);
    assert.deepEqual(status.mod, { name: "hello", version: "1.0.0", state: "valid" });
    assert.deepEqual(status.lastModUpdate, { name: "hello", version: "1.0.0", result: "valid" });
    assert.equal(twin.modHost?.started, "hello@1.0.0");
    assert.equal(twin.modHost?.statusLine, "hello 1.0.0: all good");
    assert.equal(twin.mods?.statusText(), "hello 1.0.0: all good", "the line the portal's home page shows");
    assert.ok(lines.includes("twin: mod hello@1.0.0: hello 1.0.0: all good"), lines.join("\n"));
    const state = modState(twin)!;
    assert.equal(state.xs, 0);
    assert.equal(sha256(areaBytes(twin.flash.mods!.slots[0], HELLO_100.length)), sha256(HELLO_100), "the slot holds the mod as it arrived");
    assert.ok(xsHolds(twin, 0, HELLO_100.length));
    assert.notEqual(sha256(areaBytes(twin.flash.mods!.active, HELLO_100.length)), sha256(HELLO_100), "XS rewrote IDEN and the ids at the first boot");
    // another boot of the same firmware maps nothing and runs it again
    const ops = flashOps(twin);
    twin.restart();
    await twin.booted(3);
    assert.deepEqual((await settled(twin)).mod, { name: "hello", version: "1.0.0", state: "valid" });
    assert.equal(flashOps(twin), ops, "no flash operation at a boot with the mod already mapped");
    assert.deepEqual(twin.modHost?.result, { mapped: true, wrote: false });
  } finally {
    await stop();
  }
});

test("a mod that throws at start is rolled back to the previous mod with the reason; xs is the previous slot's mod up to mapping", async () => {
  const { twin, stop } = await startModTwin();
  try {
    installMod(twin, HELLO_100);
    await twin.booted(2);
    await settled(twin);
    const broken = demoModBytes(demo("hello-broken-1.2.0.xsa"));
    assert.equal(installMod(twin, broken), undefined);
    await twin.booted(3);
    const status = await settled(twin);
    assert.deepEqual(status.mod, { name: "hello", version: "1.0.0", state: "valid" });
    assert.deepEqual(status.lastModUpdate, { name: "hello", version: "1.2.0", result: "rolled-back", reason: "it threw at start-up: Error: hello threw at start" });
    assert.equal(status.previous, undefined, "the broken one is not offered to go back to");
    assert.equal(twin.modHost?.statusLine, "hello 1.0.0: all good");
    assert.equal(twin.mods?.statusText(), "hello 1.0.0: all good");
    const state = modState(twin)!;
    assert.equal(state.xs, 0);
    assert.equal(state.slots[1]?.failed, true);
    assert.ok(xsHolds(twin, 0, HELLO_100.length), "xs equals slot xs_a but for what mapping rewrites");
  } finally {
    await stop();
  }
});

test("a mod whose start-up check fails, and one that resets the board before its verdict, are rolled back too", async () => {
  const { twin, stop } = await startModTwin();
  try {
    installMod(twin, HELLO_100);
    await twin.booted(2);
    await settled(twin);
    installMod(twin, demoModBytes(demo("hello-failcheck-1.3.0.xsa")));
    await twin.booted(3);
    let status = await settled(twin);
    assert.deepEqual(status.mod, { name: "hello", version: "1.0.0", state: "valid" });
    assert.deepEqual(status.lastModUpdate, { name: "hello", version: "1.3.0", result: "rolled-back", reason: "hello sensor: sensor not found" });
    installMod(twin, demoMod("hello", "1.5.0", { twin: "crash" }));
    await twin.booted(4);
    status = await settled(twin);
    assert.deepEqual(status.mod, { name: "hello", version: "1.0.0", state: "valid" });
    assert.deepEqual(status.lastModUpdate, { name: "hello", version: "1.5.0", result: "rolled-back", reason: "it reset the board before its start-up check finished" });
    assert.ok(xsHolds(twin, 0, HELLO_100.length));
  } finally {
    await stop();
  }
});

test("a mod built for XS 16.7 is refused before anything is erased; the running mod's xs bytes stay identical", async () => {
  const { twin, stop } = await startModTwin();
  try {
    installMod(twin, HELLO_100);
    await twin.booted(2);
    await settled(twin);
    const xs = areaBytes(twin.flash.mods!.active);
    const slots = twin.flash.mods!.slots.map((s) => sha256(areaBytes(s)));
    const ops = flashOps(twin);
    assert.equal(installMod(twin, demoModBytes(demo("hello-xs16-1.0.0.xsa"))), "Mod built for XS 16.7; this board's firmware has XS 17.7: rebuild it with this firmware's SDK");
    assert.equal(flashOps(twin), ops, "no erase, no write");
    assert.deepEqual(areaBytes(twin.flash.mods!.active), xs);
    assert.deepEqual(twin.flash.mods!.slots.map((s) => sha256(areaBytes(s))), slots);
    assert.equal(twin.up, true, "no restart");
    assert.deepEqual(twin.mods?.status().mod, { name: "hello", version: "1.0.0", state: "valid" });
  } finally {
    await stop();
  }
});

test("a firmware update to a firmware with another XS (demo-xs16-2.2.0.bin) disables the installed mod: XS writes XS_E, the status says why; a mod built for its XS then runs", async () => {
  const { twin, stop } = await startModTwin();
  try {
    installMod(twin, HELLO_100);
    await twin.booted(2);
    await settled(twin);
    // What the updater does for a firmware: esp_ota_begin/write/end + set_boot_partition on the other slot, then a restart.
    const image = demoImage(demoFirmwares(0.3).find((f) => f.name === "demo-xs16-2.2.0.bin")!);
    const running = twin.flash.slots.findIndex((s) => s.label === twin.device.runningPartition);
    const writer = new FlashOtaWriter(twin.flash, new EspOta(twin.flash, running, { chipId: 0, chipRevision: 300, rollback: true }));
    writer.begin(image.length);
    for (let at = 0; at < image.length; at += 4096) writer.write(image.subarray(at, at + 4096));
    writer.complete();
    twin.restart();
    await twin.booted(3);
    const status = await settled(twin);
    assert.equal(twin.device.appVersion, "2.2.0");
    assert.deepEqual(twin.modHost?.xs, XS_16_7);
    assert.deepEqual(status.mod, null);
    assert.deepEqual(status.lastModUpdate, { name: "hello", version: "1.0.0", result: "failed", reason: "the firmware's XS refused it (fatal check)" });
    assert.equal(twin.modHost?.statusLine, undefined, "nothing ran");
    assert.equal(modState(twin)?.slots[0]?.failed, true);
    const head = areaBytes(twin.flash.mods!.active, 16);
    assert.ok(head.every((b) => b === 0), "removed: 16 zero bytes over the XS_E atom");
    // the same app built for XS 16.7 installs on this firmware (once the firmware is confirmed) and runs
    assert.match(installMod(twin, demoModBytes(demo("hello-xs16-1.0.0.xsa"))) ?? "", /being checked|wait/i, "no mod install while the firmware awaits its verdict");
    await firmwareValid(twin);
    assert.equal(installMod(twin, demoModBytes(demo("hello-xs16-1.0.0.xsa"))), undefined);
    await twin.booted(4);
    assert.deepEqual((await settled(twin)).mod, { name: "hello", version: "1.0.0", state: "valid" });
    assert.equal(twin.modHost?.statusLine, "hello 1.0.0 (XS 16.7): all good");
  } finally {
    await stop();
  }
});

test("signed demo: the owner's signed mods install; the unsigned and other-key mods are refused before any erase", async () => {
  const dir = mkdtempSync(join(tmpdir(), "twin-mods-signed-"));
  try {
    const catalog = await writeSignedDemoCatalog(join(dir, "catalog"), join(dir, "keys"), 0.05);
    assert.deepEqual(
      catalog.mods.map((m) => [m.file, m.refusal]),
      [...demoMods().map((m) => [m.file, m.refusal]), [MOD_UNSIGNED, "unsigned"], [MOD_OTHER_KEY, "other-key"]],
    );
    const read = (file: string) => new Uint8Array(readFileSync(join(dir, "catalog", file)));
    const sig = (file: string) => readFileSync(join(dir, "catalog", `${file}.sig`), "utf8");
    assert.match(sig("hello-1.1.0.xsa"), new RegExp(`^moddable-ota mod signature 1\nsha256: ${sha256(read("hello-1.1.0.xsa"))}\nsize: ${read("hello-1.1.0.xsa").length}\nname: hello\nversion: 1\\.1\\.0\nxs: 17\\.7\nhost: ${PROJECT}\nkey: [0-9a-f]{64}\nsignature: [0-9a-f]{128}\n$`));
    const { twin, stop } = await startModTwin({ signingKeys: [catalog.owner.config] });
    try {
      const ops = flashOps(twin);
      assert.match(installMod(twin, read(MOD_UNSIGNED)) ?? "", /the mod has no signature/);
      assert.match(installMod(twin, read(MOD_OTHER_KEY), { signature: sig(MOD_OTHER_KEY) }) ?? "", new RegExp(`it is signed with key ${catalog.stranger.publicKey.fingerprint}, this board trusts`));
      assert.equal(flashOps(twin), ops, "refused at the head: nothing erased");
      assert.equal(installMod(twin, read("hello-1.1.0.xsa"), { signature: sig("hello-1.1.0.xsa") }), undefined);
      await twin.booted(2);
      assert.deepEqual((await settled(twin)).mod, { name: "hello", version: "1.1.0", state: "valid" });
    } finally {
      await stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * One install of hello 1.1.0 over a confirmed hello 1.0.0 on a copy of the
 * flash and NVS in `base`, with a power cut armed at the `flash`th erase or
 * write in the mod partitions or the `nvs`th write of the mod record (none: the
 * whole install); the twin then reboots by itself as often as it needs. Checks
 * what it settled on and answers it, with the operations the install made.
 */
async function cutInstall(base: string, cut?: { flash: number } | { nvs: number }): Promise<{ version: string; flashOps: number; nvsWrites: number; cut: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), "twin-mods-cut-"));
  const flashPath = join(dir, "flash.bin");
  copyFileSync(join(base, "flash.bin"), flashPath);
  copyFileSync(join(base, "flash.bin.nvs.json"), `${flashPath}.nvs.json`);
  const lines: string[] = [];
  const { twin, stop } = await startModTwin({ flashPath, fresh: false, log: (l) => lines.push(l) });
  try {
    assert.deepEqual((await settled(twin)).mod, { name: "hello", version: "1.0.0", state: "valid" });
    const mods = twin.flash.mods!;
    const ops = flashOps(twin);
    let nvsWrites = 0;
    const set = twin.store.set.bind(twin.store);
    twin.store.set = (key, value) => {
      if (key === MOD_STATE_KEY && !twin.store.frozen) nvsWrites++;
      set(key, value);
    };
    if (cut && "flash" in cut) twin.cutPower({ afterOps: cut.flash, region: modRegion(mods) });
    if (cut && "nvs" in cut) twin.cutPowerAtNvsWrite(MOD_STATE_KEY, cut.nvs);
    const boots = twin.boots;
    installMod(twin, HELLO_110);
    await twin.booted(boots + 1);
    const status = await settled(twin);
    // It runs the old or the new mod, confirmed, never a half-written one.
    assert.ok(status.mod && status.mod.state === "valid", JSON.stringify(status));
    const version = status.mod.version;
    assert.ok(["1.0.0", "1.1.0"].includes(version), version);
    assert.equal(twin.modHost?.started, `hello@${version}`);
    assert.equal(twin.modHost?.statusLine, `hello ${version}: all good`);
    // Its record is true: no open switch, xs the recorded slot's mod as mapped, every recorded slot whole.
    const state = modState(twin)!;
    assert.equal(state.pending, null);
    assert.equal(state.staged, null);
    assert.ok(state.xs !== null);
    const record = state.slots[state.xs]!;
    assert.deepEqual([record.name, record.version, record.failed], ["hello", version, undefined]);
    assert.ok(mappedMatches(mods.active, mods.slots[state.xs], record.size), "xs is the recorded slot's mod up to mapping");
    assert.deepEqual(readModInfo(mods.active), { name: "hello", version, status: `hello ${version}: all good` });
    for (const i of [0, 1] as const) {
      const r = state.slots[i];
      if (r) assert.equal(sha256(areaBytes(mods.slots[i], r.size)), r.sha256, `slot ${i} holds what its record says`);
    }
    return { version, flashOps: flashOps(twin) - ops, nvsWrites, cut: lines.includes("twin: power cut") };
  } finally {
    await stop();
  }
}

test("power cuts at every flash operation (slot erase and writes, head write, the switch, the first-boot mapping) and every mod record write (to the confirm) of a mod install: the twin boots and runs the old or the new mod, and its record is true", async (t) => {
  const base = await startModTwin();
  installMod(base.twin, HELLO_100);
  await base.twin.booted(2);
  await settled(base.twin);
  await base.twin.stop();
  try {
    const whole = await cutInstall(base.dir);
    assert.equal(whole.version, "1.1.0");
    assert.equal(whole.cut, false);
    // hello 1.1.0 spans 2 sectors: slot erase 2 + writes 2 + head 1, switch: erase 2 + copy 2 + head 1, mapping: sector 0 erased and written
    assert.equal(whole.flashOps, 12);
    const outcomes: Record<string, number> = {};
    for (let k = 0; k < whole.flashOps; k++) {
      const r = await cutInstall(base.dir, { flash: k });
      assert.equal(r.cut, true, `flash operation ${k}`);
      outcomes[`flash ${k}`] = Number(r.version === "1.1.0");
    }
    assert.equal((await cutInstall(base.dir, { flash: whole.flashOps })).cut, false, "the sweep covered every operation");
    assert.ok(whole.nvsWrites >= 4, `${whole.nvsWrites} record writes`);
    for (let k = 0; k < whole.nvsWrites; k++) {
      const r = await cutInstall(base.dir, { nvs: k });
      assert.equal(r.cut, true, `record write ${k}`);
      outcomes[`nvs ${k}`] = Number(r.version === "1.1.0");
    }
    const values = Object.values(outcomes);
    assert.ok(values.includes(0) && values.includes(1), `both ends reached: ${JSON.stringify(outcomes)}`);
    t.diagnostic(`${whole.flashOps} flash operations and ${whole.nvsWrites} record writes cut, each once: ${values.filter((v) => v === 0).length} ended on hello 1.0.0, ${values.filter((v) => v === 1).length} on 1.1.0 (${JSON.stringify(outcomes)})`);
  } finally {
    rmSync(base.dir, { recursive: true, force: true });
  }
});

// Mods in the fleet (docs/mods.md), on both databases: the registry keeps a
// board's running mod, mod host and last mod result; a check-in that sends a
// mod is recorded as such (answer "mod", the .xsa as its download); a rollout
// of a .xsa is a mod rollout, offered under the rule's conditions, beside a
// firmware rollout on the same channel, its outcomes from x-Ota-Mod-Result
// only; the dashboard shows the running mod.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { DeviceView, CheckinView, DownloadView } from "../../../server/fleet/registry";
import type { RolloutView } from "../../../server/fleet/rollouts";
import { buildImage } from "../../../tools/esp-image";
import { demoMod } from "../../../tools/xs-archive";
import { BACKENDS } from "../../support/databases";
import { macOf, startFleetServer, type FleetServer } from "./helpers";

const fw = Buffer.from(buildImage({ version: "1.0.0", size: 30_000 }));
const hello1 = Buffer.from(demoMod("hello", "1.0.0"));
const hello2 = Buffer.from(demoMod("hello", "2.0.0"));
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const RULES = "default: { firmware: fw/v1.bin, channel: stable, mod: mods/hello-1.0.0.xsa }\n";
const FILES = { "fw/v1.bin": fw, "mods/hello-1.0.0.xsa": hello1, "mods/hello-2.0.0.xsa": hello2, "mods/bad.xsa": Buffer.from("no archive") };

for (const backend of BACKENDS) {
  describe(`mods in the fleet on ${backend.name}`, { skip: backend.skip }, () => {
    let s: FleetServer;
    before(async () => {
      s = await startFleetServer(backend, { rules: RULES, files: FILES });
    });
    after(() => s?.stop());

    /** A board on current firmware; `mod` adds x-Ota-Mod-Host 17.7 and x-Ota-Mod. */
    const checkIn = (mac: string, mod?: string, extra: Record<string, string> = {}) =>
      s.checkIn(mac, { md5: md5(fw), extra: { ...(mod === undefined ? {} : { "x-Ota-Mod-Host": "17.7", "x-Ota-Mod": mod }), ...extra } });
    const device = async (mac: string) => (await s.api<{ device: DeviceView; checkins: CheckinView[]; downloads: DownloadView[] }>(`/api/devices/${mac}/history`)).body;

    test("a mod sent on a check-in: answer mod, the .xsa as its download, the board's mod host and running mod kept", async () => {
      const mac = macOf(1);
      const r = await checkIn(mac, "");
      assert.equal(r.status, 200);
      assert.equal(r.headers["x-ota-kind"], "mod");
      const h = await device(mac);
      assert.equal(h.device.modHost, "17.7");
      assert.equal(h.device.runningMod, "");
      assert.equal(h.device.lastImage, "mods/hello-1.0.0.xsa", "what was last sent");
      assert.equal(h.checkins[0].answer, "mod");
      assert.equal(h.checkins[0].modImage, "mods/hello-1.0.0.xsa");
      assert.equal(h.checkins[0].image, "fw/v1.bin");
      assert.deepEqual([h.downloads[0].path, h.downloads[0].completed, h.downloads[0].bytesSent], ["mods/hello-1.0.0.xsa", true, hello1.length]);
    });

    test("its next check-in: running the mod, reporting valid: 304, both kept on the board's row", async () => {
      const mac = macOf(1);
      const r = await checkIn(mac, "hello@1.0.0", { "x-Ota-Mod-Result": "valid", "x-Ota-Mod-Result-Version": "hello@1.0.0" });
      assert.equal(r.status, 304);
      const h = await device(mac);
      assert.equal(h.device.runningMod, "hello@1.0.0");
      assert.deepEqual([h.device.lastModResult, h.device.lastModResultVersion], ["valid", "hello@1.0.0"]);
      assert.ok(h.device.lastModResultAt);
      assert.deepEqual([h.checkins[0].answer, h.checkins[0].modResult, h.checkins[0].runningMod], ["current", "valid", "hello@1.0.0"]);
      assert.equal(h.device.lastResult, null, "a mod result is no firmware result");
    });

    test("a board that hosts no mods: nothing about mods on its row", async () => {
      const mac = macOf(2);
      assert.equal((await checkIn(mac)).status, 304);
      const h = await device(mac);
      assert.deepEqual([h.device.modHost, h.device.runningMod, h.checkins[0].answer], [null, null, "current"]);
    });

    test("the dashboard shows a board's running mod", async () => {
      const page = (await s.api<string>(`/dashboard/devices/${macOf(1)}`)).body;
      assert.match(page, /<th>Mod<\/th><td data-label="Mod">hello@1\.0\.0<\/td>/);
      assert.match((await s.api<string>("/dashboard")).body, /mod hello@1\.0\.0/);
    });

    let rollout: RolloutView;
    test("a rollout of a .xsa is a mod rollout (version name@version), beside a firmware rollout on the same channel", async () => {
      assert.equal((await s.api<{ error: string }>("/api/rollouts", { method: "POST", body: { channel: "stable", image: "mods/bad.xsa" } })).status, 400);
      const created = await s.api<RolloutView>("/api/rollouts", { method: "POST", body: { channel: "stable", image: "mods/hello-2.0.0.xsa", stages: [100] } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      rollout = created.body;
      assert.deepEqual([rollout.kind, rollout.version], ["mod", "hello@2.0.0"]);
      const second = await s.api<{ error: string }>("/api/rollouts", { method: "POST", body: { channel: "stable", image: "mods/hello-1.0.0.xsa" } });
      assert.equal(second.status, 409);
      assert.match(second.body.error, /already has mod rollout/);
      const firmware = await s.api<RolloutView>("/api/rollouts", { method: "POST", body: { channel: "stable", image: "fw/v1.bin", stages: [100] } });
      assert.equal(firmware.status, 201);
      assert.equal(firmware.body.kind, "firmware");
    });

    test("the mod rollout is offered to mod hosts only; a board's mod outcome counts in it, a firmware report does not", async () => {
      const a = macOf(1);
      const r = await checkIn(a, "hello@1.0.0");
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(hello2));
      assert.equal(r.headers["x-md5"], md5(hello2));
      assert.equal((await checkIn(macOf(2))).status, 304, "no mod host: its firmware is current");
      let view = (await s.api<RolloutView>(`/api/rollouts/${rollout.id}`)).body;
      assert.deepEqual([view.stages[0].offered, view.stages[0].downloaded], [1, 1]);
      // A firmware report without a version is about firmware: never counted in the mod rollout.
      await checkIn(a, "hello@1.0.0", { "x-ESP32-update-result": "failed" });
      view = (await s.api<RolloutView>(`/api/rollouts/${rollout.id}`)).body;
      assert.equal(view.stages[0].failed, 0);
      // The board went back to 1.0.0: its report counts, and it is not offered 2.0.0 again.
      const back = await checkIn(a, "hello@1.0.0", { "x-Ota-Mod-Result": "rolled-back", "x-Ota-Mod-Result-Version": "hello@2.0.0" });
      assert.equal(back.status, 304, "the rule's mod, which it runs");
      view = (await s.api<RolloutView>(`/api/rollouts/${rollout.id}`)).body;
      assert.equal(view.stages[0].rolledBack, 1);
    });

    test("a board that already runs the rollout's mod is recorded valid but not counted (it never downloaded it); one of another XS is never offered it", async () => {
      const b = macOf(3);
      assert.equal((await checkIn(b, "hello@2.0.0")).status, 304);
      const view = (await s.api<RolloutView>(`/api/rollouts/${rollout.id}`)).body;
      assert.deepEqual([view.stages[0].valid, view.stages[0].notCounted], [0, 1]);
      const c = macOf(4);
      assert.equal((await s.checkIn(c, { md5: md5(fw), extra: { "x-Ota-Mod-Host": "17.6", "x-Ota-Mod": "" } })).status, 304);
      assert.equal((await s.api<RolloutView>(`/api/rollouts/${rollout.id}`)).body.stages[0].offered, 2, "offered: a, and b (running)");
    });

    test("a completed mod rollout becomes the channel's mod baseline, not its firmware baseline", async () => {
      await s.api(`/api/rollouts/${rollout.id}/advance`, { method: "POST" });
      const d = macOf(5);
      const r = await checkIn(d, "");
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(hello2), "the baseline mod");
      const h = await device(d);
      assert.match(h.checkins[0].source ?? "", /rollout/);
      assert.equal(h.checkins[0].image, "fw/v1.bin", "the firmware choice is untouched");
    });
  });
}

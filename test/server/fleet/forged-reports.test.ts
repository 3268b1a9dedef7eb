// Issue 20 item 1: reports count only when they can be true. The attack: made-up
// MACs that fall in stage 1 check in once (offered and sent the image), then
// again reporting rolled-back. Before, 3 such requests halted a stage with 10
// honest boards valid, and again after every resume. Now an outcome counts
// only from a board the registry knew before the rollout began, that was
// offered the image and downloaded it; the forged reports are recorded, marked
// not counted and shown. With board credentials (--fleet-secret and
// --require-board-auth) unauthenticated check-ins are answered by the rules
// and never recorded; replays are refused. In both modes, on both databases,
// honest boards known before the rollout still halt it when they fail.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { bucketOf, firstStage } from "../../../server/fleet/cohort";
import type { DeviceView } from "../../../server/fleet/registry";
import type { RolloutView } from "../../../server/fleet/rollouts";
import { buildImage } from "../../../tools/esp-image";
import { BACKENDS } from "../../support/databases";
import { esp32Headers, rawRequest, requestText } from "../helpers";
import { macOf, startFleetServer, type FleetServer } from "./helpers";

const v1 = Buffer.from(buildImage({ version: "1.0.0", size: 30_000 }));
const v2 = Buffer.from(buildImage({ version: "2.0.0", size: 31_000 }));
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const FILES = { "fw/v1.bin": v1, "fw/v2.bin": v2 };
const RULES = "default: { firmware: fw/v1.bin, channel: stable }";
const SECRET = "fleet-secret-0123456789abcdef";
const STAGES = [50, 100];

const inStage1 = Array.from({ length: 200 }, (_, i) => macOf(i + 1)).filter((m) => firstStage(bucketOf(m), STAGES) === 0);
const HONEST = inStage1.slice(0, 10);
/** Made-up MACs, three for each attack. */
const FORGED = inStage1.slice(10, 22);

interface History {
  device: DeviceView | null;
  checkins: Array<{ updateResult: string | null; reportNotCounted: string | null }>;
}

for (const backend of BACKENDS) {
  for (const mode of ["plain", "board credentials"] as const) {
    describe(`forged reports on ${backend.name}, ${mode}`, { skip: backend.skip }, () => {
      let s: FleetServer;
      const secret = mode === "plain" ? undefined : SECRET;
      before(async () => {
        assert.ok(inStage1.length >= 22, `${inStage1.length} MACs in stage 1`);
        s = await startFleetServer(backend, { rules: RULES, files: FILES, fleet: mode === "plain" ? {} : { fleetSecret: SECRET, requireBoardAuth: true } });
      });
      after(() => s?.stop());
      const rollout = async () => (await s.api<RolloutView>("/api/rollouts/1")).body;
      const honest = (mac: string, o: { version: string; result?: string }) =>
        s.checkIn(mac, { version: o.version, md5: md5(o.version === "2.0.0" ? v2 : v1), secret, ...(o.result ? { result: o.result, resultVersion: "2.0.0" } : {}) });
      /** The attack: each forged MAC is offered the image once, then reports rolled-back. */
      const attack = async (macs: string[]) => {
        for (const mac of macs) {
          const first = await s.checkIn(mac, { version: "1.0.0", md5: md5(v1) });
          // plain: the rollout's image (the attack's premise); with credentials: the rules' answer (it runs their image)
          if (mode === "plain") assert.ok(first.status === 200 && first.body.equals(v2), mac);
          else assert.equal(first.status, 304, mac);
          await s.checkIn(mac, { version: "1.0.0", md5: md5(v1), result: "rolled-back", resultVersion: "2.0.0" });
        }
      };

      test("10 honest boards known before the rollout update and report valid", async () => {
        for (const mac of HONEST) assert.equal((await honest(mac, { version: "1.0.0" })).status, 304, "they run the rule's image");
        const created = await s.api<RolloutView>("/api/rollouts", { method: "POST", body: { channel: "stable", image: "fw/v2.bin", stages: STAGES, threshold: 0.2, minOutcomes: 3 } });
        assert.equal(created.status, 201);
        for (const mac of HONEST) {
          const r = await honest(mac, { version: "1.0.0" });
          assert.equal(r.status, 200);
          assert.ok(r.body.equals(v2), "the rollout's image");
        }
        for (const mac of HONEST) assert.equal((await honest(mac, { version: "2.0.0", result: "valid" })).status, 304);
        const view = await rollout();
        assert.deepEqual([view.state, view.stages[0].downloaded, view.stages[0].valid], ["active", 10, 10]);
      });

      test("3 forged MACs reporting rolled-back do not halt it, and are recorded as not counted (or not at all, with credentials)", async () => {
        await attack(FORGED.slice(0, 3));
        const view = await rollout();
        assert.equal(view.state, "active", view.haltedReason ?? "");
        assert.deepEqual([view.stages[0].valid, view.stages[0].rolledBack], [10, 0]);
        if (mode === "plain") {
          assert.equal(view.stages[0].notCounted, 3);
          const h = (await s.api<History>(`/api/devices/${FORGED[0]}/history`)).body;
          assert.equal(h.device?.lastResult, "rolled-back");
          assert.equal(h.device?.lastResultNotCounted, "board first seen after the rollout began");
          assert.deepEqual([h.checkins[0].updateResult, h.checkins[0].reportNotCounted], ["rolled-back", "board first seen after the rollout began"]);
          const page = await s.api<string>("/dashboard");
          assert.match(page.body, /not counted/);
        } else {
          assert.equal(view.stages[0].offered, 10, "nothing recorded of the forged check-ins");
          assert.equal((await s.api(`/api/devices/${FORGED[0]}/history`)).status, 404);
        }
      });

      test("after a halt and a resume, forged MACs still cannot halt it", async () => {
        assert.equal((await s.api("/api/rollouts/1/halt", { method: "POST" })).status, 200);
        assert.equal((await s.api("/api/rollouts/1/resume", { method: "POST" })).status, 200);
        await attack(FORGED.slice(3, 6));
        await attack(FORGED.slice(6, 9));
        assert.equal((await rollout()).state, "active");
      });

      test("honest boards known before the rollout still halt it when they fail", async () => {
        // Three honest boards went back to 1.0.0 and say so: 3 of 10 counted outcomes since the resume.
        for (const mac of HONEST.slice(0, 3)) await honest(mac, { version: "1.0.0", result: "rolled-back" });
        const view = await rollout();
        assert.equal(view.state, "halted");
        assert.match(view.haltedReason!, /^stage 1: 3 of 3 updates failed or rolled back/);
      });
    });
  }

  describe(`board credentials on ${backend.name}`, { skip: backend.skip }, () => {
    let s: FleetServer;
    before(async () => {
      s = await startFleetServer(backend, { rules: RULES, files: FILES, fleet: { fleetSecret: SECRET } });
    });
    after(() => s?.stop());

    test("without --require-board-auth, a check-in without valid credentials is recorded, but its report does not count", async () => {
      const mac = HONEST[0];
      await s.checkIn(mac, { version: "1.0.0", md5: md5(v1), secret: SECRET });
      await s.api("/api/rollouts", { method: "POST", body: { channel: "stable", image: "fw/v2.bin", stages: STAGES, threshold: 0, minOutcomes: 1 } });
      assert.equal((await s.checkIn(mac, { version: "1.0.0", md5: md5(v1), secret: SECRET })).status, 200);
      await s.checkIn(mac, { version: "1.0.0", md5: md5(v1), result: "rolled-back", resultVersion: "2.0.0", secret: "another-secret-0123456789" });
      const h = (await s.api<History>(`/api/devices/${mac}/history`)).body;
      assert.equal(h.device?.lastResultNotCounted, "check-in without valid board credentials");
      assert.equal((await s.api<RolloutView>("/api/rollouts/1")).body.state, "active");
      // the same report with the right secret counts: threshold 0 halts at once
      await s.checkIn(mac, { version: "1.0.0", md5: md5(v1), result: "rolled-back", resultVersion: "2.0.0", secret: SECRET });
      assert.equal((await s.api<RolloutView>("/api/rollouts/1")).body.state, "halted");
    });

    test("a replayed check-in (same credentials) is not authenticated a second time", async () => {
      const mac = HONEST[1];
      const at = Date.now();
      const { checkInAuthHeader } = await import("../../../modules/core/engine/checkin-auth");
      const { nobleDigest } = await import("../../fakes/digest");
      const h = esp32Headers({ "x-ESP32-STA-MAC": mac, "x-ESP32-BASE-MAC": mac, "x-ESP32-version": "1.0.0", "x-ESP32-sketch-md5": md5(v1) });
      delete h["x-ESP32-sketch-sha256"];
      const [name, value] = checkInAuthHeader(nobleDigest, SECRET, Object.entries(h), at);
      h[name] = value;
      await rawRequest(s.port, requestText("/update", h));
      await rawRequest(s.port, requestText("/update", h));
      await s.fleet!.settled();
      const auth = s.fleet!.boardAuth!;
      assert.equal((await auth.check(s.fleet!.db, Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v])), mac, Date.now())).ok, false, "the same time again");
      const stale = { ...h };
      [, stale[name]] = checkInAuthHeader(nobleDigest, SECRET, Object.entries(h).filter(([k]) => k !== name), at - 10 * 60 * 1000);
      const outcome = auth.verify(Object.fromEntries(Object.entries(stale).map(([k, v]) => [k.toLowerCase(), v])), Date.now());
      assert.deepEqual(outcome, { ok: false, reason: "credentials outside the time window" });
    });
  });
}

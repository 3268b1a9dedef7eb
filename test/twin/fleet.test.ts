// The fleet simulator: virtual boards run the device core's updater and
// check-in client on the twin's Node adapters against a real server, install
// into an in-memory slot, and at the next boot keep the image or roll back as
// the start-up check says, reporting the outcome on their next check-in.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startFleetTestServer, type FleetTestServer } from "../support/fleet-server";
import { buildImage } from "../../tools/esp-image";
import { boardImageOf, MemoryOtaWriter } from "../../twin/fleet/memory-ota";
import { boardMac, FleetSimulator } from "../../twin/fleet/simulator";
import { failingBoards, failingShare } from "../../twin/fleet/startup-check";

const v1 = buildImage({ version: "1.0.0", size: 20_000 });
const v2 = buildImage({ version: "2.0.0", size: 24_000 });

describe("fleet simulator against a server", () => {
  let running: FleetTestServer;
  let sim: FleetSimulator | undefined;
  let url: string;
  const token = "sim-test-token-0123456789abcdef";
  before(async () => {
    running = await startFleetTestServer("ota-fleet-sim-", { v1, v2 }, { adminToken: token });
    url = running.url;
  });
  after(async () => {
    sim?.stop();
    await running.stop();
  });

  test("boards check in with the core's headers; one fails its start-up check, rolls back and says so", { timeout: 30_000 }, async () => {
    const r = await fetch(`${url}/api/rollouts`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ channel: "stable", image: "v2.bin", stages: [100] }) });
    assert.equal(r.status, 201);
    const failing = boardMac("02:F1:EE:00", 0);
    sim = new FleetSimulator({ boards: 5, url: `${url}/update`, firstImage: boardImageOf(v1), intervalMs: 300, restartDelayMs: 50, bootDelayMs: 50, check: failingBoards([failing]) }).start();
    assert.deepEqual(new Set(sim.boards.map((b) => b.mac)).size, 5);
    const deadline = Date.now() + 20_000;
    let history: { device: { lastResult: string; version: string; sdkVersion: string; family: string } } | undefined;
    for (;;) {
      const h = await fetch(`${url}/api/devices/${failing}/history`, { headers: { authorization: `Bearer ${token}` } });
      if (h.status === 200) history = (await h.json()) as typeof history;
      if (history?.device.lastResult === "rolled-back" && sim.versions().get("2.0.0") === 4) break;
      if (Date.now() > deadline) throw new Error(`not settled: ${JSON.stringify([...sim.versions()])} ${JSON.stringify(history?.device)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.deepEqual([history!.device.family, history!.device.version, history!.device.sdkVersion], ["esp32", "1.0.0", "v5.1.4-fleet-sim"]);
    const failed = sim.boards.find((b) => b.mac === failing)!;
    assert.deepEqual([failed.running.version, failed.report], ["1.0.0", { result: "rolled-back", version: "2.0.0" }]);
    for (const b of sim.boards.filter((x) => x.mac !== failing)) assert.deepEqual(b.report, { result: "valid", version: "2.0.0" });
  });
});

describe("fleet simulator with board credentials", () => {
  let running: FleetTestServer;
  let sim: FleetSimulator | undefined;
  let url: string;
  const token = "sim-test-token-0123456789abcdef";
  const secret = "sim-fleet-secret-0123456789abcdef";
  before(async () => {
    running = await startFleetTestServer("ota-fleet-sim-auth-", { v1, v2 }, { adminToken: token, fleetSecret: secret, requireBoardAuth: true });
    url = running.url;
  });
  after(async () => {
    sim?.stop();
    await running.stop();
  });
  const api = async <T>(path: string, init: RequestInit = {}) =>
    (await (await fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } })).json()) as T;

  test("the core's signed check-ins are recorded under --require-board-auth; a known board's rollback halts the rollout", { timeout: 30_000 }, async () => {
    const failing = boardMac("02:F1:EE:00", 0);
    sim = new FleetSimulator({ boards: 4, url: `${url}/update`, firstImage: boardImageOf(v1), intervalMs: 300, restartDelayMs: 50, bootDelayMs: 50, check: failingBoards([failing]), fleetSecret: secret }).start();
    let deadline = Date.now() + 20_000;
    while ((await api<{ total: number }>("/api/devices")).total < 4) {
      if (Date.now() > deadline) throw new Error("the boards were not recorded: their credentials were refused");
      await new Promise((res) => setTimeout(res, 100));
    }
    await api("/api/rollouts", { method: "POST", body: JSON.stringify({ channel: "stable", image: "v2.bin", stages: [100], threshold: 0.1, minOutcomes: 1 }) });
    deadline = Date.now() + 20_000;
    let view = await api<{ state: string; haltedReason: string | null }>("/api/rollouts/1");
    while (view.state !== "halted") {
      if (Date.now() > deadline) throw new Error(`not halted: ${JSON.stringify(view)}`);
      await new Promise((res) => setTimeout(res, 100));
      view = await api("/api/rollouts/1");
    }
    assert.match(view.haltedReason ?? "", /^stage 1: 1 of \d updates failed or rolled back/);
  });
});

describe("fleet simulator parts", () => {
  test("the in-memory slot refuses what esp_ota_* refuses and boots only a whole image", () => {
    const w = new MemoryOtaWriter(100_000); // an esptool-laid-out image is 64 KB and more: the code starts at 0x10020
    assert.throws(() => w.begin(100_001), /do not fit/);
    w.begin(v2.length);
    assert.throws(() => w.write(new Uint8Array([0x00, 1, 2])), /invalid magic/);
    w.write(v2.subarray(0, 1000));
    assert.throws(() => w.complete(), /incomplete/);
    assert.equal(w.committed, undefined);
    w.begin(v2.length);
    for (let at = 0; at < v2.length; at += 4096) w.write(v2.subarray(at, at + 4096));
    w.complete();
    assert.deepEqual(w.committed, boardImageOf(v2));
  });

  test("failingShare fails about that share of boards, the same ones each time, only on the versions named", () => {
    const check = failingShare(0.3, ["2.0.0"]);
    const boards = Array.from({ length: 2000 }, (_, i) => ({ index: i, mac: boardMac("02:AA:BB:00", i) }));
    const fails = boards.filter((b) => !check(b, { version: "2.0.0", md5: "" }));
    assert.ok(fails.length > 520 && fails.length < 680, `${fails.length} of 2000`);
    assert.deepEqual(boards.filter((b) => !check(b, { version: "2.0.0", md5: "" })), fails);
    assert.ok(boards.every((b) => check(b, { version: "1.1.0", md5: "" })));
  });
});

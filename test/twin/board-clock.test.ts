// Board credentials from a board whose clock nothing has set (an ESP32 without
// SNTP counts from 1970 at boot): the core learns the time from the update
// server (HEAD /_catalog, modules/core/engine/wall-clock.ts), so under
// --require-board-auth its check-ins are recorded from the first one, and the
// first check-in after the reboot into an update, which carries the update's
// outcome, is recorded and counted toward the rollout.
import assert from "node:assert/strict";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import type { RolloutView } from "../../server/fleet/rollouts";
import { buildImage } from "../../tools/esp-image";
import { boardImageOf } from "../../twin/fleet/memory-ota";
import { FleetSimulator } from "../../twin/fleet/simulator";
import { Twin } from "../../twin/device";
import { startFleetTestServer, type FleetTestServer } from "../support/fleet-server";

const v1 = buildImage({ version: "1.0.0", size: 20_000 });
const v2 = buildImage({ version: "2.0.0", size: 24_000 });

interface History {
  checkins: Array<{ answer: string; updateResult: string | null; updateVersion?: string | null; reportNotCounted: string | null }>;
}

describe("a board whose clock starts at 1970, under --require-board-auth", () => {
  let running: FleetTestServer;
  let dir: string;
  let sim: FleetSimulator | undefined;
  let twin: Twin | undefined;
  let url: string;
  const log: Array<Record<string, unknown>> = [];
  const token = "clock-test-token-0123456789abcdef";
  const secret = "clock-fleet-secret-0123456789abcdef";
  before(async () => {
    const logStream = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) log.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    running = await startFleetTestServer("ota-board-clock-", { v1, v2 }, { adminToken: token, fleetSecret: secret, requireBoardAuth: true }, { logLevel: "info", logStream });
    ({ dir, url } = running);
  });
  after(async () => {
    sim?.stop();
    await twin?.stop();
    await running.stop();
  });
  const api = async <T>(path: string, init: RequestInit = {}) =>
    (await (await fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } })).json()) as T;
  const waitFor = async (what: string, done: () => Promise<boolean>) => {
    const deadline = Date.now() + 25_000;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  };

  test("every check-in is recorded, the first after the update's reboot with its outcome, counted", { timeout: 40_000 }, async () => {
    // 1.5 s between a boot and its first check-in (a real board's restart and Wi-Fi join take
    // longer): each boot's clock is the server's Date (whole seconds) give or take half a second.
    sim = new FleetSimulator({ boards: 1, url: `${url}/update`, firstImage: boardImageOf(v1), intervalMs: 1500, restartDelayMs: 50, bootDelayMs: 50, fleetSecret: secret }).start();
    const board = sim.boards[0];
    await waitFor("the board's first check-in recorded", async () => (await api<{ total: number }>("/api/devices")).total === 1);
    await api("/api/rollouts", { method: "POST", body: JSON.stringify({ channel: "stable", image: "v2.bin", stages: [100], threshold: 0.5, minOutcomes: 1 }) });
    await waitFor("the outcome counted", async () => (await api<RolloutView>("/api/rollouts/1")).stages[0].valid === 1);
    sim.stop();
    assert.equal(board.boots, 2);
    assert.deepEqual(board.report, { result: "valid", version: "2.0.0" });
    const stage = (await api<RolloutView>("/api/rollouts/1")).stages[0];
    assert.deepEqual([stage.offered, stage.valid, stage.notCounted], [1, 1, 0]);

    const history = (await api<History>(`/api/devices/${encodeURIComponent(board.mac)}/history`)).checkins.slice().reverse(); // oldest first
    const update = history.findIndex((c) => c.answer === "update");
    assert.ok(update >= 1, JSON.stringify(history));
    const firstAfterBoot = history[update + 1];
    assert.deepEqual([firstAfterBoot?.updateResult, firstAfterBoot?.reportNotCounted], ["valid", null], JSON.stringify(history));

    // Nothing was refused: each boot learnt the time with one HEAD, and no check-in went without valid credentials.
    const refused = log.filter((l) => /without valid board credentials/.test(String(l.msg)));
    assert.deepEqual(refused, []);
    const heads = log.filter((l) => {
      const req = l.req as { method?: string; url?: string } | undefined;
      return l.msg === "incoming request" && req?.method === "HEAD" && req.url === "/_catalog";
    });
    assert.equal(heads.length, 2, "one HEAD /_catalog per boot");
  });

  test("the host twin's board (twin/device.ts) starts with an unset clock too and learns the time", { timeout: 30_000 }, async () => {
    const before = log.length;
    twin = await Twin.start({
      flashPath: join(dir, "twin-flash.bin"),
      fresh: true,
      firstApp: () => v1,
      server: { host: "127.0.0.1", port: Number(new URL(url).port), path: "." },
      requirePassword: false,
      joinMs: 50,
      updater: { boardAuth: { secret }, checkIn: { url: `${url}/update`, intervalMs: 500 } },
    });
    const mac = twin.device.macs.sta;
    await waitFor("the twin's check-in recorded", async () => (await fetch(`${url}/api/devices/${encodeURIComponent(mac)}/history`, { headers: { authorization: `Bearer ${token}` } })).status === 200);
    const heads = log.slice(before).filter((l) => (l.req as { method?: string; url?: string } | undefined)?.url === "/_catalog" && l.msg === "incoming request");
    assert.equal(heads.length, 1, "it asked the time once");
    assert.deepEqual(log.slice(before).filter((l) => /without valid board credentials/.test(String(l.msg))), []);
  });
});

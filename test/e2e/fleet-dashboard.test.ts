// The fleet dashboard as a person uses it, in real Chromium: sign in with the
// admin token, see 30 simulated boards (the device core's check-in client on
// Node, twin/fleet), upload a 2.0.0 image with the form, start a 3-stage
// rollout, watch stage 1 go through, advance by hand, and see stage 2 halt by
// itself when its boards fail their start-up check and roll back, with those
// boards standing out in the device list. Screenshots at desktop size and at
// 375x667 in artifacts/screenshots/fleet-*.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser } from "playwright-core";
import { buildServer, type OtaServer } from "../../server/app";
import { bucketOf, firstStage } from "../../server/fleet/cohort";
import type { RolloutView } from "../../server/fleet/rollouts";
import { rulesFromObject } from "../../server/rules";
import { buildImage } from "../../tools/esp-image";
import { boardImageOf } from "../../twin/fleet/memory-ota";
import { boardMac, FleetSimulator } from "../../twin/fleet/simulator";
import { failingBoards } from "../../twin/fleet/startup-check";
import { launchChromium, screenshots } from "../support/browser";

const TOKEN = "e2e-fleet-token-0123456789abcdef";
const BOARDS = 30;
const STAGES = [10, 50, 100];

/** A MAC prefix whose 30 boards give stage 1 at least 2 boards and stage 2 at least 8: found, not hoped for. */
function macPrefix(): string {
  for (let p = 0; p < 256; p++) {
    const prefix = `02:F1:${p.toString(16).toUpperCase().padStart(2, "0")}:00`;
    const stages = Array.from({ length: BOARDS }, (_, i) => firstStage(bucketOf(boardMac(prefix, i)), STAGES));
    if (stages.filter((s) => s === 0).length >= 2 && stages.filter((s) => s === 1).length >= 8 && stages.filter((s) => s === 2).length >= 8) return prefix;
  }
  throw new Error("no MAC prefix found");
}

let browser: Browser;
let dir: string;
let server: OtaServer;
let fleet: FleetSimulator;
let base: string;
const prefix = macPrefix();
const macs = Array.from({ length: BOARDS }, (_, i) => boardMac(prefix, i));
const stageOf = (mac: string) => firstStage(bucketOf(mac), STAGES);
const stage2 = macs.filter((m) => stageOf(m) === 1);
const failing = stage2.slice(0, Math.ceil(stage2.length / 2));
const v1 = buildImage({ version: "1.0.0", size: 60_000, projectName: "fleet" });
const v2 = buildImage({ version: "2.0.0", size: 64_000, projectName: "fleet" });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ota-fleet-e2e-"));
  const catalogDir = join(dir, "catalog");
  const { mkdirSync } = await import("node:fs");
  mkdirSync(catalogDir);
  writeFileSync(join(catalogDir, "fleet-1.0.0.bin"), v1);
  writeFileSync(join(dir, "fleet-2.0.0.bin"), v2); // uploaded through the dashboard
  server = await buildServer({
    catalogDir,
    logLevel: "silent",
    rules: rulesFromObject({ default: { firmware: "fleet-1.0.0.bin", channel: "stable" } }),
    fleet: { db: join(dir, "fleet.db"), adminToken: TOKEN, tickMs: 200 },
  });
  await server.app.listen({ port: 0, host: "127.0.0.1" });
  const address = server.app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  base = `http://127.0.0.1:${port}`;
  fleet = new FleetSimulator({
    boards: BOARDS,
    url: `${base}/update`,
    firstImage: boardImageOf(v1),
    intervalMs: 600,
    restartDelayMs: 100,
    bootDelayMs: 100,
    check: failingBoards(failing, ["2.0.0"]),
    macPrefix: prefix,
  }).start();
  browser = await launchChromium();
});

after(async () => {
  fleet?.stop();
  await browser?.close();
  await server?.app.close();
  rmSync(dir, { recursive: true, force: true });
});

async function api<T>(path: string): Promise<T> {
  const r = await fetch(base + path, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(r.status, 200);
  return (await r.json()) as T;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

test("a 3-stage rollout over 30 simulated boards: stage 1 passes, stage 2 halts itself, the dashboard shows it", { timeout: 120_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  try {
    const signIn = await page.goto(`${base}/dashboard`);
    assert.equal(signIn?.status(), 401);
    await screenshots(page, "fleet-1-sign-in");
    await page.fill('input[name="token"]', "not-the-token-at-all");
    await page.click('#login-form button[type="submit"]');
    await page.locator("#login-error").waitFor();
    await page.fill('input[name="token"]', TOKEN);
    await page.click('#login-form button[type="submit"]');
    await page.locator("#devices").waitFor();

    await until("30 boards checked in", async () => ((await api<{ total: number }>("/api/devices")).total === BOARDS ? true : undefined));
    await page.reload();
    assert.equal(await page.locator("table.devices tbody tr").count(), BOARDS);
    assert.match((await page.locator("#devices h2").textContent()) ?? "", /30 known · 1\.0\.0: 30/);

    // upload 2.0.0 with the form; the progress bar and the facts read from the header
    await page.setInputFiles('#upload-form input[name="file"]', join(dir, "fleet-2.0.0.bin"));
    await page.click("#upload-btn");
    await page.locator('#upload-status[data-state="done"]').waitFor();
    assert.match((await page.locator("#upload-status").textContent()) ?? "", new RegExp(`Uploaded fleet-2\\.0\\.0\\.bin: version 2\\.0\\.0, ESP32, ${v2.length} bytes`));
    assert.equal(await page.locator("#upload-progress").evaluate((el) => (el as HTMLProgressElement).value), 100);
    await screenshots(page, "fleet-2-uploaded");

    await page.selectOption("#rollout-image", "fleet-2.0.0.bin");
    await page.fill('#rollout-form input[name="stages"]', "10,50,100");
    await page.fill('#rollout-form input[name="threshold"]', "30");
    await page.fill('#rollout-form input[name="minOutcomes"]', "3");
    await page.click('#rollout-form button[type="submit"]');
    assert.equal((await page.locator("#page-note").textContent())?.trim(), "Rollout 1 started");

    const stage1 = macs.filter((m) => stageOf(m) === 0);
    await until("stage 1 updated", async () => {
      const r = (await api<{ rollouts: RolloutView[] }>("/api/rollouts")).rollouts[0];
      return r.stages[0].valid === stage1.length ? r : undefined;
    });
    await page.reload();
    const first = page.locator('#rollout-1 .stage[data-stage="1"]');
    assert.match((await first.textContent()) ?? "", new RegExp(`${stage1.length} boards · ${stage1.length} offered · ${stage1.length} updated`));
    await screenshots(page, "fleet-3-stage-1-done");

    await page.click('#rollout-1 button[data-action="advance"]');
    assert.equal((await page.locator("#page-note").textContent())?.trim(), "Rollout 1 advanced");
    const halted = await until("the automatic halt", async () => {
      const r = (await api<{ rollouts: RolloutView[] }>("/api/rollouts")).rollouts[0];
      return r.state === "halted" ? r : undefined;
    });
    assert.match(halted.haltedReason ?? "", /^stage 2: \d+ of \d+ updates failed or rolled back \(\d+(\.\d)?% > 30%\)$/);
    // let every board that was sent 2.0.0 report, then look
    await until("stage 2 reports", async () => {
      const r = (await api<{ rollouts: RolloutView[] }>("/api/rollouts")).rollouts[0].stages[1];
      return r.valid + r.rolledBack === r.offered ? r : undefined;
    });
    await new Promise((r) => setTimeout(r, 1500)); // two more check-in rounds: nothing new is offered
    await page.reload();

    const card = page.locator("#rollout-1");
    assert.equal(await card.getAttribute("data-state"), "halted");
    assert.match((await card.locator(".halted-reason").textContent()) ?? "", /Halted: stage 2: /);
    assert.equal(await card.locator('.stage[data-stage="2"]').getAttribute("data-state"), "halted");
    assert.equal(await card.locator('.stage[data-stage="3"]').getAttribute("data-state"), "pending");
    assert.match((await card.locator('.stage[data-stage="3"]').textContent()) ?? "", /0 offered/);
    assert.equal(await card.locator('button[data-action="resume"]').count(), 1);
    const redRows = page.locator("table.devices tr.rolled-back");
    assert.equal(await redRows.count(), failing.length);
    for (const mac of failing) assert.equal(await page.locator(`tr.rolled-back[data-mac="${mac}"] .result`).textContent(), "rolled-back 2.0.0");
    const rowColor = await redRows.first().locator("td").first().evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(rowColor, "rgb(253, 236, 234)");
    await screenshots(page, "fleet-4-halted");

    // the boards: stage 1 and the good half of stage 2 on 2.0.0; the failing half rolled back; stage 3 untouched
    for (const b of fleet.boards) {
      const expected = stageOf(b.mac) === 0 || (stageOf(b.mac) === 1 && !failing.includes(b.mac)) ? "2.0.0" : "1.0.0";
      assert.equal(b.running.version, expected, b.mac);
    }
    const stats = (await api<{ rollouts: RolloutView[] }>("/api/rollouts")).rollouts[0].stages;
    assert.deepEqual([stats[1].rolledBack, stats[2].offered], [failing.length, 0]);

    await page.click(`a[href="/dashboard/devices/${failing[0]}"]`);
    await page.locator("#checkins").waitFor();
    assert.match((await page.locator("#checkins").textContent()) ?? "", /rolled-back 2\.0\.0/);
    assert.match((await page.locator("#downloads").textContent()) ?? "", /fleet-2\.0\.0\.bin/);
    await screenshots(page, "fleet-5-device");
  } finally {
    await context.close();
  }
});

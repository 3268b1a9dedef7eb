// A power-cut sweep of whole update flows on the twin, MCUboot style: for a
// catalog update, a phone upload, a check-in update and "Go back", a clean run
// counts the flash operations (sector erases and write calls, otadata
// included) from the user's action until the board has settled (the commit's
// restart, the first boot's otadata write, the start-up check's confirm); then
// each run cuts the power at one of them (the twin's armed cut, flash-file.ts,
// as test/twin/mods.test.ts does for mods), lets the twin boot again on its own
// and checks the board: it runs one of its two images, otadata agrees with it
// (a second bootloader pass over a copy of the flash picks the same slot, the
// running slot is VALID, nothing is left NEW or PENDING_VERIFY), and what the
// home page, /api/status and the next check-in say is true. Used by
// test/twin/power-sweep.test.ts (a sample) and bench/sweep.ts (every point).
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StatusJson } from "../../modules/core/portal/pages-home";
import { buildServer } from "../../server/app";
import { demoImage, writeDemoCatalog, type DemoFirmware } from "../../twin/demo-catalog";
import { Twin, type TwinOptions } from "../../twin/device";
import { boot } from "../../twin/flash/bootloader";
import { DeviceFlash } from "../../twin/flash/device-flash";
import { OtaState, slotState } from "../../twin/flash/otadata";

export const FLOWS = ["catalog", "upload", "checkin", "go-back"] as const;
export type Flow = (typeof FLOWS)[number];

const OLD = "1.0.0";
const NEW = "1.1.0";
const NEW_NAME = "demo-1.1.0.bin";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

/** An HTTPUpdate server that records each check-in's headers and offers `offer` (200 with x-MD5) or answers 304. */
class CheckinServer {
  readonly heads: IncomingHttpHeaders[] = [];
  offer: Uint8Array | undefined;
  port = 0;
  private readonly server: Server = createServer((req, res) => {
    this.heads.push(req.headers);
    const image = this.offer;
    if (!image) return res.writeHead(304).end();
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": image.length, "x-MD5": md5(image) }).end(image);
  });

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export interface RunResult {
  flow: Flow;
  /** The cut point (undefined: a clean run). */
  cutAt: number | undefined;
  /** Flash operations from the action to the settled board (meaningful for a clean run). */
  ops: number;
  /** The armed cut happened. */
  cut: boolean;
  /** The flow's target image booted at some point (pending or confirmed). */
  targetBooted: boolean;
  version: string;
  lastUpdate: StatusJson["lastUpdate"];
  /** What was not true of the board afterwards; empty when all held. */
  failures: string[];
}

export interface SweepRig {
  run(flow: Flow, cutAt?: number): Promise<RunResult>;
  stop(): Promise<void>;
}

/** The twin's timing for the sweep: short restarts, joins and check window, so a run takes a fraction of a second. */
const FAST: Partial<TwinOptions> = {
  bootDelayMs: 10,
  joinMs: 10,
  boot: { windowMs: 3000, pollMs: 20, restartDelayMs: 50 },
  updater: { restartDelayMs: 50, stallMs: 2000 },
};

/**
 * Starts the update server on a demo catalog of `scale` (its 1.1.0 is the
 * image every flow installs), a check-in server, and two saved boards: 1.0.0
 * confirmed (the update flows start there) and 1.1.0 confirmed over 1.0.0
 * (where "Go back" starts).
 */
export async function startSweepRig(scale = 0.05): Promise<SweepRig> {
  const dir = mkdtempSync(join(tmpdir(), "ota-sweep-"));
  const catalogDir = join(dir, "catalog");
  const firmwares: DemoFirmware[] = writeDemoCatalog(catalogDir, scale);
  const newImage = demoImage(firmwares.find((f) => f.name === NEW_NAME)!);
  const { app } = await buildServer({ catalogDir, logLevel: "silent" });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const serverPort = (app.server.address() as AddressInfo).port;
  const checkin = new CheckinServer();
  await checkin.listen();
  const options = (flashPath: string, fresh: boolean): TwinOptions => ({ flashPath, fresh, server: { host: "127.0.0.1", port: serverPort, path: "." }, ...FAST });

  // The two starting boards, saved as flash and NVS files.
  const atOld = join(dir, "old", "flash.bin");
  mkdirSync(join(dir, "old"));
  const first = await Twin.start(options(atOld, true));
  await settled(first, 1);
  await first.stop();
  const atNew = join(dir, "new", "flash.bin");
  copyBoard(atOld, atNew);
  const second = await Twin.start(options(atNew, false));
  await settled(second, 1);
  await drive(second, "catalog", checkin, newImage);
  await settled(second, 2);
  if (second.device.appVersion !== NEW) throw new Error(`the "Go back" board runs ${second.device.appVersion}`);
  await second.stop();

  let runs = 0;
  return {
    async run(flow, cutAt) {
      const flashPath = join(dir, `run-${runs++}`, "flash.bin");
      copyBoard(flow === "go-back" ? atNew : atOld, flashPath);
      const lines: string[] = [];
      const twin = await Twin.start({ ...options(flashPath, false), log: (line) => lines.push(line) });
      try {
        await settled(twin, 1);
        const before = await status(twin);
        const ops = opsOf(twin);
        if (cutAt !== undefined) twin.cutPower({ afterOps: cutAt });
        await drive(twin, flow, checkin, newImage);
        // Every flow ends in a restart: the commit's, Go back's, or the cut's.
        await settled(twin, 2);
        const after = await status(twin);
        const done = opsOf(twin) - ops;
        const targetBooted = lines.some((line) => line.startsWith("twin: booted ") && line.includes(` ${targetOf(flow)} (`));
        const failures = await judge(twin, flow, before, after, checkin, targetBooted);
        return { flow, cutAt, ops: done, cut: lines.includes("twin: power cut"), targetBooted, version: after.version, lastUpdate: after.lastUpdate, failures };
      } finally {
        await twin.stop();
        rmSync(join(flashPath, ".."), { recursive: true, force: true });
      }
    },
    async stop() {
      await checkin.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function copyBoard(from: string, to: string): void {
  mkdirSync(join(to, ".."), { recursive: true });
  copyFileSync(from, to);
  copyFileSync(`${from}.nvs.json`, `${to}.nvs.json`);
}

function opsOf(twin: Twin): number {
  return twin.flash.chip.counters.sectorsErased + twin.flash.chip.counters.writes;
}

async function status(twin: Twin): Promise<StatusJson> {
  return (await (await fetch(new URL("/api/status", twin.url))).json()) as StatusJson;
}

/** The user's action: the request that starts the flow. The power may go while it runs: the answer is not needed. */
async function drive(twin: Twin, flow: Flow, checkin: CheckinServer, image: Uint8Array): Promise<void> {
  const post = (path: string, body?: RequestInit["body"], headers: Record<string, string> = {}) =>
    fetch(new URL(path, twin.url), { method: "POST", headers, body, redirect: "manual" })
      .then((r) => r.text())
      .catch(() => "");
  const form = { "content-type": "application/x-www-form-urlencoded" };
  checkin.offer = flow === "checkin" ? image : undefined;
  if (flow === "catalog") {
    await post("/api/catalog");
    for (let i = 0; i < 200; i++) {
      const state = await fetch(new URL("/api/catalog", twin.url)).then((r) => r.json() as Promise<{ state: string }>);
      if (state.state !== "loading" && state.state !== "idle") break;
      await sleep(10);
    }
    await post("/api/update", `fw=${NEW_NAME}`, form);
  } else if (flow === "upload") {
    await post("/update/upload", Buffer.from(image), { "content-type": "application/octet-stream", "x-MD5": md5(image), "x-Filename": NEW_NAME });
  } else if (flow === "checkin") {
    await post("/update/checkin", `url=${encodeURIComponent(`http://127.0.0.1:${checkin.port}/checkin`)}`, form);
  } else {
    await post("/api/rollback");
  }
}

/**
 * Waits until the twin has booted `boots` times in all and is settled: up, its
 * image confirmed, no update running or committed (a restart pending), and
 * still so a moment later.
 */
async function settled(twin: Twin, boots: number, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let quiet = 0;
  for (;;) {
    const ok = twin.boots >= boots && twin.up && calm(twin);
    quiet = ok ? quiet + 1 : 0;
    if (quiet >= 4) return;
    if (Date.now() > end) throw new Error(`the twin did not settle (boots ${twin.boots}, up ${twin.up})`);
    await sleep(25);
  }
}

function calm(twin: Twin): boolean {
  const s = twin.policy.status();
  return s.otaState === "valid" && s.phase !== "checking";
}

type LastUpdate = StatusJson["lastUpdate"];
const same = (a: LastUpdate, b: LastUpdate) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const show = (l: LastUpdate) => (l ? `${l.version} ${l.result}` : "none");

/**
 * What may be said of the last update after `flow`, given the image the board
 * runs: the new image confirmed; or, back on the image it ran before, the
 * record it had (the flow never reached the boot switch) or the flow's target
 * rolled back (the switch was written, or begun, and the board went back).
 */
function truthful(flow: Flow, running: string, before: LastUpdate, targetBooted: boolean): LastUpdate[] {
  const target = flow === "go-back" ? OLD : NEW;
  const start = flow === "go-back" ? NEW : OLD;
  if (running === target) return [{ version: target, result: "valid" }];
  const back: LastUpdate = { version: target, result: "rolled-back" };
  // Once the target has run, going back is a rollback, whatever cut it short.
  if (running === start) return targetBooted ? [back] : [before, back];
  return [];
}

/** The version the flow switches to. */
export const targetOf = (flow: Flow) => (flow === "go-back" ? OLD : NEW);

/** Everything that must hold of a settled board after a run; the failures, worded. */
async function judge(twin: Twin, flow: Flow, before: StatusJson, after: StatusJson, checkin: CheckinServer, targetBooted: boolean): Promise<string[]> {
  const failures: string[] = [];
  const fail = (what: string) => failures.push(what);
  if (![OLD, NEW].includes(after.version)) fail(`runs ${after.version}, neither of its two images`);

  // otadata: a second bootloader pass (over a copy: it may write) picks the running slot and image.
  const scratch = mkdtempSync(join(tmpdir(), "ota-sweep-boot-"));
  try {
    copyFileSync(twin.flash.chip.path, join(scratch, "flash.bin"));
    const copy = DeviceFlash.open(join(scratch, "flash.bin"), { firstApp: () => new Uint8Array(0) });
    try {
      const again = boot(copy, { chipId: 0, chipRevision: 300, rollback: true });
      if (again.partition.label !== after.partition || again.app.descriptor.version !== after.version) fail(`the next boot would run ${again.app.descriptor.version} from ${again.partition.label}, the board says ${after.version} from ${after.partition}`);
      if (again.aborted.length > 0 || again.rejected.length > 0) fail(`the next boot would abort ${JSON.stringify(again.aborted)} or reject ${JSON.stringify(again.rejected)}`);
      if (again.app.md5 !== twin.device.sketchMd5) fail("the running image differs from the one its slot holds");
    } finally {
      copy.chip.close();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const entries = twin.flash.readOtadata();
  const slot = twin.flash.slots.findIndex((p) => p.label === after.partition);
  if (slotState(entries, slot, twin.flash.slots.length) !== OtaState.VALID) fail(`the running slot ${after.partition} is not VALID in otadata`);
  for (const e of entries) if (e.state === OtaState.NEW || e.state === OtaState.PENDING_VERIFY) fail(`an otadata entry (seq ${e.seq}) is left ${e.state === OtaState.NEW ? "NEW" : "PENDING_VERIFY"}`);

  // /api/status and the home page
  if (after.otaState !== "valid") fail(`otaState ${after.otaState}`);
  const allowed = truthful(flow, after.version, before.lastUpdate, targetBooted);
  if (!allowed.some((l) => same(l, after.lastUpdate))) fail(`running ${after.version}, it reports the last update as ${show(after.lastUpdate)} (true: ${allowed.map(show).join(" or ")})`);
  const home = await (await fetch(twin.url)).text();
  if (!home.includes(`<dd id=version>${after.version}</dd>`)) fail(`the home page does not show version ${after.version}`);
  const rolledBack = /was rolled back; running/.test(home);
  if (rolledBack !== (after.lastUpdate?.result === "rolled-back")) fail(`the home page ${rolledBack ? "says" : "does not say"} an update was rolled back; the record: ${show(after.lastUpdate)}`);

  // the next check-in: what it says of the board and of its last update
  checkin.offer = undefined; // this one hears 304
  const heard = checkin.heads.length;
  await fetch(new URL("/update/checkin", twin.url), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `url=${encodeURIComponent(`http://127.0.0.1:${checkin.port}/checkin`)}`, redirect: "manual" });
  for (let i = 0; i < 200 && checkin.heads.length === heard; i++) await sleep(10);
  const head = checkin.heads[heard];
  if (!head) fail("no check-in came");
  else {
    if (head["x-esp32-version"] !== after.version) fail(`the check-in says version ${String(head["x-esp32-version"])}, it runs ${after.version}`);
    if (head["x-esp32-sketch-md5"] !== twin.device.sketchMd5) fail("the check-in's sketch MD5 is not the running image's");
    const said: LastUpdate = head["x-esp32-update-result"] === undefined ? null : { version: String(head["x-esp32-update-version"]), result: String(head["x-esp32-update-result"]) as "valid" };
    if (!same(said, after.lastUpdate)) fail(`the check-in reports ${show(said)}, the status ${show(after.lastUpdate)}`);
  }
  return failures;
}

/**
 * The cut points a sample runs, out of `count`: the first and last `edge`, and
 * every k-th between them (k chosen so the whole sample has about `size`
 * points). Deterministic: the same count gives the same points.
 */
export function samplePoints(count: number, size: number, edge = 3): number[] {
  const points = new Set<number>();
  for (let i = 0; i < Math.min(edge, count); i++) points.add(i).add(count - 1 - i);
  const k = Math.max(1, Math.floor(count / Math.max(1, size - 2 * edge)));
  for (let i = 0; i < count; i += k) points.add(i);
  return [...points].filter((p) => p >= 0 && p < count).sort((a, b) => a - b);
}

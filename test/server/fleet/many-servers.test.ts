// Many servers, one PostgreSQL: three ota-server processes behind nginx
// (Debian's nginx-light, round robin) on a throwaway PostgreSQL of this test's
// own (it is stopped and started again mid-run, so it cannot be the suite's
// shared OTA_TEST_PG_URL). Concurrent check-ins, two admins on two servers,
// scheduled advances on every server racing a halt, failure reports through
// all three, then `kill -9` of one server and a PostgreSQL restart while
// boards keep checking in. Skipped, with the reason, only when PostgreSQL's
// server binaries or nginx are missing (CI installs both).
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { hasNginx, startNginx, type Nginx } from "../../../bench/nginx";
import { bucketOf, firstStage } from "../../../server/fleet/cohort";
import type { RolloutView } from "../../../server/fleet/rollouts";
import { buildImage } from "../../../tools/esp-image";
import { esp32Headers, rawRequest, requestText, type RawResponse } from "../helpers";
import { macOf, TOKEN } from "./helpers";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const PG_TEMP = join(ROOT, "scripts", "pg-temp.sh");
const v1 = Buffer.from(buildImage({ version: "1.0.0", size: 20_000 }));
const v2 = Buffer.from(buildImage({ version: "2.0.0", size: 21_000 }));
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const BOARDS = Array.from({ length: 150 }, (_, i) => macOf(0x300 + i));

function missing(): string | undefined {
  const pgBin = spawnSync("bash", ["-c", "ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null || command -v initdb"]).status === 0;
  const why = [!pgBin && "PostgreSQL's server binaries (sudo apt-get install -y postgresql)", !hasNginx() && "nginx (sudo apt-get install -y nginx-light)"].filter(Boolean);
  if (why.length === 0) return undefined;
  // CI installs both: there a missing one is a failure, not a skip.
  if (process.env.OTA_TEST_PG_REQUIRED === "1") return undefined;
  return `many servers on one PostgreSQL skipped: missing ${why.join(" and ")}`;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface OtaProcess {
  name: string;
  port: number;
  child: ChildProcess;
  logs: Array<{ msg?: string; level?: number }>;
}

async function startOta(name: string, catalog: string, rules: string, db: string): Promise<OtaProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "server", "cli.ts"), "-p", String(port), "-d", catalog, "--config", rules, "--db", db, "-l", "INFO"], {
    cwd: ROOT,
    env: { ...process.env, OTA_ADMIN_TOKEN: TOKEN },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const p: OtaProcess = { name, port, child, logs: [] };
  let out = "";
  let partial = "";
  child.stdout!.on("data", (c: Buffer) => {
    out += c.toString();
    const lines = (partial + c.toString()).split("\n");
    partial = lines.pop()!;
    for (const line of lines) if (line.startsWith("{")) p.logs.push(JSON.parse(line) as { msg?: string });
  });
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const onData = () => out.includes("registry:") && resolve();
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${name} exited ${code}: ${out}`)));
  });
  return p;
}

const stop = (p: OtaProcess) =>
  new Promise<void>((resolve) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
    p.child.once("exit", () => resolve());
    p.child.kill("SIGTERM");
  });

/** Polls until check() holds (records are written after each answer). */
async function eventually<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  let value = await read();
  while (!check(value)) {
    if (Date.now() > until) assert.fail(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}

/** Runs jobs with at most `width` at once. */
async function pool<T>(items: T[], width: number, job: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await job(items[next++]);
  }));
}

const skip = missing();

describe("three ota-servers behind nginx on one PostgreSQL", { skip }, () => {
  let work: string;
  let pgState: string;
  let url: string;
  let servers: OtaProcess[] = [];
  let nginx: Nginx | undefined;
  let port: number;
  const running = new Map<string, Buffer>(BOARDS.map((m) => [m, v1]));

  const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query(text, params)).rows as T[];
    } finally {
      await c.end();
    }
  };
  const count = async (text: string, params: unknown[] = []) => Number((await sql<{ n: string }>(text, params))[0].n);

  /** A board's check-in through nginx, running what `running` says; reports `report` when given. */
  const checkIn = (mac: string, report?: { result: string; version: string }): Promise<RawResponse> => {
    const fw = running.get(mac)!;
    const h = esp32Headers({ "x-ESP32-STA-MAC": mac, "x-ESP32-BASE-MAC": mac, "x-ESP32-sketch-md5": md5(fw), "x-ESP32-version": fw === v1 ? "1.0.0" : "2.0.0" });
    delete h["x-ESP32-sketch-sha256"];
    if (report) Object.assign(h, { "x-ESP32-update-result": report.result, "x-ESP32-update-version": report.version });
    return rawRequest(port, requestText("/update", h));
  };
  const api = async <T>(server: OtaProcess | "nginx", path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const p = server === "nginx" ? port : server.port;
    const r = await fetch(`http://127.0.0.1:${p}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as T };
  };
  const events = (id: number) => sql<{ kind: string; stage: number }>("SELECT kind, stage FROM rollout_events WHERE rollout_id = $1 ORDER BY id", [id]);

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "ota-many-"));
    pgState = join(work, "pg");
    const r = spawnSync("bash", [PG_TEMP, "start", pgState], { encoding: "utf8" });
    assert.equal(r.status, 0, `PostgreSQL did not start: ${r.stderr}`);
    url = r.stdout.trim();
    const catalog = join(work, "catalog");
    await mkdir(join(catalog, "fw"), { recursive: true });
    await writeFile(join(catalog, "fw", "v1.bin"), v1);
    await writeFile(join(catalog, "fw", "v2.bin"), v2);
    const rules = join(work, "rules.yaml");
    await writeFile(rules, "default: { firmware: fw/v1.bin, channel: stable }\n");
    // Started together: migrations run once behind their lock.
    servers = await Promise.all(["A", "B", "C"].map((n) => startOta(n, catalog, rules, url)));
    port = await freePort();
    nginx = await startNginx({ kind: "balance", upstreamPorts: servers.map((s) => s.port) }, port, join(work, "nginx"), 1);
  });
  after(async () => {
    await Promise.all(servers.map(stop));
    await nginx?.stop();
    if (pgState) spawnSync("bash", [PG_TEMP, "stop", pgState]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  test("started together, the servers applied each migration once", async () => {
    const versions = await sql<{ version: number }>("SELECT version FROM schema_migrations ORDER BY version");
    assert.deepEqual(versions.map((v) => Number(v.version)), [...new Set(versions.map((v) => Number(v.version)))]);
    assert.ok(versions.length >= 2);
  });

  test("concurrent check-ins through all three: every board answered, every check-in counted once (repeats folded into the board's row)", async () => {
    const statuses: number[] = [];
    await pool([...BOARDS, ...BOARDS], 25, async (mac) => void statuses.push((await checkIn(mac)).status));
    assert.deepEqual([...new Set(statuses)], [304]);
    // The first check-in of each board is a row; its unchanged repeat folds into the board's row (bounded history).
    await eventually("check-ins recorded", () => count("SELECT sum(checkins) AS n FROM devices"), (n) => n === 2 * BOARDS.length);
    assert.equal(await count("SELECT count(*) AS n FROM checkins"), BOARDS.length);
    assert.equal(await count("SELECT sum(repeat_checkins) AS n FROM devices"), BOARDS.length);
    assert.equal(await count("SELECT count(*) AS n FROM devices"), BOARDS.length);
    // every server took part
    for (const s of servers) assert.ok(s.logs.some((l) => l.msg === "request completed"), `${s.name} answered none`);
  });

  test("two admins advance the same rollout on two servers at once: it moves once; an advance racing a halt: halted once", async () => {
    const created = await api<RolloutView>("nginx", "/api/rollouts", { channel: "stable", image: "fw/v2.bin", stages: [10, 25, 50, 75, 100] });
    assert.equal(created.status, 201);
    const id = created.body.id;
    const [a, b] = await Promise.all([api(servers[0], `/api/rollouts/${id}/advance`, { stage: 1 }), api(servers[1], `/api/rollouts/${id}/advance`, { stage: 1 })]);
    assert.deepEqual([a.status, b.status].sort(), [200, 409]);
    const [c, d] = await Promise.all([api(servers[1], `/api/rollouts/${id}/advance`, {}), api(servers[2], `/api/rollouts/${id}/advance`, {})]);
    assert.deepEqual([c.status, d.status], [200, 200], "without a stage named, two presses are two stages");
    const [halt, advance] = await Promise.all([api(servers[0], `/api/rollouts/${id}/halt`, {}), api(servers[2], `/api/rollouts/${id}/advance`, { stage: 4 })]);
    assert.equal(halt.status, 200);
    const log = await events(id);
    assert.deepEqual(log.filter((e) => e.kind === "advanced").map((e) => Number(e.stage)), advance.status === 200 ? [2, 3, 4, 5] : [2, 3, 4]);
    assert.equal(log.filter((e) => e.kind === "halted").length, 1);
    assert.equal((await api<RolloutView>("nginx", `/api/rollouts/${id}`)).body.stage, advance.status === 200 ? 5 : 4);
  });

  test("scheduled advances on all three servers racing a halt: each stage once, nothing after the halt", async () => {
    const stages = [5, 10, 20, 30, 40, 50, 60, 70, 80, 100];
    const created = await api<RolloutView>("nginx", "/api/rollouts", { channel: "stable", image: "fw/v2.bin", stages, advanceEveryMs: 400 });
    const id = created.body.id;
    // every server ticks once a second: wait for a few advances, then halt while they keep ticking
    await eventually("scheduled advances", async () => (await api<RolloutView>("nginx", `/api/rollouts/${id}`)).body.stage, (s) => s >= 3);
    assert.equal((await api(servers[1], `/api/rollouts/${id}/halt`, {})).status, 200);
    const halted = (await api<RolloutView>("nginx", `/api/rollouts/${id}`)).body.stage;
    await new Promise((r) => setTimeout(r, 2200));
    const view = (await api<RolloutView>("nginx", `/api/rollouts/${id}`)).body;
    assert.equal(view.state, "halted");
    assert.equal(view.stage, halted, "no advance after the halt");
    const log = await events(id);
    const advances = log.filter((e) => e.kind === "advanced").map((e) => Number(e.stage));
    assert.deepEqual(advances, Array.from({ length: halted - 1 }, (_, i) => i + 2), "each stage advanced exactly once");
    assert.equal(log.filter((e) => e.kind === "halted").length, 1);
  });

  test("failure reports through all three servers: each outcome counted once, the halt rule fires once", async () => {
    const created = await api<RolloutView>("nginx", "/api/rollouts", { channel: "stable", image: "fw/v2.bin", stages: [100], threshold: 0.2, minOutcomes: 5 });
    const id = created.body.id;
    const offered = BOARDS.slice(0, 60);
    await pool(offered, 20, async (mac) => {
      const r = await checkIn(mac);
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(v2));
    });
    await eventually("offers recorded", () => count("SELECT count(*) AS n FROM rollout_devices WHERE rollout_id = $1 AND downloaded_at IS NOT NULL", [id]), (n) => n === offered.length);
    // each board reports its rollback twice (a repeated check-in), on whichever servers nginx picks
    await pool([...offered, ...offered], 30, async (mac) => void (await checkIn(mac, { result: "rolled-back", version: "2.0.0" })));
    await eventually("outcomes recorded", () => count("SELECT count(*) AS n FROM rollout_devices WHERE rollout_id = $1 AND outcome = 'rolled-back'", [id]), (n) => n === offered.length);
    assert.equal((await events(id)).filter((e) => e.kind === "halted").length, 1);
    const warned = servers.flatMap((s) => s.logs).filter((l) => l.msg === "fleet: rollout halted by its failure threshold");
    assert.equal(warned.length, 1, "one server halted it");
    const view = (await api<RolloutView>("nginx", `/api/rollouts/${id}`)).body;
    assert.equal(view.state, "halted");
    assert.equal(view.stages[0].rolledBack, offered.length);
  });

  test("kill -9 of one server mid-rollout, then a PostgreSQL restart: boards answered throughout, nothing recorded is lost, the servers reconnect", async () => {
    const stages = [50, 100];
    const created = await api<RolloutView>("nginx", "/api/rollouts", { channel: "stable", image: "fw/v2.bin", stages });
    const id = created.body.id;
    const boards = BOARDS.slice(60);
    const inRollout = new Set(boards.filter((m) => firstStage(bucketOf(m), stages) === 0));
    const answers: Array<{ mac: string; status: number; v2: boolean }> = [];
    let cut = 0;
    const stream = async (ms: number) => {
      const until = Date.now() + ms;
      let i = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (Date.now() < until) {
          const mac = boards[i++ % boards.length];
          let r = await checkIn(mac);
          // A download the dying server had begun is cut short; the board asks again, as a real one does.
          if (r.status === 200 && r.body.length < Number(r.headers["content-length"])) {
            cut++;
            r = await checkIn(mac);
          }
          answers.push({ mac, status: r.status, v2: r.status === 200 && r.body.equals(v2) });
        }
      }));
    };
    const killed = stream(3000);
    await new Promise((r) => setTimeout(r, 1000));
    servers[2].child.kill("SIGKILL");
    await killed;
    assert.ok(answers.length > 20, `${answers.length} check-ins`);
    assert.ok(cut <= 8, `${cut} answers cut short: at most those in flight on the killed server`);
    for (const a of answers) assert.deepEqual([a.status, a.v2], inRollout.has(a.mac) ? [200, true] : [304, false], `${a.mac} while a server died`);

    // What the registry holds now must all be there after the restart.
    await new Promise((r) => setTimeout(r, 300));
    const before = {
      maxId: await count("SELECT COALESCE(max(id), 0) AS n FROM checkins"),
      checkins: await count("SELECT count(*) AS n FROM checkins"),
      devices: await count("SELECT count(*) AS n FROM devices"),
      outcomes: await count("SELECT count(*) AS n FROM rollout_devices WHERE outcome IS NOT NULL"),
      events: await count("SELECT count(*) AS n FROM rollout_events"),
    };
    assert.equal(spawnSync("bash", [PG_TEMP, "down", pgState]).status, 0);
    const down: RawResponse[] = [];
    for (const mac of boards.slice(0, 20)) down.push(await checkIn(mac));
    // answered by the rules alone: v1, which they run
    assert.deepEqual([...new Set(down.map((r) => r.status))], [304]);
    const live = servers.slice(0, 2);
    assert.ok(live.flatMap((s) => s.logs).some((l) => /^fleet: registry (unavailable|too slow), answering by the rules$/.test(l.msg ?? "")));
    assert.ok(live.flatMap((s) => s.logs).some((l) => l.msg === "fleet: cannot record the request"), "recording skipped, with a log line");
    assert.equal(spawnSync("bash", [PG_TEMP, "up", pgState]).status, 0);
    for (const s of live) assert.equal(s.child.exitCode, null, `${s.name} still running`);

    // Reconnected by themselves: check-ins are recorded again, the rollout answers again.
    await eventually(
      "check-ins recorded after the restart",
      async () => {
        for (const mac of boards.slice(0, 6)) await checkIn(mac);
        return count("SELECT count(*) AS n FROM checkins WHERE id > $1", [before.maxId]);
      },
      (n) => n > 0,
      20_000,
    );
    assert.equal(await count("SELECT count(*) AS n FROM checkins WHERE id <= $1", [before.maxId]), before.checkins);
    assert.equal(await count("SELECT count(*) AS n FROM devices"), before.devices);
    assert.ok((await count("SELECT count(*) AS n FROM rollout_devices WHERE outcome IS NOT NULL")) >= before.outcomes);
    assert.ok((await count("SELECT count(*) AS n FROM rollout_events")) >= before.events);
    const offeredMac = [...inRollout][0];
    const r = await checkIn(offeredMac);
    assert.equal(r.status, 200, "the rollout answers again");
    assert.equal((await api<RolloutView>("nginx", `/api/rollouts/${id}`)).body.state, "active");
  });
});

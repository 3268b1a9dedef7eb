// `npm run bench:fleet`: advanced-updater check-ins with the fleet registry on,
// against the same server without it (--db none) as the reference, in one run,
// interleaved (a different order each run), RUNS runs each:
//   - BENCH_BOARDS boards (default 10,000) checking in once a minute (paced:
//     one check-in every 6 ms at 10,000, 167/s, a fresh connection each, as
//     HTTPUpdate does), BENCH_SECONDS long (default 20 s, ~3,333 check-ins;
//     60 for the whole minute), after every board checked in once (the
//     registry holds them all): check-in latency p50/p99/max as the boards
//     see it, the server's own time per check-in as the registry recorded it
//     (duration_ms: without the accept queue and the client's own scheduling,
//     which on a loaded machine make most of the tail), the server's peak RSS
//     and CPU-ms per check-in (and PostgreSQL's, when the bench started it);
//   - then a burst: 50 boards at once, as fast as they can, 3 s: check-ins/s;
//   - then, with the registry, the dashboard at that many devices: the
//     overview, a page deep in the list, a MAC search and a version filter,
//     each requested 5 times (median ms to the last byte on loopback, an upper
//     bound of the server's time), with no check-in load.
// The registry runs on SQLite (a file) and on PostgreSQL (BENCH_PG_URL, or a
// throwaway server from scripts/pg-temp.sh with PostgreSQL's durable defaults;
// SQLite runs as the server does: WAL, synchronous=NORMAL). Every board is in an active
// rollout at 100 % and already runs its image, so each check-in takes the
// registry's whole path (device row, rollout choice, history rows) and is
// answered 304. Prints figures; asserts nothing.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import Database from "better-sqlite3";
import pg from "pg";
import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkInHeaders } from "../modules/core/engine/checkin";
import type { DeviceInfo } from "../modules/core/ports";
import { buildImage } from "../tools/esp-image";
import { childPids, cpuSeconds, median, rotate, sampleRss, spread } from "./rss";

const ROOT = join(import.meta.dirname, "..");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BOARDS = Number(process.env.BENCH_BOARDS ?? 10_000);
const PER_MINUTE = BOARDS; // each board once a minute
const TOKEN = "bench-admin-token-0123456789abcdef";

const image = buildImage({ version: "2.0.0", size: 64 * 1024 });
const md5 = createHash("md5").update(image).digest("hex");

function mac(i: number): string {
  return `24:6F:28:B0:${((i >> 8) & 0xff).toString(16).toUpperCase().padStart(2, "0")}:${(i & 0xff).toString(16).toUpperCase().padStart(2, "0")}`;
}

/** The check-in request a board of ours sends: the core's own headers. */
function request(i: number, port: number): string {
  const device: DeviceInfo = {
    appName: "bench", appVersion: "2.0.0", chipId: 0, runningPartition: "ota_1", flashSize: 4 << 20, sketchSize: image.length, sketchMd5: md5,
    macs: { sta: mac(i), ap: mac(i), base: mac(i) }, sdkVersion: "v5.1.4",
  };
  const headers = [...checkInHeaders(device, 1966080), ["x-ESP32-update-result", "valid"], ["x-ESP32-update-version", "2.0.0"]];
  return `GET /update HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`;
}

/** Check-ins answered by the rules alone since the last reset (a registry past its deadline). */
let byRules = 0;

/** One check-in; resolves with its latency in ms (to the end of the answer). */
function checkIn(port: number, text: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const socket = connect(port, "127.0.0.1");
    let head = "";
    socket.on("data", (c: Buffer) => (head += c.toString("latin1")));
    socket.on("close", () => {
      if (head.startsWith("HTTP/1.1 304")) return resolve(performance.now() - t0);
      // The rule's image: the registry did not answer within its deadline (fleet.ts), so the rules did.
      if (head.startsWith("HTTP/1.1 200")) return (byRules++, resolve(performance.now() - t0));
      reject(new Error(`answer: ${head.slice(0, 80)}`));
    });
    socket.on("error", reject);
    socket.write(text);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

const cpuMs = (pid: number): number => cpuSeconds([pid]) * 1000;

interface Server {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

async function startServer(catalog: string, rules: string, db: string): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "server", "cli.ts"), "-p", String(port), "-d", catalog, "--config", rules, "--db", db, "-l", "ERROR"], {
    env: { ...process.env, OTA_ADMIN_TOKEN: db === "none" ? "" : TOKEN },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (c: Buffer) => ((out += c.toString()), out.includes("registry:") && resolve()));
    child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
    child.on("exit", (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
  return {
    child,
    port,
    stop: () => new Promise<void>((resolve) => (child.once("exit", () => resolve()), child.kill("SIGTERM"))),
  };
}

interface Figures {
  p50: number;
  p99: number;
  max: number;
  rss: number;
  cpuPerCheckIn: number;
  burst: number;
  warmUpPerSecond: number;
  /** CPU of the database server's processes (PostgreSQL when this bench started it), ms per check-in. */
  dbCpuPerCheckIn: number;
  /** Paced check-ins the rules answered alone because the registry passed its 2 s deadline. */
  answeredByRules: number;
  /** Wall-clock ms of the paced phase, to find its check-ins in the registry. */
  window: [number, number];
  /** The server's own time per check-in (onRequest to the response's close, as the registry records it): p50, p99. */
  server?: [number, number];
  /** Dashboard page -> median ms (registry configurations only). */
  pages: Map<string, number>;
}

/** The dashboard's pages at fleet scale: each a different query shape. */
const PAGES: Array<[string, string]> = [
  ["overview (page 1, charts, rollouts)", "/dashboard"],
  ["page 100 of the list", "/dashboard?page=100"],
  ["MAC search (part of a MAC)", "/dashboard?mac=B0%3A1"],
  ["version and result filter, page 3", "/dashboard?version=2.0.0&result=valid&page=3"],
];

async function pageTimes(port: number): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  for (const [name, path] of PAGES) {
    const ms: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const r = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const html = await r.text();
      ms.push(performance.now() - t0);
      if (r.status !== 200 || !html.includes('id="devices"')) throw new Error(`${path}: ${r.status}`);
    }
    times.set(name, ms.sort((a, b) => a - b)[2]);
  }
  return times;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function measure(server: Server, registry: boolean, dbPids: () => number[]): Promise<Figures> {
  const pid = server.child.pid!;
  const texts = Array.from({ length: BOARDS }, (_, i) => request(i, server.port));
  // warm-up: every board checks in once (creates its registry row), 50 at a time
  const w0 = performance.now();
  for (let i = 0; i < BOARDS; i += 50) await Promise.all(texts.slice(i, i + 50).map((t) => checkIn(server.port, t)));
  const warmUpPerSecond = BOARDS / ((performance.now() - w0) / 1000);
  const rss = sampleRss(() => [pid]);
  const cpu0 = cpuMs(pid);
  // per process: a backend that ends meanwhile takes its CPU with it, and must not make the sum negative
  const db0 = new Map(dbPids().map((p) => [p, cpuSeconds([p]) * 1000]));
  const gap = 60_000 / PER_MINUTE;
  const count = Math.round((SECONDS * 1000) / gap);
  const from = Date.now();
  byRules = 0;
  const start = performance.now();
  const pending: Promise<number>[] = [];
  for (let n = 0; n < count; n++) {
    const wait = start + n * gap - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(checkIn(server.port, texts[n % BOARDS]));
  }
  const latencies = (await Promise.all(pending)).sort((a, b) => a - b);
  const window: [number, number] = [from, Date.now()];
  const answeredByRules = byRules;
  const cpuPerCheckIn = (cpuMs(pid) - cpu0) / count;
  // PostgreSQL's server processes (postmaster and backends) work for the check-ins too
  const dbCpuPerCheckIn = dbPids().reduce((sum, p) => sum + cpuSeconds([p]) * 1000 - (db0.get(p) ?? 0), 0) / count;
  const peak = rss.stop();
  // burst: 50 boards at once for 3 s
  let done = 0;
  const until = performance.now() + 3000;
  await Promise.all(
    Array.from({ length: 50 }, async (_, w) => {
      for (let n = w; performance.now() < until; n += 50) {
        await checkIn(server.port, texts[n % BOARDS]);
        done++;
      }
    }),
  );
  const pages = registry ? await pageTimes(server.port) : new Map<string, number>();
  return { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: latencies[latencies.length - 1], rss: peak, cpuPerCheckIn, burst: done / 3, warmUpPerSecond, pages, dbCpuPerCheckIn, window, answeredByRules };
}

/**
 * The paced phase's check-ins as the registry timed them (duration_ms): the
 * server's own share of the latency, apart from the queues and the scheduling
 * of a loaded machine the client's figure includes.
 */
async function serverTimes(spec: string, [from, to]: [number, number]): Promise<[number, number]> {
  const sql = "SELECT duration_ms AS ms FROM checkins WHERE at >= ? AND at <= ? ORDER BY duration_ms";
  let rows: Array<{ ms: number }>;
  if (spec.startsWith("postgres")) {
    const client = new pg.Client({ connectionString: spec });
    await client.connect();
    rows = (await client.query(sql.replace("?", "$1").replace("?", "$2"), [from, to])).rows as Array<{ ms: number }>;
    await client.end();
  } else {
    const db = new Database(spec, { readonly: true });
    rows = db.prepare(sql).all(from, to) as Array<{ ms: number }>;
    db.close();
  }
  const ms = rows.map((r) => Number(r.ms));
  return [quantile(ms, 0.5), quantile(ms, 0.99)];
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "ota-bench-fleet-"));
  const catalog = join(work, "catalog");
  mkdirSync(catalog);
  writeFileSync(join(catalog, "app-1.0.0.bin"), buildImage({ version: "1.0.0", size: 60 * 1024 }));
  writeFileSync(join(catalog, "app-2.0.0.bin"), image);
  const rules = join(work, "rules.yaml");
  writeFileSync(rules, "default: { firmware: app-1.0.0.bin, channel: stable }\n");
  let pgState: string | undefined;
  let pgPid: number | undefined;
  let pgUrl = process.env.BENCH_PG_URL;
  if (!pgUrl) {
    pgState = join(work, "pg");
    const r = spawnSync("bash", [join(ROOT, "scripts", "pg-temp.sh"), "start", pgState], { encoding: "utf8", env: { ...process.env, PG_TEMP_DURABLE: "1" } });
    if (r.status === 0) {
      pgUrl = r.stdout.trim();
      const home = readFileSync(join(pgState, "home"), "utf8").trim();
      pgPid = Number(readFileSync(join(home, "data", "postmaster.pid"), "utf8").split("\n")[0]);
    }
    else console.log(`PostgreSQL row skipped: ${r.stderr.trim()}`);
  }
  let configs: Array<[string, () => string]> = [["no registry (--db none)", () => "none"], ["SQLite", () => join(work, `fleet-${Math.random().toString(36).slice(2)}.db`)]];
  if (pgUrl) configs.push(["PostgreSQL", () => pgUrl!]);
  // BENCH_DBS=none,sqlite (say) runs only those rows
  const only = process.env.BENCH_DBS?.toLowerCase().split(",");
  if (only) configs = configs.filter(([name]) => only.some((o) => name.toLowerCase().includes(o)));
  const results = new Map<string, Figures[]>(configs.map(([name]) => [name, []]));
  console.log(`fleet check-ins: ${BOARDS} boards, ${PER_MINUTE}/min (${(PER_MINUTE / 60).toFixed(0)}/s) for ${SECONDS} s per run, ${RUNS} runs, interleaved`);
  try {
    for (let run = 0; run < RUNS; run++) {
      for (const [name, db] of rotate(configs, run)) {
        const spec = db();
        // Without a registry the rule names the image the boards run, so the answers are the same 304s.
        writeFileSync(rules, `default: { firmware: app-${spec === "none" ? "2" : "1"}.0.0.bin, channel: stable }\n`);
        if (name === "PostgreSQL") spawnSync("psql", [spec, "-qc", "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"], { stdio: "ignore" });
        const server = await startServer(catalog, rules, spec);
        try {
          if (spec !== "none") {
            const r = await fetch(`http://127.0.0.1:${server.port}/api/rollouts`, {
              method: "POST",
              headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
              body: JSON.stringify({ channel: "stable", image: "app-2.0.0.bin", stages: [100] }),
            });
            if (r.status !== 201) throw new Error(`rollout: ${r.status} ${await r.text()}`);
          }
          const f = await measure(server, spec !== "none", () => (name === "PostgreSQL" && pgPid ? [pgPid, ...childPids(pgPid)] : []));
          if (spec !== "none") f.server = await serverTimes(spec, f.window);
          results.get(name)!.push(f);
          const pages = [...f.pages.values()].map((ms) => ms.toFixed(0)).join("/");
          console.log(`  run ${run + 1} ${name}: p99 ${f.p99.toFixed(2)} ms${f.answeredByRules ? ` (${f.answeredByRules} answered by the rules alone)` : ""}, RSS ${f.rss.toFixed(0)} MiB, burst ${f.burst.toFixed(0)}/s${pages ? `, dashboard ${pages} ms` : ""}`);
        } finally {
          await server.stop();
        }
      }
    }
  } finally {
    if (pgState) spawnSync("bash", [join(ROOT, "scripts", "pg-temp.sh"), "stop", pgState], { stdio: "inherit" });
    rmSync(work, { recursive: true, force: true });
  }
  const mmm = (xs: number[], digits = 2) => spread(xs, digits);
  const own = (fs: Figures[]) => (fs[0].server ? `${median(fs.map((f) => f.server![0])).toFixed(2)} / ${median(fs.map((f) => f.server![1])).toFixed(2)}` : "–");
  console.log(`\nmin / median / max over the runs (${BOARDS} boards, ${(PER_MINUTE / 60).toFixed(0)} check-ins/s; 2-core machine shared with other work: compare rows, not absolutes)`);
  console.log("| registry | check-in p50 ms | check-in p99 ms | max ms | answered by the rules alone (registry past 2 s) | server's own p50 / p99 ms (median run) | server RSS MiB | CPU ms per check-in (server) | + PostgreSQL's CPU ms | burst check-ins/s (50 at once) | first check-ins/s (50 at once, new rows) |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const [name, fs] of results) {
    if (fs.length === 0) continue;
    console.log(
      `| ${name} | ${mmm(fs.map((f) => f.p50))} | ${mmm(fs.map((f) => f.p99))} | ${mmm(fs.map((f) => f.max))} | ${mmm(fs.map((f) => f.answeredByRules), 0)} | ${own(fs)} | ${mmm(fs.map((f) => f.rss), 0)} | ${mmm(fs.map((f) => f.cpuPerCheckIn))} | ${name === "PostgreSQL" && pgPid ? mmm(fs.map((f) => f.dbCpuPerCheckIn)) : "–"} | ${mmm(fs.map((f) => f.burst), 0)} | ${mmm(fs.map((f) => f.warmUpPerSecond), 0)} |`,
    );
  }
  const withPages = [...results].filter(([, fs]) => fs.length > 0 && fs[0].pages.size > 0);
  if (withPages.length === 0) return;
  console.log(`\ndashboard at ${BOARDS} devices: ms to the last byte, median of 5 requests; min / median / max over the runs`);
  console.log(`| page | ${withPages.map(([name]) => name).join(" | ")} |`);
  console.log(`| --- | ${withPages.map(() => "---:").join(" | ")} |`);
  for (const [page] of PAGES) console.log(`| ${page} | ${withPages.map(([, fs]) => mmm(fs.map((f) => f.pages.get(page)!), 1)).join(" | ")} |`);
}

await main();

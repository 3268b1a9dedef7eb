// `npm run bench:history`: what the fleet registry's history costs, on SQLite
// and on PostgreSQL (BENCH_PG_URL or OTA_TEST_PG_URL; skipped without one),
// driving the registry's own statements (registry.ts: the device row, then the
// check-in's row, a download's row on an update) as fleet.ts does per check-in,
// with time simulated rather than waited for:
//   1. bytes per 10,000 check-ins: new boards; repeat check-ins that change
//      nothing (folded into the board's row); and the reference, the same
//      repeats each written as a row (as before: Registry's keepRepeats);
//   2. a simulated month (31 days) at 1,000 boards checking in every
//      BENCH_INTERVAL_MIN minutes (default 60), each updated once a week
//      (an update answer, then the new version reported valid): the database
//      size and rows at the end, this server (repeats folded, 30 days, at most
//      1000 check-ins per board, pruned every simulated hour; 10 boards at a
//      time) against the
//      reference (every check-in a row, nothing pruned), interleaved by run,
//      with µs per check-in min/median/max over the simulated days.
// Prunes run with the event loop's delay measured (the longest stall is how
// long a check-in could wait behind one), and retention is finally turned on
// for the reference's month of rows. Sizes are used pages (SQLite, after a WAL
// checkpoint) or the tables' total relation size after VACUUM (PostgreSQL).
// BENCH_SQLITE_ONLY=1 skips PostgreSQL. Prints figures; asserts nothing.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { join } from "node:path";
import pg from "pg";
import { bucketOf } from "../server/fleet/cohort";
import { openDb, type Db } from "../server/fleet/db";
import { migrate } from "../server/fleet/migrations";
import { Registry, type CheckinRecord, type DeviceSeen } from "../server/fleet/registry";
import { Retention } from "../server/fleet/retention";

const INTERVAL_MIN = Number(process.env.BENCH_INTERVAL_MIN ?? 60);
const BOARDS = Number(process.env.BENCH_BOARDS ?? 1000);
const DAYS = 31;
const PARALLEL = 10;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.UTC(2026, 0, 1);
const TABLES = ["devices", "checkins", "downloads", "rollout_devices", "board_auth"];

interface Backend {
  name: string;
  fresh(): Promise<{ db: Db; size(): Promise<number>; drop(): Promise<void> }>;
}

const sqlite: Backend = {
  name: "sqlite",
  async fresh() {
    const dir = mkdtempSync(join(tmpdir(), "ota-bench-history-"));
    const db = await openDb(join(dir, "fleet.db"));
    await migrate(db);
    return {
      db,
      async size() {
        await db.all("PRAGMA wal_checkpoint(TRUNCATE)");
        const n = async (p: string) => Number(Object.values((await db.get(`PRAGMA ${p}`))!)[0]);
        return ((await n("page_count")) - (await n("freelist_count"))) * (await n("page_size"));
      },
      async drop() {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

function postgres(admin: string): Backend {
  return {
    name: "postgres",
    async fresh() {
      const name = `ota_bench_${randomBytes(4).toString("hex")}`;
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`CREATE DATABASE ${name}`);
      await c.end();
      const url = new URL(admin);
      url.pathname = `/${name}`;
      const db = await openDb(url.toString());
      await migrate(db);
      return {
        db,
        async size() {
          await db.exec(`VACUUM ${TABLES.join(", ")}`);
          const r = await db.get<{ n: number }>(`SELECT sum(pg_total_relation_size(c.oid))::bigint AS n FROM pg_class c WHERE c.relname IN (${TABLES.map((t) => `'${t}'`).join(", ")})`);
          return Number(r?.n ?? 0);
        },
        async drop() {
          await db.close();
          const d = new pg.Client({ connectionString: admin });
          await d.connect();
          await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await d.end();
        },
      };
    },
  };
}

const mac = (i: number) => `24:6F:28:${((i >> 16) & 0xff).toString(16).toUpperCase().padStart(2, "0")}:${((i >> 8) & 0xff).toString(16).toUpperCase().padStart(2, "0")}:${(i & 0xff).toString(16).toUpperCase().padStart(2, "0")}`;

/** A board as the server sees it at one check-in: its registry facts and the answer's record. */
function checkin(i: number, at: number, version: string, answer: "current" | "update", report?: string): { seen: DeviceSeen; record: CheckinRecord } {
  const m = mac(i);
  const facts = {
    apMac: m, baseMac: m, chip: "ESP32", flashSize: 4194304, freeSpace: 1966080, sketchSize: 900000, version,
    sketchMd5: `${version.replaceAll(".", "")}`.padEnd(32, "0"), ...(report ? { report: { result: "valid" as const, version } } : {}),
  };
  return {
    seen: { ...facts, mac: m, family: "esp32", channel: "stable", bucket: bucketOf(m), sdkVersion: "v5.1.4" },
    record: {
      ...facts, at, mac: m, family: "esp32", staMac: m, mode: "sketch", status: answer === "update" ? 200 : 304, reason: answer === "update" ? undefined : "Not Modified",
      answer, image: "fw/app.bin", source: "default", remote: "10.0.0.1", durationMs: 1.25,
    },
  };
}

async function oneCheckin(registry: Registry, i: number, at: number, version: string, answer: "current" | "update", report?: string): Promise<void> {
  const { seen, record } = checkin(i, at, version, answer, report);
  await registry.touch(seen, at);
  await registry.recordCheckin(record);
  if (answer === "update")
    await registry.recordDownload({ at, finishedAt: at + 2000, mac: mac(i), path: "fw/app.bin", status: 200, length: 1_000_000, bytesSent: 1_000_000, completed: true, remote: "10.0.0.1" });
}

const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
const rowsOf = async (db: Db) => {
  const out: string[] = [];
  for (const t of ["devices", "checkins", "downloads"]) out.push(`${t} ${(await db.get<{ n: number }>(`SELECT count(*) AS n FROM ${t}`))!.n}`);
  return out.join(", ");
};

/** 1: bytes added by 10,000 check-ins of each kind. */
async function perTenThousand(backend: Backend): Promise<void> {
  const kinds: Array<[string, boolean, boolean]> = [
    ["new boards (10,000 MACs, one check-in each)", false, true],
    ["repeats that change nothing, folded (1,000 boards x 10)", false, false],
    ["reference: the same repeats, each a row (as before)", true, false],
  ];
  for (const [label, keepRepeats, fresh] of kinds) {
    const t = await backend.fresh();
    const registry = new Registry(t.db, keepRepeats);
    let at = START;
    if (!fresh) for (let i = 0; i < 1000; i++) await oneCheckin(registry, i, at++, "1.0.0", "current"); // known boards, not measured
    const before = await t.size();
    const t0 = performance.now();
    for (let n = 0; n < 10_000; n++) await oneCheckin(registry, fresh ? n : n % 1000, (at += 1000), "1.0.0", "current");
    const us = ((performance.now() - t0) * 1000) / 10_000;
    const after = await t.size();
    console.log(`  ${label.padEnd(56)} ${kb(after - before).padStart(11)}  (${((after - before) / 10_000).toFixed(1)} B/check-in, ${us.toFixed(0)} µs each; rows: ${await rowsOf(t.db)})`);
    await t.drop();
  }
}

interface MonthFigures {
  size: number;
  rows: string;
  perDayUs: number[];
  checkins: number;
  /** Longest event-loop stall while a prune ran, ms (a check-in waits at most that long behind it). */
  pruneStallMs: number;
  /** The reference's registry when retention (30 days, 1000 per board) is turned on at the month's end. */
  late?: { deleted: number; seconds: number; stallMs: number; size: number };
}

/** Runs a prune with the event loop's delay measured (1 ms resolution). */
async function timedPrune(retention: Retention): Promise<{ deleted: number; seconds: number; stallMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = performance.now();
  const r = await retention.prune();
  const seconds = (performance.now() - t0) / 1000;
  h.disable();
  return { deleted: r.checkins + r.downloads, seconds, stallMs: h.max / 1e6 };
}

/** 2: a month at BOARDS boards; `folded` is this server, otherwise the reference. */
async function month(backend: Backend, folded: boolean): Promise<MonthFigures> {
  const t = await backend.fresh();
  const registry = new Registry(t.db, !folded);
  let now = START;
  const retention = new Retention(t.db, () => now, folded ? { historyDays: 30, historyPerBoard: 1000 } : {});
  const step = INTERVAL_MIN * 60_000;
  const version = new Array<number>(BOARDS).fill(0);
  const perDayUs: number[] = [];
  let checkins = 0;
  let pruneStallMs = 0;
  let dayStart = performance.now();
  let dayCount = 0;
  for (now = START; now < START + DAYS * DAY; now += step) {
    // boards of one tick in groups of PARALLEL (PostgreSQL's pool; SQLite's queue runs them in turn)
    for (let g = 0; g < BOARDS; g += PARALLEL) await Promise.all(Array.from({ length: Math.min(PARALLEL, BOARDS - g) }, (_, k) => board(g + k)));
    async function board(i: number) {
      const at = now + Math.floor((i * step) / BOARDS);
      // each board is offered an update once a week, at its own hour
      const due = Math.floor((at - START + (i % 168) * HOUR) / (7 * DAY)) > version[i];
      if (due) {
        await oneCheckin(registry, i, at, `1.${version[i]}.0`, "update");
        version[i]++;
      } else {
        // after its first update a board reports it on every check-in, as the core does
        await oneCheckin(registry, i, at, `1.${version[i]}.0`, "current", version[i] > 0 ? "valid" : undefined);
      }
      checkins++;
      dayCount++;
    }
    if ((now - START) % HOUR < step) pruneStallMs = Math.max(pruneStallMs, (await timedPrune(retention)).stallMs);
    if ((now + step - START) % DAY < step) {
      perDayUs.push(((performance.now() - dayStart) * 1000) / dayCount);
      dayStart = performance.now();
      dayCount = 0;
    }
  }
  const figures: MonthFigures = { size: await t.size(), rows: await rowsOf(t.db), perDayUs, checkins, pruneStallMs };
  if (!folded) {
    const late = await timedPrune(new Retention(t.db, () => now, { historyDays: 30, historyPerBoard: 1000 }));
    figures.late = { ...late, size: await t.size() };
  }
  await t.drop();
  return figures;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[0].toFixed(0)}/${s[Math.floor(s.length / 2)].toFixed(0)}/${s[s.length - 1].toFixed(0)}`;
};

const backends = [sqlite];
const pgUrl = process.env.BENCH_PG_URL ?? process.env.OTA_TEST_PG_URL;
if (process.env.BENCH_SQLITE_ONLY === "1") console.log("PostgreSQL skipped: BENCH_SQLITE_ONLY=1");
else if (pgUrl) backends.push(postgres(pgUrl));
else console.log("PostgreSQL skipped: set BENCH_PG_URL (or OTA_TEST_PG_URL) to a server's admin URL");

for (const backend of backends) {
  console.log(`\n${backend.name}: bytes per 10,000 check-ins`);
  await perTenThousand(backend);
  console.log(`${backend.name}: a simulated month (${DAYS} days), ${BOARDS} boards, a check-in every ${INTERVAL_MIN} min, an update a week each`);
  // interleaved: this server, then the reference, on fresh databases
  for (const folded of [true, false]) {
    const f = await month(backend, folded);
    const label = folded ? "this server (folded, 30 days, 1000/board)" : "reference (every check-in a row, kept)";
    console.log(`  ${label.padEnd(44)} ${(f.size / 1024 / 1024).toFixed(2).padStart(8)} MiB  ${f.checkins} check-ins; rows: ${f.rows}; µs/check-in by day min/median/max ${stats(f.perDayUs)}`);
    if (folded) console.log(`    hourly prunes: longest event-loop stall ${f.pruneStallMs.toFixed(1)} ms`);
    if (f.late)
      console.log(
        `    retention turned on at the month's end: ${f.late.deleted} rows deleted in ${f.late.seconds.toFixed(1)} s, longest event-loop stall ${f.late.stallMs.toFixed(1)} ms; used size after: ${(f.late.size / 1024 / 1024).toFixed(2)} MiB`,
      );
  }
}

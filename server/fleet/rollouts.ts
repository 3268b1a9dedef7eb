// Staged rollouts. An image rolls out to a channel in stages (percentages of
// its boards, chosen by MAC hash: cohort.ts). The rollout's state lives in the
// database, so every server on a shared PostgreSQL sees the same one.
//
// What a board on the channel is offered, first match wins:
//   1. the active rollout's image, when the board's bucket is in a stage
//      reached so far and the board never rolled that image back;
//   2. otherwise the newer of the channel's baseline (the image of the last
//      completed rollout) and the last rollout image this board ran well, so
//      a board is never sent back to an older image by a halt;
//   3. otherwise what the rules say.
// A rollout is of firmware or of a mod (its image a .xsa, docs/mods.md); a
// channel has at most one of each under way, and each kind has its own
// baseline, choice and outcomes (a mod's reports come as x-Ota-Mod-Result).
// A stage halts the rollout by itself when, among its boards' counted
// outcomes (at least `minOutcomes`), the share failed or rolled back passes
// `threshold`. An outcome counts only when it can be true: from a board the
// registry knew before the rollout began, that was offered the image and
// downloaded it, over a trusted check-in (authenticated, when boards carry
// credentials: board-auth.ts). Others are recorded with why they do not count.
import type { Db, Queryable } from "./db";
import { firstStage } from "./cohort";
import { isFailure, type UpdateReport } from "./outcome";
import { validChannel } from "../rules";

export type RolloutState = "active" | "halted" | "completed" | "superseded";
export type RolloutKind = "firmware" | "mod";

export class FleetError extends Error {
  override name = "FleetError";
  constructor(
    readonly status: 400 | 404 | 409 | 413,
    message: string,
  ) {
    super(message);
  }
}

export interface RolloutSpec {
  channel: string;
  /** Catalog-relative image path. */
  image: string;
  /** Ascending percentages ending at 100. Default [10, 50, 100]. */
  stages?: number[];
  /** Share (0..1) of failed or rolled-back outcomes in a stage above which the rollout halts. Default 0.2. */
  threshold?: number;
  /** Outcomes a stage needs before the threshold applies. Default 3. */
  minOutcomes?: number;
  /** Advance to the next stage after this long in a stage; absent or null: by hand only. */
  advanceEveryMs?: number | null;
}

export interface StageView {
  number: number;
  percent: number;
  state: "done" | "current" | "halted" | "pending";
  /** Known boards of the channel that first fall in this stage. */
  boards: number;
  offered: number;
  downloaded: number;
  valid: number;
  rolledBack: number;
  failed: number;
  /** (rolledBack + failed) / outcomes, or null before any outcome. */
  failureShare: number | null;
  /** Outcomes recorded that do not count (valid, rolledBack and failed count only the others). */
  notCounted: number;
}

/** What became of a board's report. */
export interface ReportOutcome {
  /** The rollout it halted. */
  halted?: number;
  /** Why it does not count toward its rollout's halt rule (absent: it counts, or is about no rollout). */
  notCounted?: string;
}

/** Whether a check-in may be believed: false when boards carry credentials and this one had none valid. */
export type Trust = boolean;

const NOT_KNOWN = "board first seen after the rollout began";
const NOT_DOWNLOADED = "the board did not download the rollout image";
export const UNAUTHENTICATED = "check-in without valid board credentials";

export interface RolloutEvent {
  at: string;
  kind: string;
  stage: number | null;
  detail: string | null;
}

export interface RolloutView {
  id: number;
  kind: RolloutKind;
  channel: string;
  image: string;
  version: string | null;
  state: RolloutState;
  /** Current stage, 1-based. */
  stage: number;
  stages: StageView[];
  threshold: number;
  minOutcomes: number;
  advanceEveryMs: number | null;
  nextAdvanceAt: string | null;
  createdAt: string;
  stageStartedAt: string;
  haltedReason: string | null;
  events: RolloutEvent[];
}

export interface Choice {
  kind: "rollout" | "baseline" | "kept";
  image: string;
  source: string;
  rolloutId?: number;
  /** 0-based stage of the board in the rollout (kind "rollout"). */
  stage?: number;
  /** The rollout's version (a mod rollout's: name@version, as x-Ota-Mod says it). */
  version?: string;
}

interface RolloutRow {
  id: number;
  kind: RolloutKind;
  channel: string;
  image: string;
  version: string | null;
  stages: string;
  stage: number;
  state: RolloutState;
  threshold: number;
  min_outcomes: number;
  advance_every_ms: number | null;
  created_at: number;
  stage_started_at: number;
  counted_since: number;
  updated_at: number;
  halted_reason: string | null;
}

export const DEFAULT_STAGES = [10, 50, 100];
export const DEFAULT_THRESHOLD = 0.2;
export const DEFAULT_MIN_OUTCOMES = 3;

export function checkStages(stages: unknown): number[] {
  if (!Array.isArray(stages) || stages.length === 0 || stages.length > 10) throw new FleetError(400, "stages: expected 1 to 10 percentages");
  let previous = 0;
  for (const p of stages) {
    if (!Number.isInteger(p) || p <= previous || p > 100) throw new FleetError(400, "stages: whole percentages, ascending, between 1 and 100");
    previous = p as number;
  }
  if (previous !== 100) throw new FleetError(400, "stages: the last stage must be 100 (every board)");
  return stages as number[];
}

/** Any constant: PostgreSQL's advisory lock around creating and resuming rollouts. */
const CHANNEL_LOCK_KEY = 7_462_014;

const iso = (ms: number) => new Date(Number(ms)).toISOString();
const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;

function normalize(r: RolloutRow): RolloutRow {
  // PostgreSQL hands DOUBLE PRECISION and INTEGER back as numbers, BIGINT via our parser; SQLite as numbers.
  return { ...r, id: Number(r.id), stage: Number(r.stage), threshold: Number(r.threshold), min_outcomes: Number(r.min_outcomes) };
}

/** Params (mac, rolloutId): 1 when the registry knew the board before the rollout began. */
const KNOWN_BEFORE = `(SELECT CASE WHEN EXISTS (SELECT 1 FROM devices dv, rollouts r WHERE dv.mac = ? AND r.id = ? AND dv.first_seen < r.created_at) THEN 1 ELSE 0 END)`;
/** Param (trusted 0/1): whether the row's outcome counts. */
const countedSql = (t: string) => `CASE WHEN ? = 1 AND ${t}.known_before = 1 AND ${t}.downloaded_at IS NOT NULL THEN 1 ELSE 0 END`;
/** Param (trusted 0/1): why the row's outcome does not count. */
const notCountedSql = (t: string) =>
  `CASE WHEN ? = 0 THEN '${UNAUTHENTICATED}' WHEN ${t}.known_before IS DISTINCT FROM 1 THEN '${NOT_KNOWN}' WHEN ${t}.downloaded_at IS NULL THEN '${NOT_DOWNLOADED}' ELSE NULL END`;

export class Rollouts {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** `lock`: inside a transaction, hold the row until the commit (servers sharing a PostgreSQL take turns). */
  private async row(q: Queryable, id: number, lock = false): Promise<RolloutRow> {
    const r = await q.get<RolloutRow>(`SELECT * FROM rollouts WHERE id = ?${lock ? this.db.forUpdate : ""}`, [id]);
    if (!r) throw new FleetError(404, `no rollout ${id}`);
    return normalize(r);
  }

  private event(q: Queryable, id: number, kind: string, stage: number | null, detail: string | null, at: number): Promise<number> {
    return q.run("INSERT INTO rollout_events (rollout_id, at, kind, stage, detail) VALUES (?, ?, ?, ?, ?)", [id, at, kind, stage, detail]);
  }

  /** `version` comes from the image (its app descriptor; a mod's name@version), read by the caller. */
  async create(spec: RolloutSpec, version: string | undefined, kind: RolloutKind = "firmware"): Promise<RolloutView> {
    if (!validChannel(spec.channel)) throw new FleetError(400, "channel: letters, digits, . _ - (up to 32)");
    const stages = checkStages(spec.stages ?? DEFAULT_STAGES);
    const threshold = spec.threshold ?? DEFAULT_THRESHOLD;
    if (typeof threshold !== "number" || !(threshold >= 0 && threshold < 1)) throw new FleetError(400, "threshold: a share from 0 up to (not including) 1");
    const minOutcomes = spec.minOutcomes ?? DEFAULT_MIN_OUTCOMES;
    if (!Number.isInteger(minOutcomes) || minOutcomes < 1 || minOutcomes > 100_000) throw new FleetError(400, "minOutcomes: a whole number, at least 1");
    const every = spec.advanceEveryMs ?? null;
    if (every !== null && (!Number.isInteger(every) || every < 100)) throw new FleetError(400, "advanceEveryMs: whole milliseconds, at least 100, or null");
    const now = this.now();
    const id = await this.db.transaction(async (tx) => {
      await this.channelLock(tx);
      const open = await tx.all<{ id: number; state: RolloutState }>(
        "SELECT id, state FROM rollouts WHERE channel = ? AND kind = ? AND state IN ('active', 'halted')",
        [spec.channel, kind],
      );
      const active = open.find((r) => r.state === "active");
      if (active) throw new FleetError(409, `channel ${spec.channel} already has ${kind === "mod" ? "mod " : ""}rollout ${active.id} under way: halt or complete it first`);
      const inserted = await tx.get<{ id: number }>(
        `INSERT INTO rollouts (kind, channel, image, version, stages, stage, state, threshold, min_outcomes, advance_every_ms,
           created_at, stage_started_at, counted_since, updated_at)
         VALUES (?, ?, ?, ?, ?, 0, 'active', ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        [kind, spec.channel, spec.image, version ?? null, JSON.stringify(stages), threshold, minOutcomes, every, now, now, now, now],
      );
      const newId = Number(inserted!.id);
      for (const old of open) {
        await tx.run("UPDATE rollouts SET state = 'superseded', updated_at = ? WHERE id = ?", [now, old.id]);
        await this.event(tx, Number(old.id), "superseded", null, `by rollout ${newId}`, now);
      }
      await this.event(tx, newId, "created", 1, `${spec.image} to ${spec.channel}: stages ${stages.join("/")} %, halt above ${pct(threshold)}`, now);
      return newId;
    });
    return this.get(id);
  }

  /**
   * One stage on. `expected.stage` (1-based): only from that stage, else 409,
   * so two people pressing Advance at once move it once; `expected.due`: only
   * while the scheduled advance is still due (several servers tick).
   */
  async advance(id: number, by = "by hand", expected: { stage?: number; due?: boolean } = {}): Promise<RolloutView> {
    const now = this.now();
    await this.db.transaction(async (tx) => {
      const r = await this.row(tx, id, true);
      if (r.state === "halted") throw new FleetError(409, `rollout ${id} is halted: resume it first`);
      if (r.state !== "active") throw new FleetError(409, `rollout ${id} is ${r.state}`);
      if (expected.stage !== undefined && expected.stage !== r.stage + 1) throw new FleetError(409, `rollout ${id} is at stage ${r.stage + 1} now, not ${expected.stage}`);
      if (expected.due && !(r.advance_every_ms != null && Number(r.stage_started_at) + Number(r.advance_every_ms) <= now))
        throw new FleetError(409, `rollout ${id} advanced meanwhile`);
      const stages = JSON.parse(r.stages) as number[];
      if (r.stage < stages.length - 1) {
        // Conditional on what was read: a second writer that got past the lock changes nothing.
        const changed = await tx.run("UPDATE rollouts SET stage = ?, stage_started_at = ?, updated_at = ? WHERE id = ? AND state = 'active' AND stage = ?", [
          r.stage + 1, now, now, id, r.stage,
        ]);
        if (changed !== 1) throw new FleetError(409, `rollout ${id} changed meanwhile`);
        await this.event(tx, id, "advanced", r.stage + 2, `to ${stages[r.stage + 1]} % ${by}`, now);
        return;
      }
      const changed = await tx.run("UPDATE rollouts SET state = 'completed', updated_at = ? WHERE id = ? AND state = 'active' AND stage = ?", [now, id, r.stage]);
      if (changed !== 1) throw new FleetError(409, `rollout ${id} changed meanwhile`);
      const [image, rollout] = r.kind === "mod" ? ["baseline_mod", "baseline_mod_rollout_id"] : ["baseline_image", "baseline_rollout_id"];
      await tx.run(
        `INSERT INTO channels (name, ${image}, ${rollout}, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET ${image} = excluded.${image}, ${rollout} = excluded.${rollout}, updated_at = excluded.updated_at`,
        [r.channel, r.image, id, now],
      );
      await this.event(tx, id, "completed", r.stage + 1, `${r.image} is now the baseline of ${r.channel} (${by})`, now);
    });
    return this.get(id);
  }

  async halt(id: number, reason = "halted by hand"): Promise<RolloutView> {
    const now = this.now();
    await this.db.transaction(async (tx) => {
      const r = await this.row(tx, id, true);
      if (r.state !== "active" || !(await this.haltIn(tx, r, reason, now))) throw new FleetError(409, `rollout ${id} is ${r.state === "active" ? "halted" : r.state}`);
    });
    return this.get(id);
  }

  /** `stage` (0-based) is the stage that tripped the halt; by hand, the current one. */
  /** False when the rollout was no longer active (halted once, with one event, whoever comes first). */
  private async haltIn(tx: Queryable, r: RolloutRow, reason: string, now: number, stage = r.stage): Promise<boolean> {
    const changed = await tx.run("UPDATE rollouts SET state = 'halted', halted_reason = ?, updated_at = ? WHERE id = ? AND state = 'active'", [reason, now, r.id]);
    if (changed !== 1) return false;
    await this.event(tx, r.id, "halted", stage + 1, reason, now);
    return true;
  }

  /** Creating and resuming look at the channel's other rollouts: one at a time across servers (PostgreSQL). */
  private async channelLock(tx: Queryable): Promise<void> {
    if (this.db.dialect === "postgres") await tx.all("SELECT pg_advisory_xact_lock(?)", [CHANNEL_LOCK_KEY]);
  }

  /** Back to active at the same stage; the halt rule counts outcomes from now on. */
  async resume(id: number): Promise<RolloutView> {
    const now = this.now();
    await this.db.transaction(async (tx) => {
      await this.channelLock(tx);
      const r = await this.row(tx, id, true);
      if (r.state !== "halted") throw new FleetError(409, `rollout ${id} is ${r.state}, not halted`);
      const other = await tx.get<{ id: number }>("SELECT id FROM rollouts WHERE channel = ? AND kind = ? AND state = 'active'", [r.channel, r.kind]);
      if (other) throw new FleetError(409, `channel ${r.channel} has rollout ${other.id} under way`);
      await tx.run("UPDATE rollouts SET state = 'active', halted_reason = NULL, counted_since = ?, stage_started_at = ?, updated_at = ? WHERE id = ?", [now, now, now, id]);
      await this.event(tx, id, "resumed", r.stage + 1, "outcomes counted again from here", now);
    });
    return this.get(id);
  }

  /** Scheduled advances that are due; returns the rollouts advanced. */
  async tick(): Promise<number[]> {
    const now = this.now();
    const due = await this.db.all<RolloutRow>(
      "SELECT * FROM rollouts WHERE state = 'active' AND advance_every_ms IS NOT NULL AND stage_started_at + advance_every_ms <= ?",
      [now],
    );
    const advanced: number[] = [];
    for (const raw of due) {
      const r = normalize(raw);
      if (r.stage >= (JSON.parse(r.stages) as number[]).length - 1) continue; // completing stays a decision for a person
      try {
        await this.advance(r.id, "on schedule", { stage: r.stage + 1, due: true });
        advanced.push(r.id);
      } catch (error) {
        if (!(error instanceof FleetError)) throw error; // halted or advanced meanwhile
      }
    }
    return advanced;
  }

  /** What the board should be offered instead of its rule's image (or, kind "mod", its rule's mod), if anything. */
  async choose(channel: string, mac: string, bucket: number, kind: RolloutKind = "firmware"): Promise<Choice | undefined> {
    const [column, rolloutColumn] = kind === "mod" ? ["baseline_mod", "baseline_mod_rollout_id"] : ["baseline_image", "baseline_rollout_id"];
    // Every check-in asks this: one statement (one round trip to PostgreSQL) for the
    // active rollout, the images this board rolled back, the channel's baseline and
    // the last rollout image the board ran well.
    type Row = { k: "active" | "rolled-back" | "baseline" | "kept"; image: string; id: number; stages: string | null; stage: number | null; version: string | null };
    const rows = await this.db.all<Row>(
      `SELECT 'active' AS k, a.image, a.id, a.stages, a.stage, a.version FROM
         (SELECT image, id, stages, stage, version FROM rollouts WHERE channel = ? AND kind = ? AND state = 'active' ORDER BY id DESC LIMIT 1) AS a
       UNION ALL
       SELECT 'rolled-back', r.image, r.id, NULL, NULL, NULL FROM rollout_devices d JOIN rollouts r ON r.id = d.rollout_id
         WHERE d.mac = ? AND d.outcome = 'rolled-back' AND r.kind = ?
       UNION ALL
       SELECT 'baseline', ${column}, ${rolloutColumn}, NULL, NULL, NULL FROM channels WHERE name = ? AND ${column} IS NOT NULL
       UNION ALL
       SELECT 'kept', k.image, k.id, NULL, NULL, NULL FROM
         (SELECT r.image AS image, r.id AS id FROM rollout_devices d JOIN rollouts r ON r.id = d.rollout_id
          WHERE d.mac = ? AND d.outcome = 'valid' AND r.channel = ? AND r.kind = ? ORDER BY r.id DESC LIMIT 1) AS k`,
      [channel, kind, mac, kind, channel, mac, channel, kind],
    );
    const rolledBack = new Set(rows.filter((r) => r.k === "rolled-back").map((r) => r.image));
    const active = rows.find((r) => r.k === "active");
    if (active && !rolledBack.has(active.image)) {
      const id = Number(active.id);
      const stages = JSON.parse(active.stages!) as number[];
      const stage = firstStage(bucket, stages.slice(0, Number(active.stage) + 1));
      if (stage >= 0) return { kind: "rollout", image: active.image, rolloutId: id, stage, source: `rollout ${id} stage ${stage + 1}`, ...(active.version ? { version: active.version } : {}) };
    }
    const baseline = rows.find((r) => r.k === "baseline");
    const kept = rows.find((r) => r.k === "kept");
    const candidates: Choice[] = [];
    if (baseline && !rolledBack.has(baseline.image))
      candidates.push({ kind: "baseline", image: baseline.image, rolloutId: Number(baseline.id), source: `channel ${channel} ${kind === "mod" ? "mod " : ""}baseline (rollout ${baseline.id})` });
    if (kept && !rolledBack.has(kept.image)) candidates.push({ kind: "kept", image: kept.image, rolloutId: Number(kept.id), source: `kept from rollout ${kept.id}` });
    candidates.sort((a, b) => b.rolloutId! - a.rolloutId!);
    return candidates[0];
  }

  /** A 200 with the rollout's image went out to the board (and completed, or not). */
  async recordOffer(rolloutId: number, mac: string, stage: number, downloaded: boolean): Promise<void> {
    const now = this.now();
    await this.db.run(
      `INSERT INTO rollout_devices (rollout_id, mac, stage, offered_at, downloaded_at, known_before) VALUES (?, ?, ?, ?, ?, ${KNOWN_BEFORE})
       ON CONFLICT (rollout_id, mac) DO UPDATE SET offered_at = excluded.offered_at,
         downloaded_at = COALESCE(excluded.downloaded_at, rollout_devices.downloaded_at)`,
      [rolloutId, mac, stage, now, downloaded ? now : null, mac, rolloutId],
    );
  }

  /** The board already runs the rollout's image (304): a good outcome, counted when it can be true. */
  async recordRunning(rolloutId: number, mac: string, stage: number, trusted: Trust = true): Promise<void> {
    const now = this.now();
    await this.db.run(
      `INSERT INTO rollout_devices (rollout_id, mac, stage, offered_at, known_before) VALUES (?, ?, ?, ?, ${KNOWN_BEFORE})
       ON CONFLICT (rollout_id, mac) DO NOTHING`,
      [rolloutId, mac, stage, now, mac, rolloutId],
    );
    await this.db.run(
      `UPDATE rollout_devices SET outcome = 'valid', outcome_at = CASE WHEN outcome = 'valid' THEN outcome_at ELSE ? END,
         counted = ${countedSql("rollout_devices")}, not_counted = ${notCountedSql("rollout_devices")}
       WHERE rollout_id = ? AND mac = ?`,
      [now, trusted ? 1 : 0, trusted ? 1 : 0, rolloutId, mac],
    );
  }

  /**
   * Before choosing: a board offered a rollout image that now reports the
   * rollout's version (without a result header, as stock HTTPUpdate boards) runs it.
   */
  async noteRunningVersion(mac: string, version: string, kind: RolloutKind = "firmware", trusted: Trust = true): Promise<void> {
    await this.db.run(
      `UPDATE rollout_devices SET outcome = 'valid', outcome_at = ?, counted = ${countedSql("rollout_devices")}, not_counted = ${notCountedSql("rollout_devices")}
       WHERE mac = ? AND outcome IS NULL AND rollout_id IN (SELECT id FROM rollouts WHERE version = ? AND kind = ?)`,
      [this.now(), trusted ? 1 : 0, trusted ? 1 : 0, mac, version, kind],
    );
  }

  /** The rollout row a report is about: the last that offered the reported version (any, without a version). */
  private reportRow(q: Queryable, mac: string, report: UpdateReport, kind: RolloutKind) {
    type Row = { rollout_id: number; stage: number; outcome: string | null; known_before: number | null; downloaded_at: number | null; not_counted: string | null };
    const columns = "d.rollout_id, d.stage, d.outcome, d.known_before, d.downloaded_at, d.not_counted";
    return report.version
      ? q.get<Row>(
          `SELECT ${columns} FROM rollout_devices d JOIN rollouts r ON r.id = d.rollout_id
           WHERE d.mac = ? AND r.version = ? AND r.kind = ? ORDER BY d.offered_at DESC LIMIT 1`,
          [mac, report.version, kind],
        )
      : q.get<Row>(
          `SELECT ${columns} FROM rollout_devices d JOIN rollouts r ON r.id = d.rollout_id
           WHERE d.mac = ? AND r.kind = ? ORDER BY d.offered_at DESC LIMIT 1`,
          [mac, kind],
        );
  }

  /**
   * The board's report of its previous update; may halt the rollout it belongs
   * to, but only when it counts (see the top of this file).
   */
  async recordReport(mac: string, report: UpdateReport, kind: RolloutKind = "firmware", trusted: Trust = true): Promise<ReportOutcome> {
    const now = this.now();
    const whyNot = (row: { known_before: number | null; downloaded_at: number | null }): string | undefined =>
      !trusted ? UNAUTHENTICATED : Number(row.known_before) !== 1 ? NOT_KNOWN : row.downloaded_at == null ? NOT_DOWNLOADED : undefined;
    // Boards repeat their report on every check-in: most change nothing and need no transaction.
    const known = await this.reportRow(this.db, mac, report, kind);
    if (!known) return {};
    if (known.outcome === report.result && (known.not_counted ?? undefined) === whyNot(known)) return known.not_counted ? { notCounted: known.not_counted } : {};
    return this.db.transaction(async (tx) => {
      // The rollout's row first: reports of one rollout are counted one at a
      // time, so concurrent failures on several servers see each other and
      // the halt fires once.
      await this.row(tx, Number(known.rollout_id), true);
      const row = await this.reportRow(tx, mac, report, kind);
      if (!row) return {};
      const notCounted = whyNot(row);
      const outcome: ReportOutcome = notCounted ? { notCounted } : {};
      if (row.outcome === report.result && (row.not_counted ?? undefined) === notCounted) return outcome;
      const rolloutId = Number(row.rollout_id);
      await tx.run("UPDATE rollout_devices SET outcome = ?, outcome_at = ?, counted = ?, not_counted = ? WHERE rollout_id = ? AND mac = ?", [
        report.result, now, notCounted ? 0 : 1, notCounted ?? null, rolloutId, mac,
      ]);
      if (notCounted || !isFailure(report.result)) return outcome;
      const r = await this.row(tx, rolloutId, true);
      if (r.state !== "active") return outcome;
      const stage = Number(row.stage);
      const c = await tx.get<{ done: number; bad: number }>(
        `SELECT count(*) FILTER (WHERE outcome IS NOT NULL) AS done,
                count(*) FILTER (WHERE outcome IN ('rolled-back', 'failed')) AS bad
         FROM rollout_devices WHERE rollout_id = ? AND stage = ? AND outcome_at >= ? AND counted = 1`,
        [rolloutId, stage, r.counted_since],
      );
      const done = Number(c?.done ?? 0);
      const bad = Number(c?.bad ?? 0);
      if (done < r.min_outcomes || bad / done <= r.threshold) return outcome;
      const halted = await this.haltIn(tx, r, `stage ${stage + 1}: ${bad} of ${done} updates failed or rolled back (${pct(bad / done)} > ${pct(r.threshold)})`, now, stage);
      return halted ? { halted: rolloutId } : outcome;
    });
  }

  async get(id: number): Promise<RolloutView> {
    return (await this.views([normalize(await this.row(this.db, id))]))[0];
  }

  async list(limit = 50): Promise<RolloutView[]> {
    const rows = await this.db.all<RolloutRow>("SELECT * FROM rollouts ORDER BY id DESC LIMIT ?", [limit]);
    return this.views(rows.map(normalize));
  }

  private async views(rows: RolloutRow[]): Promise<RolloutView[]> {
    const views: RolloutView[] = [];
    const buckets = new Map<string, number[]>();
    for (const r of rows) {
      const stages = JSON.parse(r.stages) as number[];
      if (!buckets.has(r.channel))
        buckets.set(r.channel, (await this.db.all<{ bucket: number }>("SELECT bucket FROM devices WHERE channel = ?", [r.channel])).map((b) => Number(b.bucket)));
      const boards = new Array<number>(stages.length).fill(0);
      for (const b of buckets.get(r.channel)!) {
        const s = firstStage(b, stages);
        if (s >= 0) boards[s]++;
      }
      const counts = await this.db.all<Record<string, number>>(
        `SELECT stage, count(*) AS offered,
                count(*) FILTER (WHERE downloaded_at IS NOT NULL) AS downloaded,
                count(*) FILTER (WHERE outcome = 'valid' AND counted = 1) AS valid,
                count(*) FILTER (WHERE outcome = 'rolled-back' AND counted = 1) AS rolled_back,
                count(*) FILTER (WHERE outcome = 'failed' AND counted = 1) AS failed,
                count(*) FILTER (WHERE outcome IS NOT NULL AND counted IS DISTINCT FROM 1) AS not_counted
         FROM rollout_devices WHERE rollout_id = ? GROUP BY stage`,
        [r.id],
      );
      const byStage = new Map(counts.map((c) => [Number(c.stage), c]));
      const events = await this.db.all<{ at: number; kind: string; stage: number | null; detail: string | null }>(
        "SELECT at, kind, stage, detail FROM rollout_events WHERE rollout_id = ? ORDER BY at DESC, id DESC LIMIT 20",
        [r.id],
      );
      // The stage that tripped the halt: the latest halted event names it.
      const haltedStage = r.state === "halted" ? Number(events.find((e) => e.kind === "halted")?.stage ?? r.stage + 1) - 1 : -1;
      views.push({
        id: r.id,
        kind: r.kind ?? "firmware",
        channel: r.channel,
        image: r.image,
        version: r.version,
        state: r.state,
        stage: r.stage + 1,
        stages: stages.map((percent, i) => {
          const c = byStage.get(i);
          const valid = Number(c?.valid ?? 0);
          const rolledBack = Number(c?.rolled_back ?? 0);
          const failed = Number(c?.failed ?? 0);
          const outcomes = valid + rolledBack + failed;
          const state: StageView["state"] =
            r.state === "halted" && i === haltedStage
              ? "halted"
              : r.state === "completed" || i < r.stage
                ? "done"
                : i > r.stage || r.state === "superseded"
                  ? "pending"
                  : "current";
          return {
            number: i + 1,
            percent,
            state,
            boards: boards[i],
            offered: Number(c?.offered ?? 0),
            downloaded: Number(c?.downloaded ?? 0),
            valid,
            rolledBack,
            failed,
            failureShare: outcomes === 0 ? null : (rolledBack + failed) / outcomes,
            notCounted: Number(c?.not_counted ?? 0),
          };
        }),
        threshold: r.threshold,
        minOutcomes: r.min_outcomes,
        advanceEveryMs: r.advance_every_ms == null ? null : Number(r.advance_every_ms),
        nextAdvanceAt:
          r.state === "active" && r.advance_every_ms != null && r.stage < stages.length - 1 ? iso(Number(r.stage_started_at) + Number(r.advance_every_ms)) : null,
        createdAt: iso(r.created_at),
        stageStartedAt: iso(r.stage_started_at),
        haltedReason: r.halted_reason,
        events: events.map((e) => ({ at: iso(e.at), kind: e.kind, stage: e.stage == null ? null : Number(e.stage), detail: e.detail })),
      });
    }
    return views;
  }
}

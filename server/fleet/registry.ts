// The device registry and its history: one row per board (keyed by its STA
// MAC), every advanced-updater check-in and every firmware download.
import { createHash } from "node:crypto";
import type { Db, Param } from "./db";
import type { UpdateReport } from "./outcome";
import type { ModReport } from "../mod-headers";

const iso = (ms: number | null | undefined): string | null => (ms == null ? null : new Date(Number(ms)).toISOString());
const num = (v: unknown): number | null => (v == null ? null : Number(v));
const str = (v: unknown): string | null => (v == null ? null : String(v));

/** The facts a check-in's headers carry about the board. */
export interface BoardFacts {
  apMac?: string;
  baseMac?: string;
  chip?: string;
  flashSize?: number;
  freeSpace?: number;
  sketchSize?: number;
  version?: string;
  sketchMd5?: string;
  report?: UpdateReport;
  /** x-Ota-Mod: the running mod's name@version, "" for none (docs/mods.md). */
  runningMod?: string;
  /** x-Ota-Mod-Host: the XS major.minor it runs mods with. */
  modHost?: string;
  modReport?: ModReport;
}

/** What one check-in says about the board, for its registry row. */
export interface DeviceSeen extends BoardFacts {
  mac: string;
  family: string;
  channel: string;
  bucket: number;
  sdkVersion?: string;
}

export interface CheckinRecord extends BoardFacts {
  at: number;
  mac?: string;
  family?: string;
  staMac?: string;
  mode?: string;
  status: number;
  reason?: string;
  /** current (304), update (200 with firmware), mod (200 with a mod), refused (anything else). */
  answer: "current" | "update" | "mod" | "refused";
  image?: string;
  /** The mod sent (answer "mod"). */
  modImage?: string;
  source?: string;
  rolloutId?: number;
  stage?: number;
  remote?: string;
  durationMs?: number;
  /** Why the report (x-*-update-result) does not count toward its rollout, when it does not (rollouts.ts). */
  reportNotCounted?: string;
  /** The same for a mod report (x-Ota-Mod-Result). */
  modReportNotCounted?: string;
}

export interface DownloadRecord {
  at: number;
  finishedAt: number;
  mac?: string;
  path: string;
  status: number;
  length?: number;
  rangeStart?: number;
  bytesSent: number;
  completed: boolean;
  rolloutId?: number;
  remote?: string;
}

export interface DeviceView {
  mac: string;
  family: string;
  chip: string | null;
  channel: string;
  version: string | null;
  sketchMd5: string | null;
  sdkVersion: string | null;
  flashSize: number | null;
  freeSpace: number | null;
  sketchSize: number | null;
  apMac: string | null;
  baseMac: string | null;
  firstSeen: string;
  lastSeen: string;
  checkins: number;
  lastStatus: number | null;
  lastAnswer: string | null;
  lastImage: string | null;
  lastResult: string | null;
  lastResultVersion: string | null;
  lastResultAt: string | null;
  /** Why the last report did not count toward its rollout's halt rule; null when it counted or concerned none. */
  lastResultNotCounted: string | null;
  runningMod: string | null;
  modHost: string | null;
  lastModResult: string | null;
  lastModResultVersion: string | null;
  lastModResultAt: string | null;
  lastModResultNotCounted: string | null;
  /** Check-ins since the last history row that changed nothing (no row of their own). */
  repeatCheckins: number;
}

export interface CheckinView {
  at: string;
  status: number;
  reason: string | null;
  answer: string;
  image: string | null;
  source: string | null;
  rolloutId: number | null;
  stage: number | null;
  version: string | null;
  sketchMd5: string | null;
  chip: string | null;
  mode: string | null;
  freeSpace: number | null;
  updateResult: string | null;
  updateVersion: string | null;
  remote: string | null;
  durationMs: number | null;
  runningMod: string | null;
  modHost: string | null;
  modResult: string | null;
  modResultVersion: string | null;
  modImage: string | null;
  reportNotCounted: string | null;
  modReportNotCounted: string | null;
}

export interface DownloadView {
  at: string;
  finishedAt: string;
  path: string;
  status: number;
  length: number | null;
  rangeStart: number | null;
  bytesSent: number;
  completed: boolean;
  rolloutId: number | null;
  remote: string | null;
}

type DbRow = Record<string, unknown>;

export function deviceView(r: DbRow): DeviceView {
  return {
    mac: String(r.mac),
    family: String(r.family),
    chip: str(r.chip),
    channel: String(r.channel),
    version: str(r.version),
    sketchMd5: str(r.sketch_md5),
    sdkVersion: str(r.sdk_version),
    flashSize: num(r.flash_size),
    freeSpace: num(r.free_space),
    sketchSize: num(r.sketch_size),
    apMac: str(r.ap_mac),
    baseMac: str(r.base_mac),
    firstSeen: iso(r.first_seen as number)!,
    lastSeen: iso(r.last_seen as number)!,
    checkins: Number(r.checkins),
    lastStatus: num(r.last_status),
    lastAnswer: str(r.last_answer),
    lastImage: str(r.last_image),
    lastResult: str(r.last_result),
    lastResultVersion: str(r.last_result_version),
    lastResultAt: iso(r.last_result_at as number),
    lastResultNotCounted: str(r.last_result_not_counted),
    runningMod: str(r.running_mod),
    modHost: str(r.mod_host),
    lastModResult: str(r.last_mod_result),
    lastModResultVersion: str(r.last_mod_result_version),
    lastModResultAt: iso(r.last_mod_result_at as number),
    lastModResultNotCounted: str(r.last_mod_result_not_counted),
    repeatCheckins: Number(r.repeat_checkins ?? 0),
  };
}

const v = <T>(x: T | undefined): T | null => (x === undefined ? null : x);

/** What makes a check-in worth its own history row: everything it says but its time and duration. */
function checkinKey(c: CheckinRecord): string {
  const said = [
    c.family, c.staMac, c.apMac, c.baseMac, c.chip, c.flashSize, c.freeSpace, c.sketchSize, c.version, c.sketchMd5, c.mode,
    c.report?.result, c.report?.version, c.status, c.reason, c.answer, c.image, c.source, c.rolloutId, c.stage, c.remote,
    c.runningMod, c.modHost, c.modReport?.result, c.modReport?.version, c.modImage, c.reportNotCounted, c.modReportNotCounted,
  ];
  return createHash("sha256").update(JSON.stringify(said)).digest("base64url").slice(0, 22);
}

export class Registry {
  constructor(
    private readonly db: Db,
    /** Every check-in a row, as before repeats were folded (bench/fleet-history.ts's reference only). */
    private readonly keepRepeats = false,
  ) {}

  /** Creates or refreshes the board's row with what this check-in says (answer not known yet). */
  async touch(d: DeviceSeen, now: number): Promise<void> {
    const r = d.report;
    const m = d.modReport;
    const params: Param[] = [
      d.mac, d.family, d.bucket, d.channel, v(d.apMac), v(d.baseMac), v(d.chip), v(d.flashSize), v(d.freeSpace), v(d.sketchSize),
      v(d.version), v(d.sketchMd5), v(d.sdkVersion), now, now, r?.result ?? null, r?.version ?? null, r ? now : null,
      v(d.runningMod), v(d.modHost), m?.result ?? null, m?.version ?? null, m ? now : null,
    ];
    // A board that hosts mods says so on every check-in: one without x-Ota-Mod-Host has none (running_mod and mod_host NULL).
    await this.db.run(
      `INSERT INTO devices (mac, family, bucket, channel, ap_mac, base_mac, chip, flash_size, free_space, sketch_size,
         version, sketch_md5, sdk_version, first_seen, last_seen, last_result, last_result_version, last_result_at,
         running_mod, mod_host, last_mod_result, last_mod_result_version, last_mod_result_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (mac) DO UPDATE SET
         family = excluded.family, channel = excluded.channel, ap_mac = excluded.ap_mac, base_mac = excluded.base_mac,
         chip = COALESCE(excluded.chip, devices.chip), flash_size = excluded.flash_size, free_space = excluded.free_space,
         sketch_size = excluded.sketch_size, version = excluded.version, sketch_md5 = excluded.sketch_md5,
         sdk_version = excluded.sdk_version, last_seen = excluded.last_seen,
         last_result_at = CASE
           WHEN excluded.last_result IS NULL THEN devices.last_result_at
           WHEN excluded.last_result IS NOT DISTINCT FROM devices.last_result
            AND excluded.last_result_version IS NOT DISTINCT FROM devices.last_result_version THEN devices.last_result_at
           ELSE excluded.last_result_at END,
         last_result_version = CASE WHEN excluded.last_result IS NULL THEN devices.last_result_version ELSE excluded.last_result_version END,
         last_result = COALESCE(excluded.last_result, devices.last_result),
         running_mod = excluded.running_mod, mod_host = excluded.mod_host,
         last_mod_result_at = CASE
           WHEN excluded.last_mod_result IS NULL THEN devices.last_mod_result_at
           WHEN excluded.last_mod_result IS NOT DISTINCT FROM devices.last_mod_result
            AND excluded.last_mod_result_version IS NOT DISTINCT FROM devices.last_mod_result_version THEN devices.last_mod_result_at
           ELSE excluded.last_mod_result_at END,
         last_mod_result_version = CASE WHEN excluded.last_mod_result IS NULL THEN devices.last_mod_result_version ELSE excluded.last_mod_result_version END,
         last_mod_result = COALESCE(excluded.last_mod_result, devices.last_mod_result)`,
      params,
    );
  }

  /**
   * Records a check-in's answer. A "current" answer that says exactly what the
   * board's previous check-in said (same facts, report, answer, image, source,
   * address) adds no row: the board's row counts it (checkins, repeat_checkins)
   * and its last_seen says when. Returns whether a history row was written.
   */
  async recordCheckin(c: CheckinRecord): Promise<boolean> {
    const key = c.answer === "current" && c.mac !== undefined && !this.keepRepeats ? checkinKey(c) : null;
    if (c.mac !== undefined) {
      // A check-in with a report marks whether it counted; one without leaves the mark of the last report.
      const row = await this.db.get<{ repeat_checkins: number }>(
        `UPDATE devices SET checkins = checkins + 1, last_status = ?, last_answer = ?, last_image = ?,
           last_result_not_counted = CASE WHEN ? = 1 THEN ? ELSE last_result_not_counted END,
           last_mod_result_not_counted = CASE WHEN ? = 1 THEN ? ELSE last_mod_result_not_counted END,
           repeat_checkins = CASE WHEN last_checkin_key = ? THEN repeat_checkins + 1 ELSE 0 END,
           history_rows = CASE WHEN last_checkin_key = ? THEN history_rows ELSE history_rows + 1 END,
           last_checkin_key = ?
         WHERE mac = ? RETURNING repeat_checkins`,
        [
          c.status,
          v(c.reason),
          c.answer === "refused" ? null : v(c.answer === "mod" ? c.modImage : c.image), // what was last sent, or is current
          c.report ? 1 : 0,
          v(c.reportNotCounted),
          c.modReport ? 1 : 0,
          v(c.modReportNotCounted),
          key,
          key,
          key,
          c.mac,
        ],
      );
      if (row && Number(row.repeat_checkins) > 0) return false;
    }
    await this.db.run(
      `INSERT INTO checkins (at, mac, family, sta_mac, ap_mac, base_mac, chip, flash_size, free_space, sketch_size, version,
         sketch_md5, mode, update_result, update_version, status, reason, answer, image, source, rollout_id, stage, remote, duration_ms,
         running_mod, mod_host, mod_result, mod_result_version, mod_image, report_not_counted, mod_report_not_counted)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        c.at, v(c.mac), v(c.family), v(c.staMac), v(c.apMac), v(c.baseMac), v(c.chip), v(c.flashSize), v(c.freeSpace), v(c.sketchSize),
        v(c.version), v(c.sketchMd5), v(c.mode), c.report?.result ?? null, c.report?.version ?? null, c.status, v(c.reason), c.answer,
        v(c.image), v(c.source), v(c.rolloutId), v(c.stage), v(c.remote), v(c.durationMs),
        v(c.runningMod), v(c.modHost), c.modReport?.result ?? null, c.modReport?.version ?? null, v(c.modImage),
        v(c.reportNotCounted), v(c.modReportNotCounted),
      ],
    );
    return true;
  }

  async recordDownload(d: DownloadRecord): Promise<void> {
    await this.db.run(
      `INSERT INTO downloads (at, finished_at, mac, path, status, length, range_start, bytes_sent, completed, rollout_id, remote)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [d.at, d.finishedAt, v(d.mac), d.path, d.status, v(d.length), v(d.rangeStart), d.bytesSent, d.completed ? 1 : 0, v(d.rolloutId), v(d.remote)],
    );
  }

  async devices(options: { channel?: string; limit?: number } = {}): Promise<DeviceView[]> {
    const where = options.channel === undefined ? "" : "WHERE channel = ?";
    const params: Param[] = options.channel === undefined ? [] : [options.channel];
    const rows = await this.db.all(`SELECT * FROM devices ${where} ORDER BY last_seen DESC, mac LIMIT ?`, [...params, options.limit ?? 1000]);
    return rows.map(deviceView);
  }

  async device(mac: string): Promise<DeviceView | undefined> {
    const row = await this.db.get("SELECT * FROM devices WHERE mac = ?", [mac]);
    return row ? deviceView(row) : undefined;
  }

  async count(): Promise<number> {
    return Number((await this.db.get<{ n: number }>("SELECT count(*) AS n FROM devices"))?.n ?? 0);
  }

  async history(mac: string, limit = 100): Promise<{ checkins: CheckinView[]; downloads: DownloadView[] }> {
    const checkins = await this.db.all("SELECT * FROM checkins WHERE mac = ? ORDER BY at DESC, id DESC LIMIT ?", [mac, limit]);
    const downloads = await this.db.all("SELECT * FROM downloads WHERE mac = ? ORDER BY at DESC, id DESC LIMIT ?", [mac, limit]);
    return {
      checkins: checkins.map((r) => ({
        at: iso(r.at as number)!,
        status: Number(r.status),
        reason: str(r.reason),
        answer: String(r.answer),
        image: str(r.image),
        source: str(r.source),
        rolloutId: num(r.rollout_id),
        stage: r.stage == null ? null : Number(r.stage) + 1,
        version: str(r.version),
        sketchMd5: str(r.sketch_md5),
        chip: str(r.chip),
        mode: str(r.mode),
        freeSpace: num(r.free_space),
        updateResult: str(r.update_result),
        updateVersion: str(r.update_version),
        remote: str(r.remote),
        durationMs: num(r.duration_ms),
        runningMod: str(r.running_mod),
        modHost: str(r.mod_host),
        modResult: str(r.mod_result),
        modResultVersion: str(r.mod_result_version),
        modImage: str(r.mod_image),
        reportNotCounted: str(r.report_not_counted),
        modReportNotCounted: str(r.mod_report_not_counted),
      })),
      downloads: downloads.map((r) => ({
        at: iso(r.at as number)!,
        finishedAt: iso(r.finished_at as number)!,
        path: String(r.path),
        status: Number(r.status),
        length: num(r.length),
        rangeStart: num(r.range_start),
        bytesSent: Number(r.bytes_sent),
        completed: Number(r.completed) === 1,
        rolloutId: num(r.rollout_id),
        remote: str(r.remote),
      })),
    };
  }
}

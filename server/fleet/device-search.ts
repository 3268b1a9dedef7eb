// The dashboard's device list at fleet scale: one page of the devices that
// match a search (part of a MAC, an exact version, an exact channel, a last
// result), and the fleet's picture (boards per version and per last result).
// Values only ever reach SQL as parameters; a MAC search keeps hex digits
// only, so nothing a person types can act as a LIKE wildcard.
import type { Db, Param } from "./db";
import { deviceView, type DeviceView } from "./registry";

export const PAGE_SIZE = 50;
/** Versions drawn one by one in the picture; the rest are summed as "other". */
export const TOP_VERSIONS = 12;

export interface DeviceFilter {
  /** Part of a MAC, in any case, with or without separators. */
  mac?: string;
  version?: string;
  channel?: string;
  /** A last result (valid, rolled-back, failed...), or "none" for boards that reported none. */
  result?: string;
}

export interface DevicePage {
  devices: DeviceView[];
  /** Devices matching the filter. */
  matching: number;
  page: number;
  pages: number;
  /** Rows per page. */
  size: number;
}

export interface Bar {
  label: string;
  count: number;
}

export interface FleetPicture {
  total: number;
  versions: Bar[];
  results: Bar[];
  channels: string[];
}

/** The hex digits of a MAC search, uppercase; undefined when it holds anything but hex and separators (matches nothing). */
export function macDigits(text: string): string | undefined {
  if (!/^[0-9a-fA-F:.\s-]*$/.test(text)) return undefined;
  return text.replace(/[^0-9a-fA-F]/g, "").toUpperCase();
}

function where(filter: DeviceFilter): { sql: string; params: Param[] } | undefined {
  const terms: string[] = [];
  const params: Param[] = [];
  if (filter.mac !== undefined && filter.mac.trim() !== "") {
    const digits = macDigits(filter.mac.trim());
    if (digits === undefined) return undefined;
    if (digits) {
      terms.push("replace(mac, ':', '') LIKE ?");
      params.push(`%${digits}%`);
    }
  }
  if (filter.version !== undefined) {
    // "unknown" is how the picture names boards that sent no version
    if (filter.version === "unknown") terms.push("version IS NULL");
    else {
      terms.push("version = ?");
      params.push(filter.version);
    }
  }
  if (filter.channel !== undefined) {
    terms.push("channel = ?");
    params.push(filter.channel);
  }
  if (filter.result !== undefined) {
    if (filter.result === "none") terms.push("last_result IS NULL");
    else {
      terms.push("last_result = ?");
      params.push(filter.result);
    }
  }
  return { sql: terms.length ? `WHERE ${terms.join(" AND ")}` : "", params };
}

/** One page (1-based) of the matching devices: failed or rolled back first, then by MAC. */
export async function searchDevices(db: Db, filter: DeviceFilter, page: number, size = PAGE_SIZE): Promise<DevicePage> {
  const w = where(filter);
  if (!w) return { devices: [], matching: 0, page: 1, pages: 1, size };
  const matching = Number((await db.get<{ n: number }>(`SELECT count(*) AS n FROM devices ${w.sql}`, w.params))?.n ?? 0);
  const pages = Math.max(1, Math.ceil(matching / size));
  const at = Math.min(Math.max(1, Math.floor(page)), pages);
  const rows = await db.all(
    `SELECT * FROM devices ${w.sql}
     ORDER BY CASE WHEN last_result IN ('rolled-back', 'failed') THEN 0 ELSE 1 END, mac LIMIT ? OFFSET ?`,
    [...w.params, size, (at - 1) * size],
  );
  return { devices: rows.map(deviceView), matching, page: at, pages, size };
}

/** Boards per version (the most common first) and per last result, over the whole fleet. */
export async function fleetPicture(db: Db): Promise<FleetPicture> {
  const [total, versions, results, channels] = await Promise.all([
    db.get<{ n: number }>("SELECT count(*) AS n FROM devices"),
    db.all<{ version: string | null; n: number }>("SELECT version, count(*) AS n FROM devices GROUP BY version ORDER BY count(*) DESC, version"),
    db.all<{ result: string | null; n: number }>("SELECT last_result AS result, count(*) AS n FROM devices GROUP BY last_result ORDER BY count(*) DESC, last_result"),
    db.all<{ channel: string }>("SELECT DISTINCT channel FROM devices ORDER BY channel"),
  ]);
  const top = versions.slice(0, TOP_VERSIONS).map((v) => ({ label: v.version ?? "unknown", count: Number(v.n) }));
  const rest = versions.slice(TOP_VERSIONS).reduce((sum, v) => sum + Number(v.n), 0);
  if (rest > 0) top.push({ label: "other", count: rest });
  return {
    total: Number(total?.n ?? 0),
    versions: top,
    results: results.map((r) => ({ label: r.result ?? "none", count: Number(r.n) })),
    channels: channels.map((c) => String(c.channel)),
  };
}

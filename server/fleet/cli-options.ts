// ota-server's fleet flags: --db (a SQLite file, the default; a postgres:// URL;
// or "none"), --admin-token (or OTA_ADMIN_TOKEN), board credentials
// (--fleet-secret, --fleet-secret-file or OTA_FLEET_SECRET; --require-board-auth)
// and history retention (--history-days, --history-per-board). Neither the
// token nor the secret is ever printed.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { isInside } from "../catalog-root";
import { TOKEN_ENV } from "./auth";
import { SECRET_ENV } from "./board-auth";
import { isPostgresUrl } from "./db";
import type { Fleet, FleetOptions } from "./fleet";

/** $XDG_STATE_HOME/ota-server/fleet.db, else ~/.local/state/ota-server/fleet.db: never inside a catalog. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith("/") ? env.XDG_STATE_HOME : join(homedir(), ".local", "state");
  return join(state, "ota-server", "fleet.db");
}

/** Retention when the flags say nothing: 90 days, and at most 1000 check-in rows per board. */
export const DEFAULT_HISTORY_DAYS = 90;
export const DEFAULT_HISTORY_PER_BOARD = 1000;

export interface FleetFlags {
  db?: string;
  adminToken?: string;
  fleetSecret?: string;
  fleetSecretFile?: string;
  requireBoardAuth?: boolean;
  historyDays?: number;
  historyPerBoard?: number;
}

function fleetSecret(flags: FleetFlags, env: NodeJS.ProcessEnv): string | undefined {
  if (flags.fleetSecret !== undefined && flags.fleetSecretFile !== undefined) throw new Error("--fleet-secret and --fleet-secret-file: give one");
  if (flags.fleetSecretFile !== undefined) {
    let text;
    try {
      text = readFileSync(flags.fleetSecretFile, "utf8");
    } catch (error) {
      throw new Error(`--fleet-secret-file: cannot read it (${(error as NodeJS.ErrnoException).code ?? "error"})`, { cause: error });
    }
    return text.trim();
  }
  return flags.fleetSecret ?? (env[SECRET_ENV] || undefined);
}

export function fleetOptionsFromCli(
  flags: FleetFlags,
  catalogDir: string,
  env: NodeJS.ProcessEnv = process.env,
): FleetOptions | undefined {
  const db = flags.db ?? defaultDbPath(env);
  if (db.toLowerCase() === "none") {
    if (flags.adminToken ?? env[TOKEN_ENV]) throw new Error("--admin-token needs the registry: drop --db none");
    if (flags.requireBoardAuth) throw new Error("--require-board-auth needs the registry: drop --db none");
    return undefined;
  }
  if (!isPostgresUrl(db) && db !== ":memory:" && isInside(catalogDir, resolve(db)))
    throw new Error(`--db ${db} is inside the catalog, where boards could download it: put it elsewhere`);
  const adminToken = flags.adminToken ?? (env[TOKEN_ENV] || undefined);
  const secret = fleetSecret(flags, env);
  if (flags.requireBoardAuth && secret === undefined) throw new Error(`--require-board-auth needs a fleet secret (--fleet-secret-file, or ${SECRET_ENV})`);
  return {
    db,
    adminToken,
    ...(secret !== undefined ? { fleetSecret: secret, requireBoardAuth: flags.requireBoardAuth ?? false } : {}),
    historyDays: flags.historyDays ?? DEFAULT_HISTORY_DAYS,
    historyPerBoard: flags.historyPerBoard ?? DEFAULT_HISTORY_PER_BOARD,
  };
}

export function fleetBanner(fleet: Fleet | undefined, endpoint: string | undefined): string[] {
  if (!fleet) return ["  registry:  off (--db none)"];
  return [
    `  registry:  ${fleet.db.description}${endpoint ? ` (check-ins at ${endpoint}, downloads)` : " (downloads; check-ins need --config)"}`,
    fleet.auth.enabled
      ? "  admin:     GET /dashboard, /api/devices, /api/rollouts, PUT /api/images/<name> (Bearer token)"
      : `  admin:     off (set --admin-token or ${TOKEN_ENV})`,
    fleet.boardAuth
      ? `  boards:    credentials checked (fleet secret set)${fleet.boardAuth.required ? ", required: check-ins without them are answered by the rules and not recorded" : ""}`
      : "  boards:    no credentials (set --fleet-secret-file or OTA_FLEET_SECRET)",
    `  history:   ${fleet.retention.describe()}`,
  ];
}

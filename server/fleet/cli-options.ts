// ota-server's fleet flags: --db (a SQLite file, the default; a postgres:// URL;
// or "none") and --admin-token (or OTA_ADMIN_TOKEN). The token is never printed.
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { isInside } from "../catalog-root";
import { TOKEN_ENV } from "./auth";
import { isPostgresUrl } from "./db";
import type { Fleet, FleetOptions } from "./fleet";

/** $XDG_STATE_HOME/ota-server/fleet.db, else ~/.local/state/ota-server/fleet.db: never inside a catalog. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith("/") ? env.XDG_STATE_HOME : join(homedir(), ".local", "state");
  return join(state, "ota-server", "fleet.db");
}

export function fleetOptionsFromCli(
  flags: { db?: string; adminToken?: string },
  catalogDir: string,
  env: NodeJS.ProcessEnv = process.env,
): FleetOptions | undefined {
  const db = flags.db ?? defaultDbPath(env);
  if (db.toLowerCase() === "none") {
    if (flags.adminToken ?? env[TOKEN_ENV]) throw new Error("--admin-token needs the registry: drop --db none");
    return undefined;
  }
  if (!isPostgresUrl(db) && db !== ":memory:" && isInside(catalogDir, resolve(db)))
    throw new Error(`--db ${db} is inside the catalog, where boards could download it: put it elsewhere`);
  const adminToken = flags.adminToken ?? (env[TOKEN_ENV] || undefined);
  return { db, adminToken };
}

export function fleetBanner(fleet: Fleet | undefined, endpoint: string | undefined): string[] {
  if (!fleet) return ["  registry:  off (--db none)"];
  return [
    `  registry:  ${fleet.db.description}${endpoint ? ` (check-ins at ${endpoint}, downloads)` : " (downloads; check-ins need --config)"}`,
    fleet.auth.enabled
      ? "  admin:     GET /dashboard, /api/devices, /api/rollouts, PUT /api/images/<name> (Bearer token)"
      : `  admin:     off (set --admin-token or ${TOKEN_ENV})`,
  ];
}

// `npm start -- --fleet 50`: the demo's update server with the fleet registry
// (a fresh SQLite file beside the twin's flash file, .twin/ by default), rules putting every board on channel
// "stable" with demo-1.0.0.bin, an admin token for the dashboard, and N
// virtual boards checking in. Some fail their start-up check on 2.0.0, so a
// rollout of demo-2.0.0.bin halts by itself while demo-1.1.0.bin goes through.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { FleetOptions } from "../../server/fleet/fleet";
import { rulesFromObject, type Rules } from "../../server/rules";
import { demoFirmwares, demoImage } from "../demo-catalog";
import { boardImageOf } from "./memory-ota";
import { FleetSimulator } from "./simulator";
import { failingShare } from "./startup-check";

export interface FleetDemoSettings {
  boards: number;
  intervalS: number;
  failShare: number;
}

export function fleetServerOptions(stateDir: string): { rules: Rules; fleet: FleetOptions; token: string } {
  const db = join(stateDir, "fleet.db");
  for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true }); // a new simulated fleet each run
  const token = process.env.OTA_ADMIN_TOKEN || randomBytes(16).toString("hex");
  return {
    rules: rulesFromObject({ endpoint: "/update", default: { firmware: "demo-1.0.0.bin", channel: "stable" } }),
    fleet: { db, adminToken: token },
    token,
  };
}

/** The boards start on the demo catalog's 1.0.0 (the same bytes as demo-1.0.0.bin). */
export function startFleetSimulator(server: { host: string; port: number }, s: FleetDemoSettings, log?: (line: string) => void): FleetSimulator {
  const first = boardImageOf(demoImage(demoFirmwares()[0]));
  return new FleetSimulator({
    boards: s.boards,
    url: `http://${server.host}:${server.port}/update`,
    firstImage: first,
    intervalMs: s.intervalS * 1000,
    check: failingShare(s.failShare, ["2.0.0"]),
    log,
  }).start();
}

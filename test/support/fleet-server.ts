// An update server with a fleet registry in a temporary folder, for the fleet
// simulator's tests: a catalog of v1.bin and v2.bin, every board's rule v1.bin,
// an SQLite registry beside it, listening on a free loopback port.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildServer, type OtaServer } from "../../server/app";
import type { FleetOptions } from "../../server/fleet/fleet";
import type { ServerOptions } from "../../server/options";
import { rulesFromObject } from "../../server/rules";

export interface FleetTestServer {
  dir: string;
  server: OtaServer;
  /** http://127.0.0.1:PORT */
  url: string;
  stop(): Promise<void>;
}

export async function startFleetTestServer(
  prefix: string,
  images: { v1: Uint8Array; v2: Uint8Array },
  fleet: Partial<FleetOptions>,
  options: Partial<ServerOptions> = {},
): Promise<FleetTestServer> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, "catalog"));
  writeFileSync(join(dir, "catalog", "v1.bin"), images.v1);
  writeFileSync(join(dir, "catalog", "v2.bin"), images.v2);
  const server = await buildServer({
    catalogDir: join(dir, "catalog"),
    logLevel: "silent",
    rules: rulesFromObject({ default: { firmware: "v1.bin" } }),
    ...options,
    fleet: { db: join(dir, "fleet.db"), ...fleet },
  });
  await server.app.listen({ port: 0, host: "127.0.0.1" });
  const a = server.app.server.address();
  return {
    dir,
    server,
    url: `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`,
    async stop() {
      await server.app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

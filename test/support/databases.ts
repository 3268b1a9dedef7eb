// The databases the fleet tests run against: SQLite always, and PostgreSQL
// when OTA_TEST_PG_URL names a server (npm test starts a throwaway one when
// the server binaries are installed; CI always does, and sets
// OTA_TEST_PG_REQUIRED=1 so a missing server fails instead of skipping).
// Each fresh() is an empty database of its own, dropped by its cleanup.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

export interface FreshDb {
  url: string;
  drop(): Promise<void>;
}

export interface Backend {
  name: "sqlite" | "postgres";
  /** Set when this backend's tests are skipped, with the reason. */
  skip?: string;
  fresh(): Promise<FreshDb>;
}

export const PG_URL_ENV = "OTA_TEST_PG_URL";

const sqlite: Backend = {
  name: "sqlite",
  async fresh() {
    const dir = mkdtempSync(join(tmpdir(), "ota-fleet-db-"));
    return { url: join(dir, "fleet.db"), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
};

function postgres(): Backend {
  const admin = process.env[PG_URL_ENV];
  const required = process.env.OTA_TEST_PG_REQUIRED === "1";
  const skip = admin || required ? undefined : `PostgreSQL tests skipped: ${PG_URL_ENV} is not set and no server was started (install Debian's postgresql, or set ${PG_URL_ENV}=postgres://...)`;
  return {
    name: "postgres",
    skip,
    async fresh() {
      if (!admin) throw new Error(`${PG_URL_ENV} is not set, and OTA_TEST_PG_REQUIRED=1: the PostgreSQL half must run`);
      const name = `ota_test_${randomBytes(5).toString("hex")}`;
      const client = new pg.Client({ connectionString: admin });
      await client.connect();
      await client.query(`CREATE DATABASE ${name}`);
      await client.end();
      const url = new URL(admin);
      url.pathname = `/${name}`;
      return {
        url: url.toString(),
        async drop() {
          const c = new pg.Client({ connectionString: admin });
          await c.connect();
          await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await c.end();
        },
      };
    },
  };
}

export const BACKENDS: readonly Backend[] = [sqlite, postgres()];

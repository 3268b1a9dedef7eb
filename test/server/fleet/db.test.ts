// The registry database on both engines: the same migrations build the same
// tables, a second run applies nothing, servers starting together apply each
// migration once, a newer schema is refused, transactions roll back, and
// placeholders and integer types come back the same way.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { openDb, type Db } from "../../../server/fleet/db";
import { migrate, MIGRATIONS, SCHEMA_VERSION } from "../../../server/fleet/migrations";
import { BACKENDS, type FreshDb } from "../../support/databases";

const TABLES = ["board_auth", "channels", "checkins", "devices", "downloads", "images", "rollout_devices", "rollout_events", "rollouts", "schema_migrations"];

for (const backend of BACKENDS) {
  describe(`registry database on ${backend.name}`, { skip: backend.skip }, () => {
    let fresh: FreshDb;
    let db: Db;
    before(async () => {
      fresh = await backend.fresh();
      db = await openDb(fresh.url);
    });
    after(async () => {
      await db?.close();
      await fresh?.drop();
    });

    test("migrations create every table once; a second run applies nothing", async () => {
      assert.deepEqual(await migrate(db), MIGRATIONS.map((m) => m.version));
      assert.deepEqual(await migrate(db), []);
      const names =
        backend.name === "sqlite"
          ? await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
          : await db.all<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name");
      assert.deepEqual(names.map((n) => n.name), TABLES);
      const versions = await db.all<{ version: number }>("SELECT version FROM schema_migrations");
      assert.deepEqual(versions.map((v) => Number(v.version)).sort(), MIGRATIONS.map((m) => m.version));
      assert.equal(SCHEMA_VERSION, MIGRATIONS[MIGRATIONS.length - 1].version);
    });

    test("servers opening the same database together apply each migration once", async () => {
      const other = await backend.fresh();
      const dbs = await Promise.all([openDb(other.url), openDb(other.url), openDb(other.url)]);
      try {
        const applied = await Promise.all(dbs.map((d) => migrate(d)));
        assert.deepEqual(applied.flat().sort(), MIGRATIONS.map((m) => m.version));
      } finally {
        for (const d of dbs) await d.close();
        await other.drop();
      }
    });

    test("migration 2 (mods) on a version-1 database: rows kept, old rollouts are firmware rollouts", async () => {
      const other = await backend.fresh();
      const old = await openDb(other.url);
      try {
        assert.deepEqual(await migrate(old, MIGRATIONS.slice(0, 1)), [1]);
        await old.run("INSERT INTO devices (mac, family, bucket, channel, version, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)", ["AA:BB:CC:DD:EE:01", "esp32", 3, "stable", "1.0.0", 1, 2]);
        await old.run(
          `INSERT INTO rollouts (channel, image, version, stages, stage, state, threshold, min_outcomes, created_at, stage_started_at, counted_since, updated_at)
           VALUES ('stable', 'fw.bin', '1.0.0', '[100]', 0, 'active', 0.2, 3, 1, 1, 1, 1)`,
        );
        assert.deepEqual(await migrate(old, MIGRATIONS.slice(0, 2)), [2]);
        const device = await old.get<Record<string, unknown>>("SELECT version, running_mod, mod_host FROM devices");
        assert.deepEqual({ ...device }, { version: "1.0.0", running_mod: null, mod_host: null });
        assert.equal((await old.get<{ kind: string }>("SELECT kind FROM rollouts"))?.kind, "firmware");
      } finally {
        await old.close();
        await other.drop();
      }
    });

    test("migration 3 on a version-2 database: past outcomes count only from boards known before the rollout that downloaded it", async () => {
      const other = await backend.fresh();
      const old = await openDb(other.url);
      try {
        assert.deepEqual(await migrate(old, MIGRATIONS.slice(0, 2)), [1, 2]);
        const device = "INSERT INTO devices (mac, family, bucket, channel, first_seen, last_seen) VALUES (?, 'esp32', 1, 'stable', ?, ?)";
        await old.run(device, ["AA:00:00:00:00:01", 10, 10]); // known before the rollout (created at 100)
        await old.run(device, ["AA:00:00:00:00:02", 150, 150]); // first seen after it began
        await old.run(device, ["AA:00:00:00:00:03", 10, 10]); // known, never downloaded
        await old.run(
          `INSERT INTO rollouts (channel, image, version, stages, stage, state, threshold, min_outcomes, created_at, stage_started_at, counted_since, updated_at)
           VALUES ('stable', 'fw.bin', '2.0.0', '[100]', 0, 'active', 0.2, 3, 100, 100, 100, 100)`,
        );
        const row = "INSERT INTO rollout_devices (rollout_id, mac, stage, offered_at, downloaded_at, outcome, outcome_at) VALUES (1, ?, 0, 200, ?, ?, ?)";
        await old.run(row, ["AA:00:00:00:00:01", 200, "rolled-back", 300]);
        await old.run(row, ["AA:00:00:00:00:02", 200, "rolled-back", 300]);
        await old.run(row, ["AA:00:00:00:00:03", null, "valid", 300]);
        await old.run(row, ["AA:00:00:00:00:04", 200, null, null]); // no registry row at all, no outcome
        assert.deepEqual(await migrate(old, MIGRATIONS.slice(0, 3)), [3]);
        const rows = await old.all<{ mac: string; known_before: number; counted: number | null; not_counted: string | null }>(
          "SELECT mac, known_before, counted, not_counted FROM rollout_devices ORDER BY mac",
        );
        assert.deepEqual(
          rows.map((r) => [r.mac.slice(-2), Number(r.known_before), r.counted === null ? null : Number(r.counted), r.not_counted]),
          [
            ["01", 1, 1, null],
            ["02", 0, 0, "board first seen after the rollout began"],
            ["03", 1, 0, "the board did not download the rollout image"],
            ["04", 0, null, null],
          ],
        );
      } finally {
        await old.close();
        await other.drop();
      }
    });

    test("migration 5: the devices' indexes the dashboard filters and counts by", async () => {
      const names =
        backend.name === "sqlite"
          ? await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'devices' ORDER BY name")
          : await db.all<{ name: string }>("SELECT indexname AS name FROM pg_indexes WHERE tablename = 'devices' ORDER BY indexname");
      for (const index of ["devices_last_result", "devices_version"]) assert.ok(names.some((n) => n.name === index), index);
    });

    test("PostgreSQL: single statements commit without waiting for the WAL flush, transactions (rollout decisions) wait", { skip: backend.name !== "postgres" }, async () => {
      assert.equal((await db.get<{ synchronous_commit: string }>("SHOW synchronous_commit"))?.synchronous_commit, "off");
      assert.equal(await db.transaction(async (tx) => (await tx.get<{ synchronous_commit: string }>("SHOW synchronous_commit"))?.synchronous_commit), "on");
    });

    test("a schema newer than this server knows is refused with the reason", async () => {
      await db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [SCHEMA_VERSION + 1, "from the future", 0]);
      await assert.rejects(migrate(db), /schema version \d+, newer than this ota-server knows/);
      await db.run("DELETE FROM schema_migrations WHERE version = ?", [SCHEMA_VERSION + 1]);
    });

    test("a failing transaction leaves nothing behind", async () => {
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.run("INSERT INTO channels (name, updated_at) VALUES (?, ?)", ["doomed", 1]);
          throw new Error("boom");
        }),
        /boom/,
      );
      assert.equal(await db.get("SELECT name FROM channels WHERE name = ?", ["doomed"]), undefined);
    });

    test("placeholders, BIGINT millisecond times and counts come back as numbers", async () => {
      const at = Date.UTC(2026, 11, 1, 12, 0, 0, 123);
      await db.run("INSERT INTO channels (name, baseline_image, updated_at) VALUES (?, ?, ?)", ["beta", "a?b.bin", at]);
      const row = await db.get<{ updated_at: number; baseline_image: string; n: number }>(
        "SELECT updated_at, baseline_image, (SELECT count(*) FROM channels WHERE name = ?) AS n FROM channels WHERE name = ?",
        ["beta", "beta"],
      );
      assert.deepEqual(row, { updated_at: at, baseline_image: "a?b.bin", n: 1 });
      assert.equal(await db.run("UPDATE channels SET updated_at = ? WHERE name = ?", [at + 1, "beta"]), 1);
    });
  });
}

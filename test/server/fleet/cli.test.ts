// ota-server's fleet flags, as a user runs the command: --db (SQLite file by
// default, under XDG_STATE_HOME; a postgres:// URL; none), --admin-token or
// OTA_ADMIN_TOKEN, the banner (which never shows the token), and refusals.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildImage } from "../../../tools/esp-image";
import { BACKENDS } from "../../support/databases";
import { esp32Headers, rawRequest, requestText } from "../helpers";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const CLI = [process.execPath, "--import", "tsx", join(ROOT, "server", "cli.ts")];
const TOKEN = "cli-admin-token-0123456789abcdef";

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; port: number; output: () => string; exited: Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI[0], [...CLI.slice(1), "--port", "0", ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const onData = (c: Buffer) => {
      out += c.toString();
      // the banner is one write; its registry line is the last but one, or the last with --db none
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)[\s\S]*registry: [^\n]*\n( {2}admin: [^\n]*\n|$)/.exec(out);
      if (m && (m[2] || out.includes("registry:  off"))) resolve({ child, port: Number(m[1]), output: () => out, exited });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

describe("ota-server fleet flags", () => {
  let dir: string;
  let catalog: string;
  let rules: string;
  const children: ChildProcess[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "ota-fleet-cli-"));
    catalog = join(dir, "catalog");
    await (await import("node:fs/promises")).mkdir(catalog);
    await writeFile(join(catalog, "fw.bin"), buildImage({ version: "1.0.0", size: 20_000 }));
    rules = join(dir, "rules.yaml");
    await writeFile(rules, "default: fw.bin\n");
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });

  test("by default the registry is a SQLite file under XDG_STATE_HOME; the token comes from OTA_ADMIN_TOKEN and is never printed", async () => {
    const state = join(dir, "state");
    const s = await run(["-d", catalog, "--config", rules], { XDG_STATE_HOME: state, OTA_ADMIN_TOKEN: TOKEN });
    children.push(s.child);
    const db = join(state, "ota-server", "fleet.db");
    assert.match(s.output(), new RegExp(`registry: +sqlite ${db.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(check-ins at /update, downloads\\)`));
    assert.match(s.output(), /admin: +GET \/dashboard/);
    assert.equal((await rawRequest(s.port, requestText("/update", esp32Headers()))).status, 200);
    const devices = await fetch(`http://127.0.0.1:${s.port}/api/devices`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(devices.status, 200);
    assert.equal(((await devices.json()) as { total: number }).total, 1);
    s.child.kill("SIGTERM");
    assert.equal(await s.exited, 0);
    assert.ok(existsSync(db));
    assert.ok(!s.output().includes(TOKEN));
  });

  test("--admin-token works too; without any token the admin routes answer 401 and the banner says how to set one", async () => {
    const db = join(dir, "b.db");
    const withFlag = await run(["-d", catalog, "--db", db, "--admin-token", TOKEN], { OTA_ADMIN_TOKEN: "" });
    children.push(withFlag.child);
    assert.match(withFlag.output(), /registry: +sqlite .*b\.db \(downloads; check-ins need --config\)/);
    assert.equal((await fetch(`http://127.0.0.1:${withFlag.port}/api/rollouts`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
    assert.ok(!withFlag.output().includes(TOKEN));
    withFlag.child.kill("SIGTERM");
    await withFlag.exited;
    const without = await run(["-d", catalog, "--db", db], { OTA_ADMIN_TOKEN: "" });
    children.push(without.child);
    assert.match(without.output(), /admin: +off \(set --admin-token or OTA_ADMIN_TOKEN\)/);
    assert.equal((await fetch(`http://127.0.0.1:${without.port}/api/rollouts`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 401);
    without.child.kill("SIGTERM");
    await without.exited;
  });

  test("a fleet secret from a file (never printed), --require-board-auth and the retention flags show in the banner", async () => {
    const secretFile = join(dir, "fleet.secret");
    const secret = "cli-fleet-secret-0123456789abcdef";
    await writeFile(secretFile, `${secret}\n`);
    const s = await run(["-d", catalog, "--config", rules, "--db", ":memory:", "--fleet-secret-file", secretFile, "--require-board-auth", "--history-days", "7", "--history-per-board", "50"], { OTA_ADMIN_TOKEN: TOKEN });
    children.push(s.child);
    await new Promise((r) => setTimeout(r, 200)); // the banner's last lines
    assert.match(s.output(), /boards: +credentials checked \(fleet secret set\), required/);
    assert.match(s.output(), /history: +7 days, at most 50 check-ins per board/);
    assert.ok(!s.output().includes(secret));
    // an unsigned check-in is answered by the rules and not recorded
    assert.equal((await rawRequest(s.port, requestText("/update", esp32Headers()))).status, 200);
    const devices = await fetch(`http://127.0.0.1:${s.port}/api/devices`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(((await devices.json()) as { total: number }).total, 0);
    s.child.kill("SIGTERM");
    assert.equal(await s.exited, 0);
  });

  test("--db none turns the registry off", async () => {
    const s = await run(["-d", catalog, "--db", "none"], { OTA_ADMIN_TOKEN: "" });
    children.push(s.child);
    assert.match(s.output(), /registry: +off \(--db none\)/);
    s.child.kill("SIGTERM");
    await s.exited;
  });

  const refusals: Array<[string, string[], NodeJS.ProcessEnv, RegExp]> = [
    ["a SQLite file inside the catalog", ["--db", "CATALOG/fleet.db"], {}, /inside the catalog, where boards could download it/],
    ["a short token", ["--db", ":memory:", "--admin-token", "short"], {}, /at least 16 characters/],
    ["a token with --db none", ["--db", "none"], { OTA_ADMIN_TOKEN: TOKEN }, /--admin-token needs the registry/],
    ["--require-board-auth without a fleet secret", ["--db", ":memory:", "--require-board-auth"], { OTA_FLEET_SECRET: "" }, /--require-board-auth needs a fleet secret/],
    ["a short fleet secret", ["--db", ":memory:"], { OTA_FLEET_SECRET: "short" }, /fleet secret must be at least 16 characters/],
    ["an unreadable --fleet-secret-file", ["--db", ":memory:", "--fleet-secret-file", "/nonexistent/secret"], {}, /--fleet-secret-file: cannot read it \(ENOENT\)/],
    ["an unreachable PostgreSQL", ["--db", "postgres://nobody:secret-pw@127.0.0.1:1/x"], {}, /cannot reach PostgreSQL at 127\.0\.0\.1:1\/x/],
  ];
  for (const [label, args, env, message] of refusals) {
    test(`${label} stops startup with a reason`, () => {
      const r = spawnSync(CLI[0], [...CLI.slice(1), "-d", catalog, ...args.map((a) => a.replace("CATALOG", catalog))], { cwd: ROOT, encoding: "utf8", env: { ...process.env, OTA_ADMIN_TOKEN: "", OTA_FLEET_SECRET: "", ...env } });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.ok(!r.stderr.includes("secret-pw"));
    });
  }

  const pg = BACKENDS[1];
  test("--db postgres://...: the banner names the server, never a password", { skip: pg.skip }, async () => {
    const fresh = await pg.fresh();
    try {
      const url = new URL(fresh.url);
      url.password = "not-needed-pw";
      const s = await run(["-d", catalog, "--config", rules, "--db", url.toString()], { OTA_ADMIN_TOKEN: "" });
      children.push(s.child);
      assert.match(s.output(), /registry: +postgres postgres:\/\/ota@127\.0\.0\.1:\d+\/ota_test_\w+ \(check-ins at \/update/);
      assert.ok(!s.output().includes("not-needed-pw"));
      assert.equal((await rawRequest(s.port, requestText("/update", esp32Headers()))).status, 200);
      s.child.kill("SIGTERM");
      assert.equal(await s.exited, 0);
    } finally {
      await fresh.drop();
    }
  });
});

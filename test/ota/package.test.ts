// The package a user installs: `npm pack`, then the README's one-line global
// install into a temporary prefix from a fresh folder, then both bins. The
// tarball must carry the built bins and runtime files only; the install must
// build better-sqlite3 (allowed in the one-liner) so ota-server starts on its
// default SQLite registry. Slow (npm fetches the runtime dependencies and,
// without a reachable prebuilt binary, compiles SQLite): its own time limit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");

function run(command: string, args: string[], cwd: string, timeoutMs = 60_000): { status: number | null; out: string; stdout: string } {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", timeout: timeoutMs, env: { ...process.env, npm_config_update_notifier: "false" } });
  return { status: r.status, stdout: r.stdout ?? "", out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

test("npm pack + `npm install -g --allow-scripts=better-sqlite3 TGZ` into a fresh prefix: runtime files only; ota-server and ota run", { timeout: 15 * 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "ota-pack-"));
  try {
    const packed = run("npm", ["pack", "--json", "--pack-destination", dir], root, 5 * 60_000);
    assert.equal(packed.status, 0, packed.out);
    const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = info[0].files.map((f) => f.path).sort();
    for (const must of ["bin/ota-server.js", "bin/ota.js", "dist/ota-server.js", "dist/ota.js", "package.json", "README.md"]) assert.ok(files.includes(must), `the package carries ${must}`);
    const strays = files.filter((f) => !/^(bin|dist|docs)\/|^(package\.json|README\.md)$/.test(f));
    assert.deepEqual(strays, [], "no tests, benches, twin or sources");
    // Runtime files and the reference docs the README links to, nothing else.
    assert.deepEqual(files.filter((f) => !/^docs\/[a-z0-9-]+\.md$/.test(f)), ["README.md", "bin/ota-server.js", "bin/ota.js", "dist/ota-server.js", "dist/ota.js", "package.json"]);

    const fresh = join(dir, "fresh");
    mkdirSync(fresh);
    const prefix = join(dir, "prefix");
    const installed = run("npm", ["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", "--allow-scripts=better-sqlite3", join(dir, info[0].filename)], fresh, 14 * 60_000);
    assert.equal(installed.status, 0, installed.out);
    const bin = join(prefix, "bin");
    const server = run(join(bin, "ota-server"), ["--help"], fresh);
    assert.equal(server.status, 0, server.out);
    assert.match(server.out, /Usage: ota-server/);
    assert.doesNotMatch(server.out, /not built yet/);
    const ota = run(join(bin, "ota"), ["--help"], fresh);
    assert.equal(ota.status, 0, ota.out);
    assert.match(ota.out, /Usage: ota .*\n[^]*push [^]*discover[^]*status[^]*rollback[^]*watch/);
    // The allowed install script built SQLite: the server opens its registry.
    const sqlite = join(prefix, "lib", "node_modules", "moddable-ota", "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node");
    assert.ok(existsSync(sqlite), "better-sqlite3's native module was built");
    const opened = spawnSync(process.execPath, ["-e", `const D=require(${JSON.stringify(join(prefix, "lib", "node_modules", "moddable-ota", "node_modules", "better-sqlite3"))});const d=new D(":memory:");console.log(d.prepare("select 6*7 as x").get().x)`], { encoding: "utf8" });
    assert.equal(opened.stdout.trim(), "42", opened.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

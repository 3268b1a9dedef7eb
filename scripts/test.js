#!/usr/bin/env node
// `npm test`: typecheck (device and Node), lint, unit tests on Node, the core's
// tests inside XS, browser end-to-end tests; then one summary line with counts.
//   npm test -- --only unit|package|xs|e2e|static     run one group
// The fleet tests run on SQLite and on PostgreSQL. With OTA_TEST_PG_URL unset,
// a throwaway PostgreSQL is started for the run when Debian's server binaries
// are installed (scripts/pg-temp.sh), else the PostgreSQL half is skipped with
// the reason (CI installs them and sets OTA_TEST_PG_REQUIRED=1: no skipping).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const root = join(import.meta.dirname, "..");
const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : undefined;
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// Every test has a time limit: one hang (a timer never fired, a socket never
// closed) fails that test instead of stalling the run until CI's 90 minutes.
const TEST_TIMEOUT_MS = 120_000;

function testFiles(dir, keep = () => true) {
  const found = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".test.ts") && keep(relative(root, p))) found.push(relative(root, p));
    }
  };
  if (existsSync(join(root, dir))) walk(join(root, dir));
  return found.sort();
}

function run(label, command, args) {
  console.log(`\n=== ${label}: ${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  return result.status === 0;
}

// Counts leaf tests in node:test TAP output: a line is a parent when the ok
// line just before it is nested deeper (TAP prints children first).
function countTap(tap) {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  let previousIndent = -1;
  for (const line of tap.split("\n")) {
    const m = /^(\s*)(not )?ok \d+ - (.*)$/.exec(line);
    if (!m) continue;
    const indent = m[1].length;
    const parent = previousIndent > indent;
    previousIndent = indent;
    if (parent) continue;
    if (/# SKIP|# TODO/.test(m[3])) counts.skipped++;
    else if (m[2]) counts.failed++;
    else counts.passed++;
  }
  return counts;
}

// The tests' own ~/.local/state: ota-server keeps its default registry under
// XDG_STATE_HOME, and a run must neither read nor migrate the user's one (on a
// shared machine another checkout may have left a newer schema there).
let stateHome;
function testStateHome() {
  stateHome ??= mkdtempSync(join(tmpdir(), "ota-test-state-"));
  return stateHome;
}
process.on("exit", () => stateHome && rmSync(stateHome, { recursive: true, force: true }));

function runTests(label, files, extra = [], timeoutMs = TEST_TIMEOUT_MS) {
  if (files.length === 0) return { passed: 0, failed: 0, skipped: 0, ran: false };
  mkdirSync(join(root, "artifacts"), { recursive: true });
  const tapFile = join(root, "artifacts", `${label.replace(/\W+/g, "-")}.tap`);
  console.log(`\n=== ${label}: ${files.length} files`);
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", "--test", `--test-timeout=${timeoutMs}`, "--test-reporter=spec", "--test-reporter-destination=stdout", "--test-reporter=tap", `--test-reporter-destination=${tapFile}`, ...extra, ...files],
    { cwd: root, stdio: "inherit", env: { ...process.env, CHROMIUM_PATH: chromium, XDG_STATE_HOME: testStateHome() } },
  );
  const counts = existsSync(tapFile) ? countTap(readFileSync(tapFile, "utf8")) : { passed: 0, failed: 0, skipped: 0 };
  if (result.status !== 0 && counts.failed === 0) counts.failed = 1; // a crash outside any test
  return { ...counts, ran: true };
}

function ensureChromium() {
  if (existsSync(chromium)) return true;
  const fix = "apt-get update && apt-get install -y chromium";
  if (process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
    console.log(`\nChromium is missing; installing Debian's package (${fix})`);
    spawnSync("sh", ["-c", `${fix} >/dev/null`], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (existsSync(chromium)) return true;
  }
  console.log(`\nBrowser tests need Debian's Chromium at ${chromium}. Install it with: sudo ${fix}`);
  return false;
}

// A throwaway PostgreSQL for the unit tests, stopped however the run ends.
let pgState;
function stopPostgres() {
  if (!pgState) return;
  spawnSync("bash", [join(root, "scripts", "pg-temp.sh"), "stop", pgState], { stdio: "inherit" });
  pgState = undefined;
}
function startPostgres() {
  if (process.env.OTA_TEST_PG_URL) return console.log(`\nPostgreSQL for the fleet tests: OTA_TEST_PG_URL (${process.env.OTA_TEST_PG_URL.replace(/:[^:@/]*@/, ":***@")})`);
  const state = mkdtempSync(join(tmpdir(), "ota-test-pg-"));
  const r = spawnSync("bash", [join(root, "scripts", "pg-temp.sh"), "start", state], { encoding: "utf8", env: { ...process.env, PG_TEMP_NO_INSTALL: process.env.OTA_TEST_PG_REQUIRED === "1" ? "0" : "1" } });
  if (r.status === 0) {
    pgState = state;
    process.env.OTA_TEST_PG_URL = r.stdout.trim();
    console.log(`\nPostgreSQL for the fleet tests: started a throwaway server at ${process.env.OTA_TEST_PG_URL}`);
    return;
  }
  spawnSync("rm", ["-rf", state]);
  console.log(`\nPostgreSQL half of the fleet tests SKIPPED: ${(r.stderr || "").trim().split("\n").pop()}`);
  console.log("  Install the server (sudo apt-get install -y postgresql) or set OTA_TEST_PG_URL=postgres://user@host:port/db to run it.");
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => (stopPostgres(), process.exit(130)));

const groups = [];
const staticChecks = [];
if (!only || only === "static") {
  staticChecks.push(["typecheck device", run("typecheck device (tsconfig.json)", "npx", ["tsc", "-p", "tsconfig.json", "--noEmit"])]);
  staticChecks.push(["typecheck node", run("typecheck server, twin, tests (tsconfig.node.json)", "npx", ["tsc", "-p", "tsconfig.node.json", "--noEmit"])]);
  staticChecks.push(["lint", run("lint", "npx", ["eslint", "--max-warnings", "0", "."])]);
}
// The package as a user installs it (npm pack, then the README's global install
// with better-sqlite3's build allowed): npm compiles SQLite when no prebuilt
// binary can be fetched, which takes minutes, so it has its own group and limit.
const PACKAGE_TEST = "test/ota/package.test.ts";
const unit = testFiles("test", (p) => !p.startsWith("test/e2e/") && p !== "test/xs.test.ts" && p !== PACKAGE_TEST && !p.includes("/fixtures/"));
if (!only || only === "unit") {
  startPostgres();
  try {
    groups.push(["Node", runTests("unit tests on Node", unit)]);
  } finally {
    stopPostgres();
  }
}
if (!only || only === "package") groups.push(["package", runTests("package install", [PACKAGE_TEST], [], 15 * 60_000)]);
if (!only || only === "xs") groups.push(["XS", runTests("core tests inside XS", ["test/xs.test.ts"])]);
const e2e = testFiles("test/e2e");
if ((!only || only === "e2e") && e2e.length > 0) {
  if (ensureChromium()) groups.push(["browser", runTests("browser end-to-end tests", e2e, ["--test-concurrency=1"])]);
  else groups.push(["browser", { passed: 0, failed: 1, skipped: 0, ran: true }]);
}

const total = groups.reduce((t, [, c]) => ({ passed: t.passed + c.passed, failed: t.failed + c.failed, skipped: t.skipped + c.skipped }), { passed: 0, failed: 0, skipped: 0 });
const staticFailed = staticChecks.filter(([, ok]) => !ok).map(([name]) => name);
console.log("\n=== summary");
for (const [name, ok] of staticChecks) console.log(`${name}: ${ok ? "ok" : "FAILED"}`);
for (const [name, c] of groups) console.log(`${name}: ${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ""}`);
const failed = total.failed + staticFailed.length;
console.log(`${total.passed} passed, ${failed} failed${total.skipped ? `, ${total.skipped} skipped` : ""}`);
process.exit(failed === 0 && total.passed > 0 ? 0 : 1);

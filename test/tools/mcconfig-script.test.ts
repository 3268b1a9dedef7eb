// scripts/mcconfig.js (npm run build:sim, build:esp32, flash:esp32) against a stand-in SDK:
// its mcconfig prints which tsc the build would call and the arguments it got.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const root = join(import.meta.dirname, "..", "..");
const script = join(root, "scripts", "mcconfig.js");
const bare = ["/usr/bin", "/bin", dirname(process.execPath)].join(":"); // no tsc, no mcconfig

function fakeSdk(): string {
  const sdk = mkdtempSync(join(tmpdir(), "fake-moddable-"));
  const bin = join(sdk, "build", "bin", "lin", "release");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, "mcconfig"), '#!/bin/sh\necho "tsc=$(command -v tsc)"\necho "args=$*"\necho "cwd=$(pwd)"\nexit 7\n');
  chmodSync(join(bin, "mcconfig"), 0o755);
  return sdk;
}

test("package.json: the build commands people expect, each through scripts/mcconfig.js", () => {
  const scripts = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts;
  assert.equal(scripts["build:sim"], "node scripts/mcconfig.js -d -m -p lin -t build");
  assert.equal(scripts["build:esp32"], "node scripts/mcconfig.js -d -m -p esp32 -t build");
  assert.equal(scripts["flash:esp32"], "node scripts/mcconfig.js -d -m -p esp32");
});

test("mcconfig runs in the project folder with the project's tsc first on PATH, the SDK's tools after; its exit code is kept", { skip: process.platform !== "linux" && "the stand-in SDK is a shell script" }, () => {
  const sdk = fakeSdk();
  try {
    const run = spawnSync(process.execPath, [script, "-d", "-m", "-p", "lin", "-t", "build"], { env: { PATH: bare, MODDABLE: sdk }, encoding: "utf8" });
    assert.equal(run.status, 7, run.stderr);
    assert.match(run.stdout, new RegExp(`tsc=${join(root, "node_modules", ".bin", "tsc").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\n`));
    assert.match(run.stdout, /args=-d -m -p lin -t build\n/);
    assert.match(run.stdout, new RegExp(`cwd=${root}\n`));
  } finally {
    rmSync(sdk, { recursive: true, force: true });
  }
});

test("without MODDABLE it says what to install and where the README explains it", () => {
  const run = spawnSync(process.execPath, [script, "-m", "-p", "lin"], { env: { PATH: bare }, encoding: "utf8" });
  assert.equal(run.status, 2);
  assert.match(run.stderr, /MODDABLE is not set/);
  assert.match(run.stderr, /8\.2\.3/);
  assert.match(run.stderr, /Flash a board/);
});

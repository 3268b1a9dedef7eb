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

function fakeIdf(major: number, minor: number): string {
  const idf = mkdtempSync(join(tmpdir(), "fake-idf-"));
  mkdirSync(join(idf, "components", "esp_common", "include"), { recursive: true });
  writeFileSync(join(idf, "components", "esp_common", "include", "esp_idf_version.h"), `#define ESP_IDF_VERSION_MAJOR   ${major}\n#define ESP_IDF_VERSION_MINOR   ${minor}\n#define ESP_IDF_VERSION_PATCH   0\n`);
  writeFileSync(join(idf, "export.sh"), "");
  return idf;
}

test("build:esp32 without ESP-IDF: typechecks, then says what a board build needs and stops before mcconfig", { skip: process.platform !== "linux" && "the stand-in SDK is a shell script" }, () => {
  const sdk = fakeSdk();
  const notAnInstall = mkdtempSync(join(tmpdir(), "idf-components-only-"));
  try {
    for (const [env, why] of [
      [{}, /Stopped before the ESP32 build: IDF_PATH is not set\./],
      [{ IDF_PATH: join(notAnInstall, "missing") }, /IDF_PATH is ".*missing", which does not exist/],
      [{ IDF_PATH: notAnInstall }, /is not an ESP-IDF install \(no export\.sh\)/],
    ] as const) {
      const run = spawnSync(process.execPath, [script, "-d", "-m", "-p", "esp32", "-t", "build"], { env: { PATH: bare, MODDABLE: sdk, ...env }, encoding: "utf8" });
      assert.equal(run.status, 2, run.stderr);
      assert.doesNotMatch(run.stdout, /args=/, "mcconfig is not run");
      assert.match(run.stderr, why);
      assert.match(run.stderr, /Checked: Moddable SDK found, the device's TypeScript typechecks\./);
      assert.match(run.stderr, /ESP-IDF v6\.0/);
      assert.match(run.stderr, /export\.sh/);
      assert.match(run.stderr, /Flash a board/);
    }
  } finally {
    rmSync(sdk, { recursive: true, force: true });
    rmSync(notAnInstall, { recursive: true, force: true });
  }
});

test("build:esp32 with an ESP-IDF install runs mcconfig, warning when it is not v6.0 or the SDK not 8.2.3", { skip: process.platform !== "linux" && "the stand-in SDK is a shell script" }, () => {
  const sdk = fakeSdk();
  const v60 = fakeIdf(6, 0);
  const v54 = fakeIdf(5, 4);
  try {
    const good = spawnSync(process.execPath, [script, "-d", "-m", "-p", "esp32", "-t", "build"], { env: { PATH: bare, MODDABLE: sdk, IDF_PATH: v60 }, encoding: "utf8" });
    assert.equal(good.status, 7, good.stderr);
    assert.match(good.stdout, /args=-d -m -p esp32 -t build\n/);
    assert.doesNotMatch(good.stderr, /warning/);
    mkdirSync(join(sdk, "tools"), { recursive: true });
    writeFileSync(join(sdk, "tools", "VERSION"), "7.1.0\n");
    const old = spawnSync(process.execPath, [script, "-d", "-m", "-p", "esp32", "-t", "build"], { env: { PATH: bare, MODDABLE: sdk, IDF_PATH: v54 }, encoding: "utf8" });
    assert.equal(old.status, 7, old.stderr);
    assert.match(old.stderr, /warning: IDF_PATH is ESP-IDF 5\.4; Moddable SDK 8\.2\.3 builds with v6\.0\./);
    assert.match(old.stderr, /warning: MODDABLE is Moddable SDK 7\.1\.0; this app is built and tested with 8\.2\.3\./);
  } finally {
    for (const d of [sdk, v60, v54]) rmSync(d, { recursive: true, force: true });
  }
});

const mcrunScript = join(root, "scripts", "mcrun.js");

test("build:mod runs mcrun in mods/hello with -d -m -p lin -t build by default, our tsc first on PATH", { skip: process.platform !== "linux" && "the stand-in SDK is a shell script" }, () => {
  const scripts = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts;
  assert.equal(scripts["build:mod"], "node scripts/mcrun.js");
  const sdk = fakeSdk();
  try {
    const bin = join(sdk, "build", "bin", "lin", "release");
    writeFileSync(join(bin, "mcrun"), '#!/bin/sh\necho "tsc=$(command -v tsc)"\necho "args=$*"\necho "cwd=$(pwd)"\nexit 5\n');
    chmodSync(join(bin, "mcrun"), 0o755);
    const run = spawnSync(process.execPath, [mcrunScript], { env: { PATH: bare, MODDABLE: sdk }, encoding: "utf8" });
    assert.equal(run.status, 5, run.stderr);
    assert.match(run.stdout, new RegExp(`tsc=${join(root, "node_modules", ".bin", "tsc").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\n`));
    assert.match(run.stdout, /args=-m -d -p lin -t build\n/);
    assert.match(run.stdout, new RegExp(`cwd=${join(root, "mods", "hello")}\n`));
    const esp32 = spawnSync(process.execPath, [mcrunScript, "-p", "esp32"], { env: { PATH: bare, MODDABLE: sdk }, encoding: "utf8" });
    assert.match(esp32.stdout, /args=-m -d -p esp32 -t build\n/);
  } finally {
    rmSync(sdk, { recursive: true, force: true });
  }
});

test("build:mod without MODDABLE says what to install, as build:sim does", () => {
  const run = spawnSync(process.execPath, [mcrunScript], { env: { PATH: bare }, encoding: "utf8" });
  assert.equal(run.status, 2);
  assert.match(run.stderr, /MODDABLE is not set/);
  assert.match(run.stderr, /Flash a board/);
});

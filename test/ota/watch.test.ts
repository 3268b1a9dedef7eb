// `ota watch` in its own process against a twin over real HTTP: a change in
// the watched folder runs the build and pushes what it made (one line per
// cycle with the verdict); a failing build prints the compiler's errors and
// pushes nothing. The "build" here copies a prebuilt image named by the source
// file (a firmware build needs ESP-IDF), or fails like tsc does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack } from "../support/stack";
import { demoImage, PROJECT } from "../../twin/demo-catalog";

const root = join(import.meta.dirname, "..", "..");

test("ota watch: change -> build -> push -> `valid` line; a failed build prints the compiler's error and pushes nothing", async () => {
  const s = await startStack({ twin: { requirePassword: false } });
  const dir = mkdtempSync(join(tmpdir(), "ota-watch-"));
  const src = join(dir, "src");
  mkdirSync(src);
  for (const version of ["1.1.0", "1.2.0"]) writeFileSync(join(dir, `${version}.bin`), demoImage({ name: `${version}.bin`, version, chip: "ESP32", size: 200 * 1024 }));
  const out = join(dir, "out.bin");
  writeFileSync(
    join(dir, "build.cjs"),
    `const fs = require("fs");
const v = fs.readFileSync(${JSON.stringify(join(src, "version.txt"))}, "utf8").trim();
if (v === "broken") { console.error("src/app.ts(3,1): error TS1005: ';' expected."); process.exit(2); }
fs.copyFileSync(${JSON.stringify(dir)} + "/" + v + ".bin", ${JSON.stringify(out)});
console.log("built " + v);
`,
  );
  writeFileSync(join(src, "version.txt"), "1.0.0");
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "ota", "main.ts"), "watch", "--to", `127.0.0.1:${s.twin.port}`, "--src", src, "--build", `node ${join(dir, "build.cjs")}`, "--out", out], { cwd: root, env: { ...process.env, OTA_PORTAL_PASSWORD: "" } });
  let text = "";
  const waiters: Array<() => void> = [];
  child.stdout.on("data", (c: Buffer) => {
    text += c.toString();
    for (const w of waiters.splice(0)) w();
  });
  let errText = "";
  child.stderr.on("data", (c: Buffer) => {
    errText += c.toString();
    for (const w of waiters.splice(0)) w();
  });
  const waitFor = async (re: RegExp, what: string) => {
    const until = Date.now() + 40_000;
    while (!re.test(text)) {
      if (Date.now() > until) throw new Error(`${what}: not seen\n${text}\n${errText}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
  try {
    const started = Date.now();
    while (!/watching/.test(errText) && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 100));
    writeFileSync(join(src, "version.txt"), "1.1.0");
    await waitFor(/built in [\d.]+ s, pushed in [\d.]+ s {2}127\.0\.0\.1:\d+: valid: moddable-ota-demo 1\.1\.0\n/, "first cycle");
    assert.equal(s.twin.device.appVersion, "1.1.0");
    const boots = s.twin.boots;

    writeFileSync(join(src, "version.txt"), "broken");
    await waitFor(/build failed \(exit 2\) after [\d.]+ s; not pushed:\nsrc\/app\.ts\(3,1\): error TS1005: ';' expected\.\n/, "failed build");
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(s.twin.boots, boots, "nothing pushed after a failed build");
    assert.equal(s.twin.device.appVersion, "1.1.0");

    writeFileSync(join(src, "version.txt"), "1.2.0");
    await waitFor(/valid: moddable-ota-demo 1\.2\.0\n/, "third cycle");
    assert.equal(s.twin.device.appVersion, "1.2.0");
    assert.equal(s.twin.device.appName, PROJECT);
    assert.equal(text.match(/valid: /g)?.length, 2, "one line per cycle");
  } finally {
    child.kill("SIGTERM");
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

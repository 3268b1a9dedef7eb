#!/usr/bin/env node
// Runs the Moddable SDK's mcconfig on this project (npm run build:sim, build:esp32,
// flash:esp32) with the project's own TypeScript first on PATH: mcconfig's generated
// makefile calls `tsc` from PATH (tools/mcmanifest.js, typescript.compiler "tsc"), and
// a global tsc may be missing or another version. Needs $MODDABLE (the SDK checkout);
// mcconfig is taken from PATH, else from $MODDABLE/build/bin/<host>/release.
//   node scripts/mcconfig.js -d -m -p lin -t build
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";

const root = join(import.meta.dirname, "..");
const args = process.argv.slice(2);
const sdk = process.env.MODDABLE;

if (!sdk || !existsSync(sdk)) {
  console.error(
    `MODDABLE is ${sdk ? `"${sdk}", which does not exist` : "not set"}.\n` +
      "Install the Moddable SDK (we build with 8.2.3) as its Getting Started guide says and export MODDABLE=/path/to/moddable.\n" +
      "See README.md, 'Flash a board'.",
  );
  process.exit(2);
}

const host = process.platform === "darwin" ? "mac" : process.platform === "win32" ? "win" : "lin";
const sdkBin = join(sdk, "build", "bin", host, "release");
const localBin = join(root, "node_modules", ".bin");
const PATH = [localBin, ...(process.env.PATH ?? "").split(delimiter), sdkBin].join(delimiter);

if (!existsSync(join(localBin, process.platform === "win32" ? "tsc.cmd" : "tsc"))) {
  console.error("node_modules/.bin/tsc is missing: run `npm install` first.");
  process.exit(2);
}

const result = spawnSync("mcconfig", args, { cwd: root, stdio: "inherit", env: { ...process.env, PATH }, shell: process.platform === "win32" });
if (result.error) {
  console.error(`cannot run mcconfig (${result.error.message}): build the SDK's tools (see its Getting Started guide) or put mcconfig on PATH.`);
  process.exit(2);
}
process.exit(result.status ?? 1);

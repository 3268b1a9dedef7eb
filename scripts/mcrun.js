#!/usr/bin/env node
// Builds a mod (npm run build:mod) with the Moddable SDK's mcrun, this
// project's tsc first on PATH (scripts/sdk-env.js), and says where the .xsa is.
//   npm run build:mod                  # mods/hello for the simulator: mcrun -d -m -p lin -t build
//   npm run build:mod -- -p esp32      # the same mod for a board
//   npm run build:mod -- --mod mods/x  # another mod folder (its manifest.json)
// -d and -m are always passed; -p defaults to lin and -t to build (mcrun's
// default target would start the simulator, or on a board install the mod over
// the xsbug connection of a debug host). Other arguments go to mcrun as given.
// The archive lands under $MODDABLE/build/bin/<platform>/.../<folder name>/: mc.xsa
// (lin: build/bin/lin/mc/debug/hello/mc.xsa) or <folder name>.xsa (esp32).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { root, sdkEnv } from "./sdk-env.js";

const args = process.argv.slice(2);
let modDir = join(root, "mods", "hello");
const at = args.indexOf("--mod");
if (at >= 0) {
  modDir = resolve(args[at + 1] ?? "");
  args.splice(at, 2);
}
if (!existsSync(join(modDir, "manifest.json"))) {
  console.error(`${modDir} has no manifest.json: pass a mod folder with --mod.`);
  process.exit(2);
}

const { sdk, PATH } = sdkEnv();
for (const flag of ["-d", "-m"]) if (!args.includes(flag)) args.unshift(flag);
if (!args.includes("-p")) args.push("-p", "lin");
if (!args.includes("-t")) args.push("-t", "build");

const started = Date.now();
const result = spawnSync("mcrun", args, { cwd: modDir, stdio: "inherit", env: { ...process.env, PATH }, shell: process.platform === "win32" });
if (result.error) {
  console.error(`cannot run mcrun (${result.error.message}): build the SDK's tools (see its Getting Started guide) or put mcrun on PATH.`);
  process.exit(2);
}
if (result.status !== 0) process.exit(result.status ?? 1);

/** The .xsa this build wrote (mc.xsa for lin, <name>.xsa for esp32): the newest under build/bin in a folder named after the mod. */
function findArchive(dir, name, depth = 0) {
  let best;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || depth > 6) continue;
    const sub = join(dir, entry.name);
    const archives = entry.name === name ? readdirSync(sub).filter((f) => f.endsWith(".xsa")).map((f) => join(sub, f)) : [];
    for (const found of [...archives, findArchive(sub, name, depth + 1)]) {
      if (found && statSync(found).mtimeMs >= started - 1000 && (!best || statSync(found).mtimeMs > statSync(best).mtimeMs)) best = found;
    }
  }
  return best;
}
const archive = findArchive(join(sdk, "build", "bin"), basename(modDir));
if (archive) console.log(`mod archive: ${archive} (${statSync(archive).size} bytes)`);
else console.log(`mcrun succeeded; the .xsa is under ${join(sdk, "build", "bin")}, in a folder named ${basename(modDir)} (it was up to date: no new file)`);

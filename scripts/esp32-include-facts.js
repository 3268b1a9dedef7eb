#!/usr/bin/env node
// Writes test/device/fixtures/esp32c3-include-path.json: the folders mcconfig
// puts on the C include path for an ESP32-C3 build (Moddable 8.2.3, ESP-IDF
// v6.0) and, for every header our native files include, where the compiler
// would find it and what that header includes in turn. The test
// test/device/native-includes.test.ts then fails on a header mcconfig cannot
// reach, without the SDK or ESP-IDF in CI. The include path comes from the
// shared esp32-compile-check tool, which evaluates the SDK's make.esp32.mk.
// Rerun after adding a header to a native file:
//   node scripts/esp32-include-facts.js --idf /tmp/esp-idf --moddable /tmp/moddable
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";

const root = join(import.meta.dirname, "..");
const arg = (name) => process.argv[process.argv.indexOf(name) + 1];
const idf = arg("--idf");
const moddable = arg("--moddable");
const tool = process.env.ESP32_COMPILE_CHECK ?? join(root, "..", "shared", "tools", "esp32-compile-check", "esp32-compile-check");
if (!process.argv.includes("--idf") || !process.argv.includes("--moddable") || !existsSync(idf) || !existsSync(moddable)) {
  console.error("usage: node scripts/esp32-include-facts.js --idf <ESP-IDF v6.0> --moddable <Moddable 8.2.3>");
  process.exit(2);
}

export function nativeFiles(dir = join(root, "modules")) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) found.push(...nativeFiles(p));
    else if (/\.[ch]$/.test(name)) found.push(p);
  }
  return found;
}

// An empty C file compiled with --keep leaves the evaluated flags behind.
const work = mkdtempSync(join(tmpdir(), "include-facts-"));
writeFileSync(join(work, "empty.c"), "\n");
const run = spawnSync(tool, ["--idf", idf, "--moddable", moddable, "--keep", "--no-install", join(work, "empty.c")], { encoding: "utf8" });
const kept = /work directory kept: (\S+)/.exec(run.stdout + run.stderr)?.[1];
if (!kept) {
  console.error(run.stdout + run.stderr);
  process.exit(1);
}
const flags = readFileSync(join(kept, "mcflags.txt"), "utf8");
const includeLine = flags.split("\n").find((l) => l.startsWith("ECC_C_INCLUDES")) ?? "";
const dirs = [...includeLine.matchAll(/-I(\S+)/g)].map((m) => m[1].replace(/\/+$/, ""));
rmSync(kept, { recursive: true, force: true });
rmSync(work, { recursive: true, force: true });

const components = join(idf, "components");
// Folders named as mcconfig names them: $(IDF_PATH)/components/... and $(MODDABLE)/...
const label = (dir) =>
  dir.startsWith(components) ? `$(IDF_PATH)/components${dir.slice(components.length)}` : dir.startsWith(moddable) ? `$(MODDABLE)${dir.slice(moddable.length)}` : undefined;
const includeDirs = dirs.map(label).filter(Boolean);

function findAnywhere(name) {
  const hits = [];
  const walk = (d, depth) => {
    if (depth > 8 || hits.length) return;
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p, depth + 1);
      else if (p.endsWith(`/${name}`)) hits.push(p);
    }
  };
  walk(components, 0);
  return hits[0] ? label(hits[0].slice(0, -name.length - 1)) : undefined;
}

// Where gcc finds `name` on mcconfig's path (the first folder that has it), else where it lives.
function locate(name) {
  for (const dir of dirs) if (existsSync(join(dir, name)) && label(dir)) return { at: label(dir), file: join(dir, name), onPath: true };
  const at = findAnywhere(name);
  return { at: at ?? null, file: at ? join(at.replace("$(IDF_PATH)", idf).replace("$(MODDABLE)", moddable), name) : undefined, onPath: false };
}

// Bare names that do not work with mcconfig's path (issue 17), recorded so the
// test names the reason when one comes back.
const traps = ["esp_flash.h", "esp_ota_ops.h"];
// mcconfig writes these into its tmp dir (mc.*.h) and SDKCONFIG_H_DIR (sdkconfig.h).
const generated = (name) => /^mc\.[a-z]+\.h$/.test(name) || name === "sdkconfig.h";
const includesOf = (text) => [...text.matchAll(/^\s*#\s*include\s+"([^"]+)"/gm)].map((m) => m[1]);
const headers = {};
for (const [file, names] of [...nativeFiles().map((f) => [f, includesOf(readFileSync(f, "utf8"))]), [root, traps]]) {
  for (const name of names) {
    if (headers[name] || existsSync(join(dirname(file), name)) || generated(name)) continue;
    const { at, file: found } = locate(name);
    // One level down, for ESP-IDF headers only: esp_flash.h is on the path but its
    // hal/spi_flash_types.h is not. The SDK's own headers are what every build has.
    const idfHeader = at?.startsWith("$(IDF_PATH)") && found && existsSync(found);
    const includes = idfHeader ? includesOf(readFileSync(found, "utf8")).filter((n) => !generated(n) && !existsSync(join(dirname(found), n))) : [];
    headers[name] = { at, includes };
    for (const inner of includes) if (!headers[inner]) headers[inner] = { at: locate(inner).at, includes: [] };
  }
}

const out = join(root, "test", "device", "fixtures", "esp32c3-include-path.json");
const facts = {
  made: "node scripts/esp32-include-facts.js --idf <ESP-IDF v6.0 components export> --moddable <Moddable 8.2.3>",
  target: "esp32c3",
  includeDirs,
  headers: Object.fromEntries(Object.entries(headers).sort(([a], [b]) => a.localeCompare(b))),
};
writeFileSync(out, JSON.stringify(facts, null, 1) + "\n");
console.log(`${relative(root, out)}: ${includeDirs.length} folders, ${Object.keys(headers).length} headers`);

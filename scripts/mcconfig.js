#!/usr/bin/env node
// Runs the Moddable SDK's mcconfig on this project (npm run build:sim, build:esp32,
// flash:esp32) with the project's own TypeScript first on PATH: mcconfig's generated
// makefile calls `tsc` from PATH (tools/mcmanifest.js, typescript.compiler "tsc"), and
// a global tsc may be missing or another version. Needs $MODDABLE (the SDK checkout);
// mcconfig is taken from PATH, else from $MODDABLE/build/bin/<host>/release.
// For -p esp32 it goes as far as a machine without ESP-IDF allows (the SDK is
// found, the device TypeScript typechecks) and then says what is missing,
// instead of mcconfig's "$IDF_PATH not set" or a failed `source export.sh`.
//   node scripts/mcconfig.js -d -m -p lin -t build
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { root, sdkEnv } from "./sdk-env.js";

const args = process.argv.slice(2);
const { sdk, localBin, PATH } = sdkEnv();

// The versions we build with: Moddable SDK 8.2.3 on ESP-IDF v6.0 (the SDK's own esp32.md).
const WANT_SDK = "8.2.3";
const WANT_IDF = "6.0";
const platform = args[args.indexOf("-p") + 1] ?? "";
const sdkVersion = existsSync(join(sdk, "tools", "VERSION")) ? readFileSync(join(sdk, "tools", "VERSION"), "utf8").trim() : undefined;
if (sdkVersion && sdkVersion !== WANT_SDK) console.error(`warning: MODDABLE is Moddable SDK ${sdkVersion}; this app is built and tested with ${WANT_SDK}.`);

/** ESP-IDF's version as major.minor from components/esp_common/include/esp_idf_version.h. */
function idfVersion(idf) {
  const file = join(idf, "components", "esp_common", "include", "esp_idf_version.h");
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, "utf8");
  const part = (name) => new RegExp(`^#define\\s+ESP_IDF_VERSION_${name}\\s+(\\d+)`, "m").exec(text)?.[1];
  const major = part("MAJOR");
  const minor = part("MINOR");
  return major && minor ? `${major}.${minor}` : undefined;
}

if (platform.startsWith("esp32")) {
  const idf = process.env.IDF_PATH;
  const problem = !idf
    ? "IDF_PATH is not set"
    : !existsSync(idf)
      ? `IDF_PATH is "${idf}", which does not exist`
      : !existsSync(join(idf, "export.sh"))
        ? `IDF_PATH "${idf}" is not an ESP-IDF install (no export.sh)`
        : undefined;
  if (problem) {
    const tsc = spawnSync(join(localBin, "tsc"), ["-p", join(root, "tsconfig.json"), "--noEmit"], { cwd: root, stdio: "inherit" });
    console.error(
      `${tsc.status === 0 ? "Checked: Moddable SDK found, the device's TypeScript typechecks." : "The device's TypeScript does not typecheck (above)."}\n` +
        `Stopped before the ESP32 build: ${problem}.\n` +
        `Building for a board needs ESP-IDF v${WANT_IDF} installed as Moddable's documentation/devices/esp32.md says,\n` +
        "its environment loaded (source $IDF_PATH/export.sh) and Moddable SDK 8.2.3 at $MODDABLE. See README.md, 'Flash a board'.",
    );
    process.exit(2);
  }
  const version = idfVersion(idf);
  if (version !== WANT_IDF) console.error(`warning: IDF_PATH is ESP-IDF ${version ?? "of unknown version"}; Moddable SDK ${WANT_SDK} builds with v${WANT_IDF}.`);
}

const result = spawnSync("mcconfig", args, { cwd: root, stdio: "inherit", env: { ...process.env, PATH }, shell: process.platform === "win32" });
if (result.error) {
  console.error(`cannot run mcconfig (${result.error.message}): build the SDK's tools (see its Getting Started guide) or put mcconfig on PATH.`);
  process.exit(2);
}
process.exit(result.status ?? 1);

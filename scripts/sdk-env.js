// What scripts/mcconfig.js and scripts/mcrun.js share: $MODDABLE checked with a
// clear error, and a PATH with this project's tsc first (the SDK's makefiles
// call `tsc` from PATH; a global one is often missing or another version) and
// the SDK's tools last.
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";

export const root = join(import.meta.dirname, "..");

/** Exits with code 2 and says why when $MODDABLE or our tsc is missing. */
export function sdkEnv() {
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
  if (!existsSync(join(localBin, process.platform === "win32" ? "tsc.cmd" : "tsc"))) {
    console.error("node_modules/.bin/tsc is missing: run `npm install` first.");
    process.exit(2);
  }
  const PATH = [localBin, ...(process.env.PATH ?? "").split(delimiter), sdkBin].join(delimiter);
  return { sdk, localBin, PATH };
}

// Bench: portal page sizes and render time per request, inside XS (xsnap, the
// device's engine) and on Node. Not a test: times vary with the machine, and an
// ESP32 at 240 MHz is far slower than either; sizes are what the device sends.
//   node --import tsx bench/portal-pages.ts
import "@endo/init";
import * as childProcess from "node:child_process";
import * as fsPromises from "node:fs/promises";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { build } from "esbuild";
import { xsnap } from "@agoric/xsnap";
import { runPortalBench, type PageFigure } from "./portal-pages-workload";

const here = import.meta.dirname;

async function inXs(): Promise<PageFigure[]> {
  const entry = `import { runPortalBench } from ${JSON.stringify(path.join(here, "portal-pages-workload.ts"))};
import { utf8Encode } from ${JSON.stringify(path.join(here, "..", "modules", "core", "bytes.ts"))};
globalThis.__bench = () => issueCommand(utf8Encode(JSON.stringify(runPortalBench())).buffer);`;
  const result = await build({
    stdin: { contents: entry, resolveDir: here, loader: "ts", sourcefile: "portal-bench-entry.ts" },
    bundle: true,
    write: false,
    format: "iife",
    platform: "neutral",
    target: "es2022",
    mainFields: ["module", "main"],
    conditions: ["import", "default"],
    logLevel: "silent",
    // The rig imports the test API only through fakes that do not need it; node:test must not be bundled.
    external: ["node:*"],
  });
  let figures: PageFigure[] = [];
  const worker = await xsnap({
    os: os.type(),
    spawn: childProcess.spawn,
    fs: { ...fsPromises, ...fs, tmpName: undefined } as never,
    name: "portal-bench",
    meteringLimit: 0,
    stderr: "inherit",
    handleCommand: async (message: Uint8Array) => {
      figures = JSON.parse(new TextDecoder().decode(message)) as PageFigure[];
      return new Uint8Array(0);
    },
  });
  try {
    await worker.evaluate(`${result.outputFiles[0].text}\n;globalThis.__bench();`);
  } finally {
    await worker.close();
  }
  return figures;
}

const xs = await inXs();
const node = runPortalBench();
console.log("Portal pages: size sent and mean time per request (handler only, no socket)");
console.log(`${"request".padEnd(36)} ${"bytes".padStart(6)} ${"XS ms".padStart(8)} ${"Node ms".padStart(8)}`);
for (const f of node) {
  const x = xs.find((e) => e.page === f.page);
  console.log(`${f.page.padEnd(36)} ${String(f.bytes).padStart(6)} ${(x ? x.msPerRequest.toFixed(3) : "?").padStart(8)} ${f.msPerRequest.toFixed(3).padStart(8)}`);
}

// Bench: streams a 4 MB image through the update engine inside XS (xsnap, the
// engine of the device) and prints throughput and the largest buffer allocated
// while streaming. Not a test: figures vary with the machine.
//   node --import tsx bench/engine-xs.ts
import "@endo/init";
import * as childProcess from "node:child_process";
import * as fsPromises from "node:fs/promises";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { build } from "esbuild";
import { xsnap } from "@agoric/xsnap";

const here = import.meta.dirname;

async function bundle(): Promise<string> {
  const entry = `import { runEngineBench } from ${JSON.stringify(path.join(here, "engine-xs-workload.ts"))};
import { utf8Encode } from ${JSON.stringify(path.join(here, "..", "modules", "core", "bytes.ts"))};
globalThis.__bench = () => runEngineBench((line) => issueCommand(utf8Encode(JSON.stringify(line)).buffer))
  .catch((e) => issueCommand(utf8Encode(JSON.stringify({ error: String(e && e.stack || e) })).buffer));`;
  const result = await build({
    stdin: { contents: entry, resolveDir: here, loader: "ts", sourcefile: "bench-entry.ts" },
    bundle: true,
    write: false,
    format: "iife",
    platform: "neutral",
    target: "es2022",
    mainFields: ["module", "main"],
    conditions: ["import", "default"],
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}

const lines: Record<string, unknown>[] = [];
const worker = await xsnap({
  os: os.type(),
  spawn: childProcess.spawn,
  fs: { ...fsPromises, ...fs, tmpName: undefined } as never,
  name: "engine-bench",
  meteringLimit: 0,
  stderr: "inherit",
  handleCommand: async (message: Uint8Array) => {
    lines.push(JSON.parse(new TextDecoder().decode(message)) as Record<string, unknown>);
    return new Uint8Array(0);
  },
});
try {
  await worker.evaluate(`${await bundle()}\n;globalThis.__bench();`);
} finally {
  await worker.close();
}
console.log("Update engine inside XS (xsnap), 4 KB chunks, fake HTTP + in-memory slot:");
for (const l of lines) {
  if (l.error) {
    console.error(`bench failed: ${String(l.error)}`);
    process.exitCode = 1;
    continue;
  }
  const rate = l.mbPerS !== undefined ? `${l.mbPerS} MB/s` : `${l.entries} entries`;
  console.log(`- ${l.bench}: ${l.bytes} bytes in ${l.ms} ms (${rate}); largest allocation ${l.largestAllocation} B of ${l.allocations} (${l.topSizes})` + (l.largestWrite ? `; largest chunk in ${l.largestChunkIn} B, largest flash write ${l.largestWrite} B` : ""));
}

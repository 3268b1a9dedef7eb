// Bench: streams a 4 MB image through the update engine inside XS (xsnap, the
// engine of the device) and prints throughput and the largest buffer allocated
// while streaming. Not a test: figures vary with the machine.
//   node --import tsx bench/engine-xs.ts
import * as path from "node:path";
import { bundleScript, evaluateInXs } from "../test/harness/xs";

const here = import.meta.dirname;
const entry = `import { runEngineBench } from ${JSON.stringify(path.join(here, "engine-xs-workload.ts"))};
import { utf8Encode } from ${JSON.stringify(path.join(here, "..", "modules", "core", "bytes.ts"))};
globalThis.__bench = () => runEngineBench((line) => issueCommand(utf8Encode(JSON.stringify(line)).buffer))
  .catch((e) => issueCommand(utf8Encode(JSON.stringify({ error: String(e && e.stack || e) })).buffer));`;

const lines: Record<string, unknown>[] = [];
await evaluateInXs(await bundleScript(entry, here, "bench-entry.ts"), "globalThis.__bench()", "engine-bench", (line) => lines.push(line as Record<string, unknown>));
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

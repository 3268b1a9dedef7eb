// Bench: portal page sizes and render time per request, inside XS (xsnap, the
// device's engine) and on Node. Not a test: times vary with the machine, and an
// ESP32 at 240 MHz is far slower than either; sizes are what the device sends.
//   node --import tsx bench/portal-pages.ts
import * as path from "node:path";
import { bundleScript, evaluateInXs } from "../test/harness/xs";
import { runPortalBench, type PageFigure } from "./portal-pages-workload";

const here = import.meta.dirname;

async function inXs(): Promise<PageFigure[]> {
  const entry = `import { runPortalBench } from ${JSON.stringify(path.join(here, "portal-pages-workload.ts"))};
import { utf8Encode } from ${JSON.stringify(path.join(here, "..", "modules", "core", "bytes.ts"))};
globalThis.__bench = () => issueCommand(utf8Encode(JSON.stringify(runPortalBench())).buffer);`;
  let figures: PageFigure[] = [];
  await evaluateInXs(await bundleScript(entry, here, "portal-bench-entry.ts"), "globalThis.__bench()", "portal-bench", (message) => {
    figures = message as PageFigure[];
  });
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

// Bench: the verify of one signed 1 MB image, as a board does it before commit
// (SHA-256 over the image in 4 KB chunks, then the signature decision), inside
// XS (xsnap, pure-JS @noble reference) and on Node (node:crypto), runs
// interleaved, min / median / max; plus XS heap figures for one check.
//   npm run bench:signature [-- --runs N]
// Not a test: figures vary with the machine. The ESP32 uses the SDK's native
// SHA-256 and ECDSA (modules/crypt), which this machine cannot run.
import * as path from "node:path";
import { createHash } from "node:crypto";
import { bundleScript, openXs, type XsMeter } from "../test/harness/xs";
import { benchImage, IMAGE_SIZE } from "./signature-xs-workload";
import { testKey, signImage } from "../test/fakes/signature";
import { checkSignature, signaturePolicy } from "../modules/core/signature/policy";
import { readImageFacts } from "../modules/core/signature/statement";
import { nodeVerifier } from "../server/signing";
import { nobleDigest } from "../test/fakes/digest";

const runs = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 5;
const WARM = 5;
const here = import.meta.dirname;
const key = testKey(1);
const image = benchImage();
const sig = signImage(image, key);

const entry = `import * as w from ${JSON.stringify(path.join(here, "signature-xs-workload.ts"))};
import { utf8Encode } from ${JSON.stringify(path.join(here, "..", "modules", "core", "bytes.ts"))};
const report = (line) => issueCommand(utf8Encode(JSON.stringify(line)).buffer);
globalThis.__w = w; globalThis.__report = report;`;
const bundle = await bundleScript(entry, here, "bench-signature.ts");

interface XsRun {
  sha256: number;
  cold: number;
  warm: number[];
  /** Slots in use: after setup + gc, right after the first check, after gc again. */
  slots: [number, number, number];
  /** Heap bytes xsnap reserved before and after the first check. */
  heap: [number, number];
}

async function xsRun(): Promise<XsRun> {
  const lines: Record<string, unknown>[] = [];
  const worker = await openXs(bundle, "signature-bench", (line) => lines.push(line as Record<string, unknown>));
  try {
    const call = (code: string): Promise<XsMeter> => worker.run(`try { ${code} } catch (e) { globalThis.__report({ error: String(e && e.stack || e) }); }`);
    await call(`__w.setup(${JSON.stringify(key.config)}, ${JSON.stringify(sig)}); __w.hashImage(__report);`);
    const base = await call("gc();");
    const first = await call(`__w.checkOnce(__report, "cold");`);
    const after = await call("gc();");
    for (let i = 0; i < WARM; i++) await call(`__w.checkOnce(__report, "warm");`);
    const failed = lines.find((l) => l.error);
    if (failed) throw new Error(String(failed.error));
    const ms = (step: string) => lines.filter((l) => l.step === step).map((l) => Number(l.ms));
    return {
      sha256: ms("sha256")[0],
      cold: ms("cold")[0],
      warm: ms("warm"),
      slots: [base.currentHeapCount ?? 0, first.currentHeapCount ?? 0, after.currentHeapCount ?? 0],
      heap: [base.allocate ?? 0, first.allocate ?? 0],
    };
  } finally {
    await worker.close();
  }
}

interface NodeRun {
  sha256: number;
  check: number;
}

function nodeRun(): NodeRun {
  const policy = signaturePolicy([key.config], { chipId: 0, projectName: "ota-device", secureVersion: 1 }, nobleDigest);
  let t0 = performance.now();
  const hash = createHash("sha256");
  for (let i = 0; i < image.length; i += 4096) hash.update(image.subarray(i, i + 4096));
  const sha256 = hash.digest("hex");
  const hashMs = performance.now() - t0;
  t0 = performance.now();
  const verdict = checkSignature(sig, { sha256, size: image.length, facts: readImageFacts(image) }, policy, nodeVerifier);
  const checkMs = performance.now() - t0;
  if (!verdict.ok || !verdict.signed) throw new Error("Node refused the bench image");
  return { sha256: hashMs, check: checkMs };
}

function stats(values: number[]): string {
  const v = [...values].sort((a, b) => a - b);
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  return `${f(v[0])} / ${f(v[Math.floor(v.length / 2)])} / ${f(v[v.length - 1])}`;
}

const xs: XsRun[] = [];
const node: NodeRun[] = [];
nodeRun(); // warm node:crypto's key import once, as a server would be
for (let i = 0; i < runs; i++) {
  xs.push(await xsRun());
  node.push(nodeRun());
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ratio = (a: number[], b: number[]) => `${Math.round(median(a) / median(b))}x`;
const rows: [string, number[], number[]][] = [
  [`SHA-256 of ${IMAGE_SIZE / 1048576} MB, 4 KB chunks`, xs.map((r) => r.sha256), node.map((r) => r.sha256)],
  ["signature check, first of the run", xs.map((r) => r.cold), node.map((r) => r.check)],
  ["signature check, warm", xs.flatMap((r) => r.warm), node.map((r) => r.check)],
  ["total: SHA-256 + first check", xs.map((r) => r.sha256 + r.cold), node.map((r) => r.sha256 + r.check)],
];
console.log(`Verify of one signed ${IMAGE_SIZE / 1048576} MB image, ECDSA P-256 / SHA-256; ms, min / median / max of ${runs} interleaved runs (warm XS: ${WARM} per run)`);
console.log(`${"".padEnd(36)}${"XS (xsnap, @noble JS)".padEnd(28)}${"Node (node:crypto)".padEnd(26)}XS / Node`);
for (const [label, a, b] of rows) console.log(`${label.padEnd(36)}${stats(a).padEnd(28)}${stats(b).padEnd(26)}${ratio(a, b)}`);
const slot = 32; // sizeof(txSlot) on 64-bit hosts; 16 on the ESP32
const used = xs.map((r) => r.slots[1] - r.slots[0]);
const kept = xs.map((r) => r.slots[2] - r.slots[0]);
const grew = xs.map((r) => r.heap[1] - r.heap[0]);
console.log(`XS heap, first check: ${median(used)} slots allocated (${Math.round((median(used) * 16) / 1024)} KB at the ESP32's 16 B a slot, plus BigInt chunks), ${median(kept)} still live after gc (kept by the verifier), heap reserved grew ${Math.round(median(grew) / 1024)} KB (xsnap, ${slot} B slots)`);

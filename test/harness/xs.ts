// Runs engine-neutral test files inside Moddable's XS engine (the xsnap worker
// that @agoric/xsnap builds from source at npm install).
//
// A test file is bundled by esbuild as plain ES2022 for a neutral platform: an
// import of a Node built-in fails the bundle, and a Node global (process, Buffer,
// setTimeout...) fails at run time in XS, so a core test that leans on Node
// cannot pass here even when it passes on Node.
import "@endo/init"; // @agoric/xsnap expects a hardened realm (harden, assert)
import * as childProcess from "node:child_process";
import * as fsPromises from "node:fs/promises";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { xsnap } from "@agoric/xsnap";

const here = path.dirname(fileURLToPath(import.meta.url));

export interface XsResult {
  name: string;
  ok: boolean;
  error?: string;
}

// Swap the Node test API (t.ts) for the XS registry (t-xs.ts).
const xsTestApi: Plugin = {
  name: "xs-test-api",
  setup(b) {
    const nodeApi = path.join(here, "t");
    b.onResolve({ filter: /(^|\/)t(\.ts)?$/ }, (args) =>
      path.resolve(args.resolveDir, args.path).replace(/\.ts$/, "") === nodeApi ? { path: path.join(here, "t-xs.ts") } : undefined,
    );
  },
};

/**
 * Bundles a script for XS: ES2022 for a neutral platform, so an import of a Node
 * built-in fails here. Test files' `harness/t` becomes the XS registry.
 */
export async function bundleScript(entry: string, resolveDir: string, sourcefile = "xs-entry.ts"): Promise<string> {
  const result = await build({
    stdin: { contents: entry, resolveDir, loader: "ts", sourcefile },
    bundle: true,
    write: false,
    format: "iife",
    platform: "neutral",
    target: "es2022",
    // xsnap's XS throws "P: get ?: not initialized yet" when a static field
    // initializer constructs its own class and the class has instance fields
    // (`class P { X; static ZERO = new P() }`, as @noble/curves does); the
    // spec allows it. Lowering static fields to assignments after the class
    // sidesteps that engine bug and changes nothing else.
    supported: { "class-static-field": false },
    mainFields: ["module", "main"],
    conditions: ["import", "default"],
    plugins: [xsTestApi],
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}

/** Bundles one test file into a script that registers its tests and runs them. */
export async function bundleForXs(testFile: string): Promise<string> {
  const entry = `import ${JSON.stringify(path.resolve(testFile))};\nimport { runRegistered } from ${JSON.stringify(path.join(here, "t-xs.ts"))};\nglobalThis.__runRegistered = runRegistered;\n`;
  return bundleScript(entry, process.cwd());
}

/** What xsnap reports after each evaluation: slots in use and bytes of heap it reserved so far. */
export interface XsMeter {
  currentHeapCount: number | null;
  allocate: number | null;
}

export interface XsWorker {
  /** Evaluates code; settles once XS's job queue is empty, with the heap figures at that point. */
  run(code: string): Promise<XsMeter>;
  close(): Promise<void>;
}

/**
 * A fresh XS worker that evaluates `script` first; each JSON message a script
 * sends with issueCommand reaches onMessage. `gc()` is a global there.
 */
export async function openXs(script: string, name: string, onMessage: (message: unknown) => void): Promise<XsWorker> {
  const decoder = new TextDecoder();
  const worker = await xsnap({
    os: os.type(),
    spawn: childProcess.spawn,
    fs: { ...fsPromises, ...fs, tmpName: undefined } as never,
    name,
    meteringLimit: 0, // long runs (multi-megabyte streams) must not hit the crank meter
    stderr: "inherit",
    handleCommand: async (message: Uint8Array) => {
      onMessage(JSON.parse(decoder.decode(message)));
      return new Uint8Array(0);
    },
  });
  const run = async (code: string): Promise<XsMeter> => {
    const { meterUsage } = await worker.evaluate(code);
    return { currentHeapCount: meterUsage.currentHeapCount, allocate: meterUsage.allocate };
  };
  try {
    await run(script);
  } catch (error) {
    await worker.close();
    throw error;
  }
  return { run, close: () => worker.close() };
}

/**
 * Evaluates a script in a fresh XS worker, then `call` (an expression run after
 * it); each JSON message the script sends with issueCommand reaches onMessage.
 * The promise settles once XS's job queue is empty.
 */
export async function evaluateInXs(script: string, call: string, name: string, onMessage: (message: unknown) => void): Promise<void> {
  const worker = await openXs(`${script}\n;${call};`, name, onMessage);
  await worker.close();
}

/** Evaluates a test bundle in a fresh XS worker and collects every test result. */
export async function runInXs(bundle: string, name = "xs-test"): Promise<XsResult[]> {
  const results: XsResult[] = [];
  let plan: string[] = [];
  await evaluateInXs(bundle, "globalThis.__runRegistered()", name, (message) => {
    const report = message as XsResult & { plan?: string[] };
    if (report.plan) plan = report.plan;
    else results.push(report);
  });
  // A test whose promise never settled left no result: that is a failure too.
  for (const name of plan.slice(results.length)) results.push({ name, ok: false, error: "did not settle in XS (a promise that never resolves, or a host timer that XS lacks)" });
  return results;
}

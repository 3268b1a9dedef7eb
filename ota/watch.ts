// `ota watch`: on a change under the app's sources, rebuild, push, print the
// verdict: one line per cycle. A failed build prints the compiler's output and
// pushes nothing. Changes during a cycle start one more cycle after it.
import { spawn } from "node:child_process";
import { existsSync, statSync, watch as watchFs, type FSWatcher } from "node:fs";
import { resolve } from "node:path";
import { Board, type Target } from "./board";
import { authorize } from "./password";
import { ProgressView } from "./progress";
import { pushOne, readPushFile } from "./push";
import type { Io } from "./cli";

export interface WatchOptions {
  target: Target;
  mod: boolean;
  build?: string;
  out?: string;
  src: string[];
  password?: string;
  comeBackMs: number;
  /** Quiet time after the last change before a cycle starts. */
  debounceMs?: number;
  signal?: AbortSignal;
  /** Called after each cycle (tests). */
  onCycle?: (line: string) => void;
}

const IGNORED = /(^|[\\/])(node_modules|\.git|dist|artifacts|build|\.twin)([\\/]|$)/;

export const defaultBuild = (mod: boolean) => (mod ? "npm run build:mod" : "npm run build:esp32");

function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}

interface Built {
  ok: boolean;
  code: number | null;
  output: string;
  ms: number;
}

function runBuild(command: string, signal?: AbortSignal): Promise<Built> {
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(command, { shell: true, stdio: ["ignore", "pipe", "pipe"], ...(signal ? { signal } : {}) });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (output += c.toString("utf8")));
    child.on("error", (e) => done({ ok: false, code: null, output: output + e.message, ms: Date.now() - started }));
    child.on("close", (code) => done({ ok: code === 0, code, output, ms: Date.now() - started }));
  });
}

/** The artifact a build made: --out, else the last existing .xsa/.bin path the build printed that it wrote since `since`. */
export function builtFile(output: string, mod: boolean, since: number, out?: string): string | undefined {
  if (out) return resolve(out);
  const re = mod ? /[^\s'"`]+\.xsa\b/g : /[^\s'"`]+\.bin\b/g;
  const paths = output.match(re) ?? [];
  for (let i = paths.length - 1; i >= 0; i--) {
    const p = resolve(paths[i]);
    if (existsSync(p) && statSync(p).mtimeMs >= since - 1000) return p;
  }
  return undefined;
}

/** Runs until the signal aborts (or forever from the CLI). */
export async function watch(o: WatchOptions, io: Io): Promise<void> {
  const command = o.build ?? defaultBuild(o.mod);
  const board = new Board(o.target);
  await authorize([board], o.password);
  const quiet = new ProgressView({ write: () => {} }); // one line per cycle: no bars
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  const say = (line: string) => {
    io.out.write(line + "\n");
    o.onCycle?.(line);
  };

  const cycle = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    const since = Date.now();
    const built = await runBuild(command, o.signal);
    if (o.signal?.aborted) return;
    if (!built.ok) {
      say(`${clock()}  build failed (${built.code === null ? "did not run" : `exit ${built.code}`}) after ${(built.ms / 1000).toFixed(1)} s; not pushed:\n${built.output.trimEnd()}`);
    } else {
      const path = builtFile(built.output, o.mod, since, o.out);
      if (!path) say(`${clock()}  built in ${(built.ms / 1000).toFixed(1)} s, but found no ${o.mod ? ".xsa" : ".bin"} it wrote; say which with --out FILE`);
      else {
        const t0 = Date.now();
        const row = quiet.add(o.target.label);
        let line: string;
        try {
          const verdict = await pushOne(board, readPushFile(path), quiet, row, { comeBackMs: o.comeBackMs, pollMs: 250 });
          line = `${o.target.label}: ${verdict.text}`;
        } catch (e) {
          line = `${path}: ${(e as Error).message}`;
        }
        say(`${clock()}  built in ${(built.ms / 1000).toFixed(1)} s, pushed in ${((Date.now() - t0) / 1000).toFixed(1)} s  ${line}`);
      }
    }
    running = false;
    if (again && !o.signal?.aborted) {
      again = false;
      void cycle();
    }
  };

  const changed = (name: string | null) => {
    if (name && IGNORED.test(name)) return;
    clearTimeout(timer);
    timer = setTimeout(() => void cycle(), o.debounceMs ?? 300);
  };
  const watchers: FSWatcher[] = o.src.map((dir) => watchFs(dir, { recursive: statSync(dir).isDirectory() }, (_event, name) => changed(name)));
  io.err.write(`ota watch: watching ${o.src.join(", ")}; on a change: ${command}, then push to ${o.target.label}. Ctrl-C stops.\n`);
  await new Promise<void>((stop) => {
    if (o.signal?.aborted) return stop();
    o.signal?.addEventListener("abort", () => stop());
  });
  clearTimeout(timer);
  for (const w of watchers) w.close();
}

// Runs wrk (Debian package) and reads its summary.
import { spawn } from "node:child_process";

export interface WrkResult {
  requestsPerSec: number;
  bytesPerSec: number;
  /** Total bytes read (headers and bodies). */
  bytes: number;
  seconds: number;
  /** 99th percentile latency (ms). */
  p99Ms: number;
  errors: number;
  non2xx: number;
}

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
const TIME: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

export function parseWrk(text: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const tps = /Transfer\/sec:\s+([\d.]+)([KMGT]?B)/.exec(text);
  const total = /\d+ requests in ([\d.]+)(us|ms|s|m), ([\d.]+)([KMGT]?B) read/.exec(text);
  if (!rps || !tps || !total) throw new Error(`unexpected wrk output:\n${text}`);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(text);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    requestsPerSec: Number(rps[1]),
    bytesPerSec: Number(tps[1]) * UNITS[tps[2]],
    bytes: Number(total[3]) * UNITS[total[4]],
    seconds: (Number(total[1]) * TIME[total[2]]) / 1000,
    p99Ms: p99 ? Number(p99[1]) * TIME[p99[2]] : NaN,
    errors: errors ? errors.slice(1).reduce((n, v) => n + Number(v), 0) : 0,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
  };
}

export function runWrk(url: string, connections: number, seconds: number, headers: Record<string, string> = {}): Promise<WrkResult> {
  const threads = Math.min(connections, 2);
  const args = ["-t", String(threads), "-c", String(connections), "-d", `${seconds}s`, "--timeout", "30s", "--latency"];
  for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}: ${v}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`wrk exited ${code}:\n${out}`));
      try {
        resolve(parseWrk(out));
      } catch (error) {
        reject(error as Error);
      }
    });
  });
}

// Resident memory of a process tree from /proc (Linux), sampled while a load
// runs so the figure is the peak under that load, not since process start;
// and the CPU time processes used; and how every bench summarises its rounds
// (min / median / max, interleaving by rotation).
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

/** Clock ticks per second of /proc's utime and stime (USER_HZ). */
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** CPU time (user + system) of processes, in seconds, from /proc. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
    } catch {
      // exited
    }
  }
  return ticks / CLK_TCK;
}

export function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Direct children of pid (nginx workers). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Samples the summed RSS of `pids()` every `everyMs` until stopped; returns the peak in MiB. */
export function sampleRss(pids: () => number[], everyMs = 25): { stop(): number } {
  let peak = 0;
  const take = () => {
    const total = pids().reduce((sum, p) => sum + rssKiB(p), 0);
    if (total > peak) peak = total;
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return peak / 1024;
    },
  };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** "min / median / max" of the rounds' figures. */
export function spread(xs: number[], digits: number, unit = ""): string {
  const f = (x: number) => x.toFixed(digits);
  return xs.length === 1 ? `${f(xs[0])}${unit}` : `${f(Math.min(...xs))} / ${f(median(xs))} / ${f(Math.max(...xs))}${unit}`;
}

/** xs rotated by n (interleaved runs: a different order each round). */
export const rotate = <T>(xs: T[], n: number) => xs.map((_, i) => xs[(i + n) % xs.length]);

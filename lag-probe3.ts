import { monitorEventLoopDelay } from "node:perf_hooks";
import { spawn } from "node:child_process";
import { buildServer } from "./server/app";
const { app } = await buildServer({ catalogDir: "/tmp/pb/cat", logLevel: "error", open: true });
await app.listen({ port: 18805, host: "127.0.0.1" });
const run = (cmd: string, args: string[]) => new Promise<string>((res) => { const c = spawn(cmd, args); let o = ""; c.stdout.on("data", (d) => (o += d)); c.on("exit", () => res(o)); });
const P = 'import json,sys; d=json.load(sys.stdin); t=sorted(d["ttfb_ms"]); print("p50 %.1f p90 %.1f p99 %.1f max %.1f" % (t[len(t)//2], t[int(.9*len(t))], t[int(.99*len(t))], t[-1]))';
const sc = async () => { const h = monitorEventLoopDelay({ resolution: 5 }); h.enable(); const out = await run("python3", ["bench/slow-clients.py", "--port", "18805", "--path", "/fw.bin"]); h.disable(); const c = spawn("python3", ["-c", P]); c.stdin.end(out); let o=""; c.stdout.on("data",(d)=>o+=d); await new Promise(r=>c.on("exit",r)); console.log("slow", o.trim(), "| loop max", (h.max/1e6).toFixed(1)); };
for (const c of [50, 500]) {
  const h = monitorEventLoopDelay({ resolution: 5 }); h.enable();
  const out = await run("wrk", ["-t2", `-c${c}`, "-d5s", "http://127.0.0.1:18805/fw.bin"]);
  h.disable(); console.log(c, /Transfer\/sec:\s+(\S+)/.exec(out)?.[1], "loop max", (h.max/1e6).toFixed(1), "p99", (h.percentile(99)/1e6).toFixed(1));
  await sc();
}
await app.close();

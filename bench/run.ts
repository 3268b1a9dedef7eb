// `npm run bench`: the update server against nginx (Debian's nginx-light, one
// worker, sendfile on) serving the same folder, side by side in one run:
//   - downloads of a 1.5 MB image at 1, 50 and 500 connections (wrk): MB/s and
//     server CPU-seconds per GB, for ota-server alone, plain nginx, and
//     ota-server behind nginx in X-Accel-Redirect mode;
//   - 200 slow clients reading at 100 KB/s (bench/slow-clients.py): time to
//     first byte, p50 and p99;
//   - listings of a 1000-entry folder at 50 connections: req/s and p99 (nginx:
//     autoindex JSON of the same folder).
// Runs are interleaved (every scenario once per round, the server order
// rotated each round) and each figure is min / median / max over the rounds;
// ratios are taken within a round, then summarised the same way. The machine
// is shared: a ratio from one round beats an absolute figure.
// Prints figures; asserts nothing. BENCH_SECONDS (default 5) and BENCH_ROUNDS
// (default 3) set each run's length and the number of rounds.
import { spawn, type ChildProcess } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage } from "../tools/esp-image";
import { hasNginx, NGINX, startNginx, type Nginx } from "./nginx";
import { cpuSeconds, rotate, sampleRss, spread } from "./rss";
import { runWrk } from "./wrk";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const CONCURRENCY = [1, 50, 500];
const IMAGE_SIZE = 1_500_000;
const FOLDER_ENTRIES = 1000;
const ROOT = join(import.meta.dirname, "..");
const PREFIX = "/_ota_accel/";

// What an ESP32 HTTPUpdate client sends: ota-server runs its gate and pre-flight.
const DEVICE_HEADERS = {
  "User-Agent": "ESP32-http-Update",
  "x-ESP32-STA-MAC": "24:6F:28:AA:BB:01",
  "x-ESP32-AP-MAC": "24:6F:28:AA:BB:03",
  "x-ESP32-free-space": "1966080",
  "x-ESP32-sketch-size": "900000",
  "x-ESP32-chip-size": "4194304",
  "x-ESP32-sdk-version": "v4.4.7",
  "x-ESP32-mode": "sketch",
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function makeCatalog(): Promise<{ work: string; dir: string }> {
  const work = await mkdtemp(join(tmpdir(), "ota-bench-"));
  const dir = join(work, "catalog");
  await mkdir(join(dir, "many"), { recursive: true });
  await writeFile(join(dir, "fw.bin"), buildImage({ version: "1.0.0", size: IMAGE_SIZE }));
  const small = buildImage({ version: "1.0.0", size: 4096 });
  for (let i = 0; i < FOLDER_ENTRIES; i++) await writeFile(join(dir, "many", `app-${String(i).padStart(4, "0")}.bin`), small);
  // nginx workers may run as another user: make the tree world-readable.
  for (const p of [work, dir, join(dir, "many")]) await chmod(p, 0o755);
  await mkdir(join(work, "accel"), { mode: 0o755 });
  return { work, dir };
}

interface Ota {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The compiled server, as `npx ota-server` runs it. */
async function startOta(dir: string, port: number, extra: string[] = []): Promise<Ota> {
  const child = spawn(process.execPath, [join(ROOT, "bin", "ota-server.js"), "-p", String(port), "-b", "127.0.0.1", "-d", dir, "-l", "ERROR", ...extra], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.includes("listening on")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`ota-server exited ${code}: ${out}`)));
  });
  child.removeAllListeners("exit");
  child.stdout!.resume();
  return {
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

interface Target {
  name: string;
  port: number;
  pids(): number[];
  headers: Record<string, string>;
  fw: string;
  catalog?: string;
}

interface Sample {
  mbps: number;
  cpuPerGB: number;
  rps: number;
  p99Ms: number;
  rssMiB: number;
  failures: number;
}

async function measure(t: Target, path: string, connections: number): Promise<Sample> {
  const pids = t.pids();
  const sampler = sampleRss(t.pids);
  const cpu0 = cpuSeconds(pids);
  const r = await runWrk(`http://127.0.0.1:${t.port}${path}`, connections, SECONDS, t.headers);
  const cpu = cpuSeconds(pids) - cpu0;
  return {
    mbps: r.bytesPerSec / 1e6,
    cpuPerGB: cpu / (r.bytes / 1e9),
    rps: r.requestsPerSec,
    p99Ms: r.p99Ms,
    rssMiB: sampler.stop(),
    failures: r.errors + r.non2xx,
  };
}

interface Slow {
  p50: number;
  p99: number;
  errors: number;
}

function slowClients(t: Target): Promise<Slow> {
  const args = [join(ROOT, "bench", "slow-clients.py"), "--port", String(t.port), "--path", t.fw, "--clients", "200", "--rate", String(100 * 1024), "--spread", "2", "--hold", "3"];
  for (const [k, v] of Object.entries(t.headers)) args.push("--header", `${k}: ${v}`);
  return new Promise((resolve, reject) => {
    const child = spawn("python3", args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`slow-clients.py exited ${code}`));
      const r = JSON.parse(out) as { ttfb_ms: number[]; errors: number };
      const sorted = r.ttfb_ms.sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
      resolve({ p50: at(0.5), p99: at(0.99), errors: r.errors });
    });
  });
}


async function main(): Promise<void> {
  if (!hasNginx()) throw new Error(`nginx not found (${NGINX}): apt-get install -y nginx-light wrk`);
  const { work, dir } = await makeCatalog();
  const started: { stop(): Promise<void> }[] = [];
  try {
    const [otaPort, nginxPort, accelOtaPort, accelPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const ota = await startOta(dir, otaPort);
    started.push(ota);
    const accelOta = await startOta(dir, accelOtaPort, ["--accel-redirect", PREFIX, "--accel-dir", join(work, "accel")]);
    started.push(accelOta);
    const nginx: Nginx = await startNginx(dir, nginxPort, join(work, "nginx"), 1);
    started.push(nginx);
    const accelNginx: Nginx = await startNginx({ kind: "accel", upstreamPort: accelOtaPort, prefix: PREFIX, dir: join(work, "accel") }, accelPort, join(work, "nginx-accel"), 1);
    started.push(accelNginx);

    const targets: Target[] = [
      { name: "ota-server", port: otaPort, pids: () => [ota.child.pid!], headers: DEVICE_HEADERS, fw: "/fw.bin", catalog: "/_catalog?op=list&path=many" },
      { name: "nginx", port: nginxPort, pids: () => nginx.pids(), headers: DEVICE_HEADERS, fw: "/fw.bin", catalog: "/_catalog/many/" },
      { name: "nginx+ota (accel)", port: accelPort, pids: () => [accelOta.child.pid!, ...accelNginx.pids()], headers: DEVICE_HEADERS, fw: "/fw.bin" },
    ];
    // warm up: images read and hashed, snapshot written, JIT warm, page cache hot
    for (const t of targets) {
      await runWrk(`http://127.0.0.1:${t.port}${t.fw}`, 4, 1, t.headers);
      if (t.catalog) await runWrk(`http://127.0.0.1:${t.port}${t.catalog}`, 4, 1, {});
    }

    const downloads = new Map<string, Sample[]>();
    const listings = new Map<string, Sample[]>();
    const slow = new Map<string, Slow[]>();
    const push = <T>(m: Map<string, T[]>, key: string, v: T) => m.set(key, [...(m.get(key) ?? []), v]);
    for (let round = 0; round < ROUNDS; round++) {
      console.error(`round ${round + 1} of ${ROUNDS}`);
      for (const c of CONCURRENCY) for (const t of rotate(targets, round)) push(downloads, `${t.name}|${c}`, await measure(t, t.fw, c));
      for (const t of rotate(targets.filter((x) => x.catalog), round)) push(listings, t.name, await measure(t, t.catalog!, 50));
      for (const t of rotate(targets, round)) push(slow, t.name, await slowClients(t));
    }

    const [o, n, a] = targets.map((t) => t.name);
    const within = (m: Map<string, Sample[]>, x: string, y: string, f: (s: Sample) => number) => m.get(x)!.map((s, i) => f(s) / f(m.get(y)![i]));
    console.log(`\nota-server vs nginx 1.22 (1 worker, sendfile on) on ${cpus().length} CPUs; wrk on the same host; ${ROUNDS} rounds of ${SECONDS} s, interleaved; min / median / max`);
    console.log(`\nDownloads of a ${(IMAGE_SIZE / 1e6).toFixed(1)} MB image (ESP32 HTTPUpdate headers)`);
    console.log("| clients | server | MB/s | CPU-s/GB | peak RSS MiB | MB/s vs nginx | CPU-s/GB vs nginx |");
    console.log("| ---: | --- | ---: | ---: | ---: | ---: | ---: |");
    for (const c of CONCURRENCY) {
      for (const name of [o, n, a]) {
        const s = downloads.get(`${name}|${c}`)!;
        const failures = s.reduce((x, y) => x + y.failures, 0);
        const ratio = name === n ? "" : `${spread(within(downloads, `${name}|${c}`, `${n}|${c}`, (x) => x.mbps), 2, "x")}`;
        const cpu = name === n ? "" : `${spread(within(downloads, `${name}|${c}`, `${n}|${c}`, (x) => x.cpuPerGB), 2, "x")}`;
        console.log(
          `| ${c} | ${name}${failures ? ` (${failures} failed)` : ""} | ${spread(s.map((x) => x.mbps), 0)} | ${spread(s.map((x) => x.cpuPerGB), 2)} | ${spread(s.map((x) => x.rssMiB), 0)} | ${ratio} | ${cpu} |`,
        );
      }
    }
    console.log(`\nSlow clients: 200 clients reading the image at 100 KB/s (16 KB receive buffers), started over 2 s; time to first byte`);
    console.log("| server | p50 ms | p99 ms | failed |");
    console.log("| --- | ---: | ---: | ---: |");
    for (const name of [o, n, a]) {
      const s = slow.get(name)!;
      console.log(`| ${name} | ${spread(s.map((x) => x.p50), 1)} | ${spread(s.map((x) => x.p99), 1)} | ${s.reduce((x, y) => x + y.errors, 0)} |`);
    }
    console.log(`\nListing a ${FOLDER_ENTRIES}-entry folder at 50 connections (ota-server: /_catalog; nginx: autoindex JSON)`);
    console.log("| server | req/s | p99 ms | CPU-s per 10k req | req/s vs nginx |");
    console.log("| --- | ---: | ---: | ---: | ---: |");
    for (const name of [o, n]) {
      const s = listings.get(name)!;
      const cpuPer10k = s.map((x) => (x.cpuPerGB * (x.mbps / 1e3)) / (x.rps / 1e4)); // CPU-s per second / (10k req per second)
      console.log(`| ${name} | ${spread(s.map((x) => x.rps), 0)} | ${spread(s.map((x) => x.p99Ms), 1)} | ${spread(cpuPer10k, 2)} | ${name === n ? "" : spread(within(listings, o, n, (x) => x.rps), 2, "x")} |`);
    }
  } finally {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

await main();

// `npm run bench`: the update server against nginx (Debian nginx-light) serving
// the same directory, measured side by side in one run with wrk:
//   - catalog requests/s (ours: /_catalog JSON; nginx: autoindex JSON of the same folder)
//   - 1.5 MB image downloads at 1, 50 and 500 concurrent clients (MB/s, req/s)
//   - peak RSS of each server (sampled from /proc during each load)
// nginx runs twice: as shipped (sendfile on: the kernel moves file pages to the
// socket without a user-space copy) and with sendfile off (read + write, the
// path any user-space server such as Node takes), so the figures separate the
// cost of our code from the cost of copying.
// Prints figures; asserts nothing. BENCH_SECONDS (default 5) sets each run's length.
import { spawn, type ChildProcess } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage } from "../tools/esp-image";
import { startNginx, type Nginx } from "./nginx";
import { sampleRss } from "./rss";
import { runWrk, type WrkResult } from "./wrk";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = [1, 50, 500];
const IMAGE_SIZE = 1_500_000;
const ROOT = join(import.meta.dirname, "..");

// What an ESP32 HTTPUpdate client sends: our server runs its gate and pre-flight.
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
  await import("node:fs/promises").then((fs) => fs.mkdir(dir));
  await writeFile(join(dir, "fw.bin"), buildImage({ version: "1.0.0", size: IMAGE_SIZE }));
  for (let i = 0; i < 24; i++) await writeFile(join(dir, `app-1.${i}.0.bin`), buildImage({ version: `1.${i}.0`, size: 16 * 1024 }));
  await writeFile(join(dir, "README.txt"), "firmware\n");
  // nginx workers may run as another user: make the tree world-readable.
  for (const p of [work, dir]) await chmod(p, 0o755);
  return { work, dir };
}

async function startOta(dir: string, port: number): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "server", "cli.ts"), "-p", String(port), "-b", "127.0.0.1", "-d", dir, "-l", "ERROR"], {
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

interface Measured extends WrkResult {
  rssMiB: number;
}

async function measure(pids: () => number[], url: string, connections: number, headers: Record<string, string>): Promise<Measured> {
  const sampler = sampleRss(pids);
  const r = await runWrk(url, connections, SECONDS, headers);
  return { ...r, rssMiB: sampler.stop() };
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(0).padStart(6);
const rps = (n: number) => n.toFixed(0).padStart(7);
const fmt = (m: Measured, bytes: boolean) =>
  `${bytes ? `${mb(m.bytesPerSec)} MB/s` : `${rps(m.requestsPerSec)} req/s`}  RSS ${m.rssMiB.toFixed(0).padStart(4)} MiB${m.errors || m.non2xx ? `  (errors ${m.errors}, non-2xx ${m.non2xx})` : ""}`;

async function main(): Promise<void> {
  const { work, dir } = await makeCatalog();
  const [otaPort, nginxPort, copyPort] = [await freePort(), await freePort(), await freePort()];
  let ota: Awaited<ReturnType<typeof startOta>> | undefined;
  let nginx: Nginx | undefined;
  let nginxCopy: Nginx | undefined;
  try {
    ota = await startOta(dir, otaPort);
    nginx = await startNginx(dir, nginxPort, join(work, "nginx"), 1);
    nginxCopy = await startNginx(dir, copyPort, join(work, "nginx-copy"), 1, false);
    const otaPids = () => [ota!.child.pid!];
    const nginxPids = () => nginx!.pids();
    const copyPids = () => nginxCopy!.pids();
    const otaFw = `http://127.0.0.1:${otaPort}/fw.bin`;
    const nginxFw = `http://127.0.0.1:${nginxPort}/fw.bin`;
    const copyFw = `http://127.0.0.1:${copyPort}/fw.bin`;
    // warm up: digests computed, JIT warm, page cache hot
    for (const url of [otaFw, nginxFw, copyFw]) await runWrk(url, 4, 1, DEVICE_HEADERS);

    console.log(`ota-server vs nginx ${"(1 worker; ota-server is one Node process)"} on ${cpus().length} CPUs, ${SECONDS} s per run, wrk on the same host`);
    console.log(`\nDownloads of a ${(IMAGE_SIZE / 1e6).toFixed(1)} MB image (ESP32 HTTPUpdate headers)`);
    const ratios: number[] = [];
    const copyRatios: number[] = [];
    const rss: number[] = [];
    for (const c of CONCURRENCY) {
      const a = await measure(otaPids, otaFw, c, DEVICE_HEADERS);
      const b = await measure(nginxPids, nginxFw, c, DEVICE_HEADERS);
      const d = await measure(copyPids, copyFw, c, DEVICE_HEADERS);
      ratios.push(a.bytesPerSec / b.bytesPerSec);
      copyRatios.push(a.bytesPerSec / d.bytesPerSec);
      rss.push(a.rssMiB);
      console.log(
        `  ${String(c).padStart(3)} clients  ota-server ${fmt(a, true)} | nginx ${fmt(b, true)} (${(a.bytesPerSec / b.bytesPerSec).toFixed(2)}x) | nginx sendfile off ${fmt(d, true)} (${(a.bytesPerSec / d.bytesPerSec).toFixed(2)}x)`,
      );
    }
    console.log(`\nCatalog listing (${26} entries; nginx: autoindex JSON of the same folder)`);
    for (const c of CONCURRENCY) {
      const a = await measure(otaPids, `http://127.0.0.1:${otaPort}/_catalog?op=list&path=.`, c, {});
      const b = await measure(nginxPids, `http://127.0.0.1:${nginxPort}/_catalog/`, c, {});
      console.log(`  ${String(c).padStart(3)} clients  ota-server ${fmt(a, false)}   nginx ${fmt(b, false)}`);
    }
    console.log(
      `\nSummary (1/50/500 clients): downloads at ${ratios.map((r) => `${r.toFixed(2)}x`).join(" / ")} nginx, ${copyRatios.map((r) => `${r.toFixed(2)}x`).join(" / ")} nginx without sendfile; ota-server peak RSS ${rss.map((r) => r.toFixed(0)).join(" / ")} MiB`,
    );
  } finally {
    await ota?.stop();
    await nginx?.stop();
    await nginxCopy?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();

// `npm run bench:push`: `ota push` of a 1 MB image to the twin (no speed
// limit) side by side with `curl --data-binary` to the same route, in the same
// run:
//   - upload throughput, measured by the twin's portal server for both clients
//     alike (first body byte to last, TwinOptions.onUpload), and the CLI's as
//     a ratio of curl's within each round (the CLI's overhead; target >= 0.9);
//   - each client's own wall time for the upload (curl: the process; ota: from
//     its start to "verifying", so with Node's start-up, the status and
//     password probes);
//   - the time from starting `ota push` to its `valid:` verdict (commit,
//     restart, boot, start-up check on the twin's board-like defaults).
// Every push installs (the versions go up), so after curl's upload the bench
// waits for the twin to be valid again before the next. Rounds are
// interleaved (the order rotated each round); figures are min / median / max.
// Runs the built bundle (dist/ota.js) as a user would. BENCH_ROUNDS (default 5).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage } from "../tools/esp-image";
import { PROJECT } from "../twin/demo-catalog";
import { Twin } from "../twin/device";
import { status, waitForStatus, waitForValid } from "../test/support/portal-client";
import { rotate, spread } from "./rss";

const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const SIZE = 1024 * 1024;
const ROOT = join(import.meta.dirname, "..");
const OTA = join(ROOT, "dist", "ota.js");

interface Figures {
  serverMBps: number;
  clientMs: number;
  validMs?: number;
}

function run(command: string, args: string[], until?: RegExp): Promise<{ code: number | null; out: string; ms: number; untilMs?: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let untilMs: number | undefined;
    let out = "";
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, OTA_PORTAL_PASSWORD: "" } });
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      if (until && untilMs === undefined && until.test(out)) untilMs = performance.now() - t0;
    });
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.on("close", (code) => resolve({ code, out, ms: performance.now() - t0, ...(untilMs === undefined ? {} : { untilMs }) }));
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ota-bench-push-"));
  let lastUpload: { bytes: number; ms: number } | undefined;
  const twin = await Twin.start({ requirePassword: false, flashPath: join(dir, "flash.bin"), fresh: true, server: { host: "127.0.0.1", port: 9, path: "." }, bytesPerSecond: 0, onUpload: (_path, bytes, ms) => (lastUpload = { bytes, ms }) });
  const to = `127.0.0.1:${twin.port}`;
  let minor = 1;
  const image = () => {
    const path = join(dir, `bench-1.${minor}.0.bin`);
    const bytes = buildImage({ chip: "ESP32", version: `1.${minor++}.0`, projectName: PROJECT, size: SIZE });
    writeFileSync(path, bytes);
    return { path, md5: createHash("md5").update(bytes).digest("hex") };
  };
  const take = () => {
    if (!lastUpload || lastUpload.bytes < SIZE * 0.99) throw new Error(`the twin saw no whole upload (${JSON.stringify(lastUpload)})`);
    const mbps = lastUpload.bytes / 1e6 / (lastUpload.ms / 1000);
    lastUpload = undefined;
    return mbps;
  };

  const clients = {
    curl: async (): Promise<Figures> => {
      const f = image();
      const before = (await status(`http://${to}/`)).boot;
      const r = await run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--data-binary", `@${f.path}`, "-H", "Content-Type: application/octet-stream", "-H", `x-MD5: ${f.md5}`, `http://${to}/update/upload`]);
      if (r.code !== 0 || r.out.trim() !== "202") throw new Error(`curl: ${r.code} ${r.out}`);
      const figures = { serverMBps: take(), clientMs: r.ms };
      await waitForStatus(`http://${to}/`, (s) => s.boot !== before && s.otaState === "valid" && s.validation.phase !== "checking", "curl's image confirmed", 60_000);
      return figures;
    },
    ota: async (): Promise<Figures> => {
      const f = image();
      const r = await run(process.execPath, [OTA, "push", f.path, "--to", to], /verifying\n/);
      if (r.code !== 0 || !/valid: /.test(r.out)) throw new Error(`ota push: exit ${r.code}\n${r.out}`);
      return { serverMBps: take(), clientMs: r.untilMs ?? NaN, validMs: r.ms };
    },
  };

  const rows: Record<"curl" | "ota", Figures[]> = { curl: [], ota: [] };
  const ratios: number[] = [];
  try {
    await waitForValid(`http://${to}/`, 30_000);
    for (let round = 0; round < ROUNDS; round++) {
      const got: Partial<Record<"curl" | "ota", Figures>> = {};
      for (const name of rotate(["curl", "ota"] as const, round)) {
        // Each starts from a confirmed image (the previous one restarted the twin).
        await waitForValid(`http://${to}/`, 60_000);
        got[name] = await clients[name]();
        rows[name].push(got[name]);
      }
      ratios.push(got.ota!.serverMBps / got.curl!.serverMBps);
      process.stderr.write(`round ${round + 1}/${ROUNDS}: curl ${got.curl!.serverMBps.toFixed(1)} MB/s, ota ${got.ota!.serverMBps.toFixed(1)} MB/s, valid after ${(got.ota!.validMs! / 1000).toFixed(2)} s\n`);
    }
  } finally {
    await twin.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nota push vs curl --data-binary: a 1 MiB image to POST /update/upload on the twin (no speed limit), ${ROUNDS} rounds interleaved; min / median / max`);
  console.log(`  upload throughput at the twin   curl ${spread(rows.curl.map((r) => r.serverMBps), 1, " MB/s")}   ota ${spread(rows.ota.map((r) => r.serverMBps), 1, " MB/s")}`);
  console.log(`  ota / curl (same round)         ${spread(ratios, 2, "x")}   (target >= 0.90x)`);
  console.log(`  client wall time of the upload  curl ${spread(rows.curl.map((r) => r.clientMs), 0, " ms")} (process)   ota ${spread(rows.ota.map((r) => r.clientMs), 0, " ms")} (start to "verifying", with Node's start-up and the status and password probes)`);
  console.log(`  ota push to "valid:"            ${spread(rows.ota.map((r) => r.validMs! / 1000), 2, " s")}   (commit, restart 1.5 s unreachable, boot, start-up check: the twin's board-like defaults)`);
}

await main();

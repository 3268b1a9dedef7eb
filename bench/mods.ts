// `npm run bench:mod`: the same app update delivered as an app mod (.xsa) and
// as a full firmware image (.bin), on the twin against the update server on
// the demo catalog (as `npm start` makes it), at the demo's download speed and
// unlimited, in the same run. Each install starts with POST /api/update
// fw=<name> (the UPDATE button) on a twin whose firmware and mod are confirmed;
// the twin's own log lines time its phases:
//   transfer-and-write  the request to the commit ("update <name>: done")
//   restart             the commit to the next boot serving its portal; split
//                       into the wait before it (the updater's restart delay,
//                       so the page sees "done") and the time unreachable
//   start-up check      that boot to the verdict: the mod's checks passed (its
//                       status line is on the home page from the boot on) /
//                       the new firmware confirmed valid
// and the update server's sockets opened meanwhile count the bytes over the
// air (HTTP heads and bodies, both ways). Each round installs the next
// version: hello-1.1.0.xsa beside demo-1.1.0.bin, then the 1.0.0s, and so on,
// the four cases rotated each round, after one warm-up round that is not
// counted (the first install of each kind in a process runs cold code: tens
// of milliseconds that would be charged to whichever case came first);
// figures are min / median / max.
// Targets: the mod moves under 5 % of the image's bytes and its
// transfer-and-write is at least 10x shorter, per round at each speed.
// BENCH_ROUNDS (default 5), BENCH_WARMUP (default 1).
import { mkdtempSync, rmSync, statSync } from "node:fs";
import type { Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULTS as UPDATER_DEFAULTS } from "../modules/core/engine/updater";
import { buildServer } from "../server/app";
import { loadCatalog, startUpdate, waitForStatus } from "../test/support/portal-client";
import { writeDemoCatalog } from "../twin/demo-catalog";
import { DEMO_SPEED_KBS, DEMO_STARTUP_WINDOW_S } from "../twin/demo-defaults";
import { Twin } from "../twin/device";
import { median, rotate, spread } from "./rss";

const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const WARMUP = Math.max(0, Number(process.env.BENCH_WARMUP ?? 1));
const BYTES_TARGET = 0.05;
const SPEEDUP_TARGET = 10;

type Kind = "mod" | "image";
type Speed = "demo" | "unlimited";

interface Figures {
  /** Bytes on the update server's sockets opened during the install. */
  bytes: number;
  /** The file's own size. */
  fileBytes: number;
  transferMs: number;
  waitMs: number;
  unreachableMs: number;
  checkMs: number;
}

/** A twin's log lines with the time each was written (the bench's clock). */
class LogClock {
  readonly lines: Array<{ t: number; line: string }> = [];
  readonly log = (line: string) => this.lines.push({ t: performance.now(), line });

  /** Time of the first line after index `from` matching `re`; throws on a line matching `fail` first or after `timeoutMs`. */
  async when(from: number, re: RegExp, fail: RegExp | undefined, timeoutMs: number): Promise<{ t: number; index: number }> {
    const end = performance.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < this.lines.length; i++) {
        const { t, line } = this.lines[i];
        if (fail?.test(line)) throw new Error(`the twin said: ${line}`);
        if (re.test(line)) return { t, index: i };
      }
      if (performance.now() > end) throw new Error(`no line matching ${re} within ${timeoutMs} ms; last lines:\n${this.lines.slice(-8).map((l) => l.line).join("\n")}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ota-bench-mods-"));
  const catalogDir = join(dir, "catalog");
  writeDemoCatalog(catalogDir); // full size, as npm start writes it
  const { app } = await buildServer({ catalogDir, logLevel: "silent" });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const serverPort = (app.server.address() as AddressInfo).port;
  const sockets: Array<{ t: number; socket: Socket }> = [];
  app.server.on("connection", (socket: Socket) => sockets.push({ t: performance.now(), socket }));

  const twins = {} as Record<Speed, { twin: Twin; clock: LogClock }>;
  for (const speed of ["demo", "unlimited"] as const) {
    const clock = new LogClock();
    const twin = await Twin.start({
      requirePassword: false, // a bench board: the bench installs without a password
      flashPath: join(dir, speed, "flash.bin"),
      fresh: true,
      server: { host: "127.0.0.1", port: serverPort, path: "." },
      bytesPerSecond: speed === "demo" ? DEMO_SPEED_KBS * 1024 : 0,
      boot: { windowMs: DEMO_STARTUP_WINDOW_S * 1000 },
      log: clock.log,
    });
    twins[speed] = { twin, clock };
  }

  /** Waits until the firmware is confirmed and no mod verdict is open (what an install needs). */
  const settled = (base: string) =>
    waitForStatus(base, (s) => s.otaState === "valid" && s.validation.phase !== "checking" && s.update !== "done" && (s.mod === null || s.mod.state === "valid"), "twin settled", 60_000);

  async function install(speed: Speed, kind: Kind, version: string): Promise<Figures> {
    const { twin, clock } = twins[speed];
    const name = kind === "mod" ? `hello-${version}.xsa` : `demo-${version}.bin`;
    const fileBytes = statSync(join(catalogDir, name)).size;
    await settled(twin.url);
    const catalog = await loadCatalog(twin.url);
    if (catalog.state !== "ready") throw new Error(`catalog: ${JSON.stringify(catalog)}`);
    const from = clock.lines.length;
    const socketsBefore = sockets.length;
    const t0 = performance.now();
    const started = await startUpdate(twin.url, name);
    if (!started.body.ok) throw new Error(`${name}: ${started.status} ${started.body.error}`);
    // The updater logs each phase of its session ("update <target>: <phase>"; a mod's target says "(app mod)").
    const target = `^twin: update ${escape(name)}(?: \\(app mod\\))?: `;
    const commit = await clock.when(from, new RegExp(`${target}done$`), new RegExp(`${target}(failed|cancelled|current)`), 120_000);
    const opened = sockets.slice(socketsBefore).filter((s) => s.t <= commit.t);
    const bytes = opened.reduce((sum, { socket }) => sum + socket.bytesRead + socket.bytesWritten, 0);
    const down = await clock.when(commit.index, /^twin: restarting$/, undefined, 30_000);
    const up = await clock.when(down.index, /^twin: booted /, undefined, 30_000);
    const verdict =
      kind === "mod"
        ? await clock.when(down.index, new RegExp(`^twin: mods: hello@${escape(version)} passed its start-up checks`), /^twin: mods: .* (rolled back|cannot run)/, 90_000)
        : await clock.when(down.index, new RegExp(`^twin: boot: ${escape(version)} passed its start-up checks`), /^twin: boot: .* failed its start-up check/, 90_000);
    // What a person sees afterwards: the new version, and for a mod its status line on the home page.
    const s = await settled(twin.url);
    if (kind === "image" && s.version !== version) throw new Error(`running ${s.version}, not ${version}`);
    if (kind === "mod") {
      if (s.mod?.version !== version) throw new Error(`mod ${JSON.stringify(s.mod)}, not hello ${version}`);
      const home = await (await fetch(twin.url)).text();
      if (!home.includes(`<p id=mod-status>hello ${version}: all good</p>`)) throw new Error(`the home page lacks hello ${version}'s status line`);
    }
    return { bytes, fileBytes, transferMs: commit.t - t0, waitMs: down.t - commit.t, unreachableMs: up.t - down.t, checkMs: verdict.t - up.t };
  }

  const cases = (["demo", "unlimited"] as const).flatMap((speed) => (["mod", "image"] as const).map((kind) => ({ speed, kind })));
  const rows = new Map<string, Figures[]>(cases.map((c) => [`${c.speed}/${c.kind}`, []]));
  const byteShares: Record<Speed, number[]> = { demo: [], unlimited: [] };
  const speedups: Record<Speed, number[]> = { demo: [], unlimited: [] };
  try {
    for (let round = -WARMUP; round < ROUNDS; round++) {
      const version = (round + WARMUP) % 2 === 0 ? "1.1.0" : "1.0.0";
      const got = new Map<string, Figures>();
      for (const c of rotate(cases, round + WARMUP)) got.set(`${c.speed}/${c.kind}`, await install(c.speed, c.kind, version));
      if (round < 0) {
        process.stderr.write(`warm-up round (${version}) done\n`);
        continue;
      }
      for (const [key, f] of got) rows.get(key)!.push(f);
      for (const speed of ["demo", "unlimited"] as const) {
        const mod = got.get(`${speed}/mod`)!;
        const image = got.get(`${speed}/image`)!;
        byteShares[speed].push(mod.bytes / image.bytes);
        speedups[speed].push(image.transferMs / mod.transferMs);
      }
      process.stderr.write(
        `round ${round + 1}/${ROUNDS} (${version}): ` +
          cases.map((c) => `${c.speed} ${c.kind} ${got.get(`${c.speed}/${c.kind}`)!.transferMs.toFixed(0)} ms`).join(", ") +
          "\n",
      );
    }
  } finally {
    for (const { twin } of Object.values(twins)) await twin.stop();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const col = (xs: number[], digits: number, unit: string) => spread(xs, digits, unit).padEnd(30);
  console.log(`\nApp update as a mod (hello-*.xsa) vs as a full image (demo-*.bin, as npm start's catalog), on the twin; ${ROUNDS} rounds after ${WARMUP} warm-up, the 4 cases interleaved; min / median / max`);
  for (const speed of ["demo", "unlimited"] as const) {
    const mod = rows.get(`${speed}/mod`)!;
    const image = rows.get(`${speed}/image`)!;
    const of = (r: Figures[], f: (x: Figures) => number) => r.map(f);
    console.log(`\n  ${speed === "demo" ? `demo speed (${DEMO_SPEED_KBS} KB/s, npm start's --speed)` : "unlimited speed"}       mod                            image`);
    console.log(`    bytes over the air               ${col(of(mod, (r) => r.bytes), 0, " B")} ${spread(of(image, (r) => r.bytes), 0, " B")}`);
    console.log(`    (file size)                      ${col(of(mod, (r) => r.fileBytes), 0, " B")} ${spread(of(image, (r) => r.fileBytes), 0, " B")}`);
    console.log(`    transfer-and-write (to commit)   ${col(of(mod, (r) => r.transferMs / 1000), 3, " s")} ${spread(of(image, (r) => r.transferMs / 1000), 3, " s")}`);
    console.log(`    restart (commit to booted)       ${col(of(mod, (r) => (r.waitMs + r.unreachableMs) / 1000), 2, " s")} ${spread(of(image, (r) => (r.waitMs + r.unreachableMs) / 1000), 2, " s")}`);
    console.log(`      waiting before the restart     ${col(of(mod, (r) => r.waitMs / 1000), 2, " s")} ${spread(of(image, (r) => r.waitMs / 1000), 2, " s")}`);
    console.log(`      unreachable                    ${col(of(mod, (r) => r.unreachableMs / 1000), 2, " s")} ${spread(of(image, (r) => r.unreachableMs / 1000), 2, " s")}`);
    console.log(`    start-up check (boot to verdict) ${col(of(mod, (r) => r.checkMs / 1000), 2, " s")} ${spread(of(image, (r) => r.checkMs / 1000), 2, " s")}`);
    console.log(`    end to end (request to verdict)  ${col(of(mod, (r) => (r.transferMs + r.waitMs + r.unreachableMs + r.checkMs) / 1000), 2, " s")} ${spread(of(image, (r) => (r.transferMs + r.waitMs + r.unreachableMs + r.checkMs) / 1000), 2, " s")}`);
    console.log(`    new code running (request to boot: the mod's status line / the new firmware answering)  mod ${spread(of(mod, (r) => (r.transferMs + r.waitMs + r.unreachableMs) / 1000), 2, " s")}   image ${spread(of(image, (r) => (r.transferMs + r.waitMs + r.unreachableMs) / 1000), 2, " s")}`);
    const restartShare = mod.map((r) => (r.waitMs + r.unreachableMs) / (r.transferMs + r.waitMs + r.unreachableMs + r.checkMs));
    console.log(`    the restart is ${spread(restartShare.map((x) => x * 100), 0, " %")} of the mod's end to end`);
    const share = byteShares[speed];
    const speedup = speedups[speed];
    const bytesOk = Math.max(...share) < BYTES_TARGET;
    const speedOk = Math.min(...speedup) >= SPEEDUP_TARGET;
    console.log(`    mod bytes / image bytes (same round)        ${spread(share.map((x) => x * 100), 2, " %")}   target < ${BYTES_TARGET * 100} % in every round: ${bytesOk ? "holds" : "MISSED"}`);
    console.log(`    image / mod transfer-and-write (same round) ${spread(speedup, 1, "x")}   target >= ${SPEEDUP_TARGET}x in every round: ${speedOk ? "holds" : "MISSED"} (median ${median(speedup).toFixed(1)}x)`);
  }
  console.log(`\n  (the restart is the twin's board-like defaults: the updater's wait after a commit, ${UPDATER_DEFAULTS.restartDelayMs / 1000} s, so the progress page sees "done", then the twin unreachable while it boots, TwinOptions.bootDelayMs)`);
}

await main();

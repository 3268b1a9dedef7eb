// `ota discover` over real multicast DNS: two network namespaces joined by a
// veth pair, the demo twin (`npm start -- --lan ADDR`) announcing in one,
// `ota discover` browsing in the other. Nothing but mDNS packets crossing the
// veth link can tell the browser about the twin. Then `ota push` over the same
// link, and the twin's new version in the next discovery (it announces afresh
// at each boot). Needs root and iproute2 (CI has both); skipped with the
// reason when a namespace cannot be made.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeDemoCatalog } from "../../twin/demo-catalog";
import type { AnnouncedBoard } from "../../modules/core/announce";

const root = join(import.meta.dirname, "..", "..");
const id = process.pid % 10000;
const nsA = `ota-twin-${id}`;
const nsB = `ota-laptop-${id}`;
const net = `10.201.${process.pid % 250}`;
const twinIp = `${net}.1`;
const laptopIp = `${net}.2`;

function ip(...args: string[]): { ok: boolean; text: string } {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  return { ok: r.status === 0, text: `${r.stderr ?? ""}${r.error?.message ?? ""}`.trim() };
}

/** Makes the two namespaces and the link; the reason it could not, else undefined. */
function makeNetwork(): string | undefined {
  if (process.getuid?.() !== 0) return "not root: network namespaces need CAP_NET_ADMIN";
  const steps: string[][] = [
    ["netns", "add", nsA],
    ["netns", "add", nsB],
    ["link", "add", `otA${id}`, "type", "veth", "peer", "name", `otB${id}`],
    ["link", "set", `otA${id}`, "netns", nsA],
    ["link", "set", `otB${id}`, "netns", nsB],
    ["-n", nsA, "addr", "add", `${twinIp}/24`, "dev", `otA${id}`],
    ["-n", nsB, "addr", "add", `${laptopIp}/24`, "dev", `otB${id}`],
    ["-n", nsA, "link", "set", "lo", "up"],
    ["-n", nsB, "link", "set", "lo", "up"],
    ["-n", nsA, "link", "set", `otA${id}`, "up"],
    ["-n", nsB, "link", "set", `otB${id}`, "up"],
    ["-n", nsA, "route", "add", "224.0.0.0/4", "dev", `otA${id}`],
    ["-n", nsB, "route", "add", "224.0.0.0/4", "dev", `otB${id}`],
  ];
  for (const step of steps) {
    const r = ip(...step);
    if (!r.ok) return `ip ${step.join(" ")}: ${r.text || "failed"}`;
  }
  return undefined;
}

function removeNetwork(): void {
  ip("netns", "del", nsA);
  ip("netns", "del", nsB);
}

function inNs(ns: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", ...args], { cwd: root, env: { ...process.env, OTA_PORTAL_PASSWORD: "" } });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${args.join(" ")} in ${ns}: still running after ${timeoutMs} ms\n${out}${err}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

async function discoverInLaptop(): Promise<AnnouncedBoard[]> {
  const r = await inNs(nsB, ["ota/main.ts", "discover", "--json", "--timeout", "2", "--interface", laptopIp]);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as AnnouncedBoard[];
}

function startTwin(dir: string): Promise<ChildProcess> {
  const catalog = join(dir, "catalog");
  writeDemoCatalog(catalog, 0.3);
  const child = spawn("ip", ["netns", "exec", nsA, process.execPath, "--import", "tsx", "twin/demo.ts", "--catalog", catalog, "--flash", join(dir, "flash.bin"), "--fresh", "--portal-port", "8080", "--server-port", "8000", "--startup-window", "3", "--speed", "0", "--lan", twinIp], { cwd: root });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`the twin did not start:\n${out}`)), 30_000);
    const take = (c: Buffer) => {
      out += c.toString();
      if (/On the LAN/.test(out)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("exit", (code) => reject(new Error(`the twin exited (${code}):\n${out}`)));
  });
}

test("ota discover finds the twin over real mDNS between two network namespaces; push over the link; the new version is announced", async (t) => {
  const why = makeNetwork();
  if (why) {
    removeNetwork();
    t.skip(`cannot make a network namespace: ${why}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "ota-netns-"));
  let twin: ChildProcess | undefined;
  try {
    assert.deepEqual(await discoverInLaptop(), [], "nothing announces before the twin starts");
    twin = await startTwin(dir);
    const boards = await discoverInLaptop();
    assert.deepEqual(boards, [{ name: "esp32-twin", address: twinIp, port: 8080, app: "moddable-ota-demo", version: "1.0.0", chip: "ESP32", mac: "24:0A:C4:5E:71:10", mod: "", auth: false }]);

    const pushed = await inNs(nsB, ["ota/main.ts", "push", join(dir, "catalog", "demo-1.1.0.bin"), "--to", `${boards[0].address}:${boards[0].port}`]);
    assert.equal(pushed.code, 0, pushed.out + pushed.err);
    assert.match(pushed.out, /valid: moddable-ota-demo 1\.1\.0\n/);
    const after = await discoverInLaptop();
    assert.equal(after.length, 1);
    assert.equal(after[0].version, "1.1.0", "announced afresh after the restart");
  } finally {
    twin?.kill("SIGTERM");
    if (twin && twin.exitCode === null) await new Promise((resolve) => twin?.once("exit", resolve));
    removeNetwork();
    rmSync(dir, { recursive: true, force: true });
  }
});

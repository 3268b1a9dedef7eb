// `npm start` as a user runs it: the demo process prints both URLs, serves the
// catalog and the portal, keeps the installed version in its flash file, and
// exits 0 on SIGINT (Ctrl-C) and on SIGTERM.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeDemoCatalog } from "../../twin/demo-catalog";

const root = join(import.meta.dirname, "..", "..");

function startDemo(args: string[]): Promise<{ child: ChildProcess; server: string; portal: string; output: () => string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "twin/demo.ts", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    const onData = (data: Buffer) => {
      out += data.toString();
      const server = /Update server\s+(http:\/\/\S+?)\/_catalog/.exec(out)?.[1];
      const portal = /Device portal\s+(http:\/\/\S+)/.exec(out)?.[1];
      if (portal) resolve({ child, server: server ?? "", portal, output: () => out });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code) => reject(new Error(`demo exited ${code}: ${out}`)));
  });
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

test("npm start: both URLs, catalog and portal up, clean exit on SIGINT and SIGTERM", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ota-demo-"));
  writeDemoCatalog(join(dir, "catalog"), 0.2);
  const args = ["--server-port", "0", "--portal-port", "0", "--catalog", join(dir, "catalog"), "--flash", join(dir, "flash.bin"), "--fresh"];
  const demo = await startDemo(args);
  const catalog = (await (await fetch(`${demo.server}/_catalog?op=list&path=.`)).json()) as Array<{ name: string }>;
  assert.ok(catalog.some((e) => e.name === "demo-1.1.0.bin"));
  const status = (await (await fetch(new URL("/api/status", demo.portal))).json()) as { version: string; partition: string };
  assert.deepEqual([status.version, status.partition], ["1.0.0", "ota_0"]);
  const code = exited(demo.child);
  demo.child.kill("SIGINT");
  assert.equal(await code, 0, demo.output());
  await assert.rejects(fetch(new URL("/api/status", demo.portal)));

  // --server points the twin at a server already running; SIGTERM stops it too.
  const first = await startDemo(["--server-port", "0", "--portal-port", "0", "--catalog", join(dir, "catalog"), "--flash", join(dir, "flash-a.bin")]);
  const second = await startDemo(["--server", new URL(first.server).host, "--portal-port", "0", "--flash", join(dir, "flash.bin")]);
  assert.doesNotMatch(second.output(), /Update server/);
  const update = await fetch(new URL("/update", second.portal));
  assert.match(await update.text(), new RegExp(new URL(first.server).host.replace(/\./g, "\\.")));
  for (const d of [second, first]) {
    const done = exited(d.child);
    d.child.kill("SIGTERM");
    assert.equal(await done, 0, d.output());
  }
});

test("npm start -- --fleet 5: the dashboard URL and token, five virtual boards in the registry, clean exit", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ota-demo-fleet-"));
  writeDemoCatalog(join(dir, "catalog"), 0.2);
  const demo = await startDemo(["--server-port", "0", "--portal-port", "0", "--catalog", join(dir, "catalog"), "--flash", join(dir, "flash.bin"), "--fresh", "--fleet", "5", "--fleet-interval", "0.3"]);
  const m = /Dashboard\s+(http:\/\/\S+\/dashboard)\s+\(admin token: ([0-9a-f]{32})\)/.exec(demo.output());
  assert.ok(m, demo.output());
  assert.match(demo.output(), /Fleet +5 virtual boards check in every 0\.3 s/);
  const devices = new URL("/api/devices", m[1]);
  let total = 0;
  for (let i = 0; i < 100 && total < 5; i++) {
    await new Promise((r) => setTimeout(r, 100));
    total = ((await (await fetch(devices, { headers: { authorization: `Bearer ${m[2]}` } })).json()) as { total: number }).total;
  }
  assert.equal(total, 5);
  assert.equal((await fetch(m[1])).status, 401);
  const code = exited(demo.child);
  demo.child.kill("SIGINT");
  assert.equal(await code, 0, demo.output());
});

test("npm start -- --signed: an owner key made once (mode 0600) and reused, the catalog signed with it, the twin taking only signed images", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ota-demo-signed-"));
  const args = ["--signed", "--server-port", "0", "--portal-port", "0", "--flash", join(dir, "flash.bin"), "--fresh"];
  const demo = await startDemo(args);
  const fingerprint = /the twin trusts key ([0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{4})/.exec(demo.output())?.[1];
  assert.ok(fingerprint, demo.output());
  assert.equal(statSync(join(dir, "keys", "owner.key")).mode & 0o777, 0o600);
  assert.doesNotMatch(demo.output(), /PRIVATE KEY/);
  const rows = (await (await fetch(`${demo.server}/api/catalog`)).json()) as Array<{ name: string; signed: boolean; signer?: string }>;
  const by = new Map(rows.map((r) => [r.name, r]));
  assert.equal(by.get("demo-1.1.0.bin")?.signer, fingerprint.replace(/ /g, ""));
  assert.equal(by.get("demo-unsigned-1.2.0.bin")?.signed, false);
  assert.notEqual(by.get("demo-other-key-1.2.0.bin")?.signer, fingerprint.replace(/ /g, ""));
  assert.equal(by.get("demo-tampered-1.2.0.bin")?.signer, fingerprint.replace(/ /g, ""), "signed by the owner, but for other bytes");
  const status = (await (await fetch(new URL("/api/status", demo.portal))).json()) as { signing: { required: boolean; keys: string[] } };
  assert.deepEqual(status.signing, { required: true, keys: [fingerprint] });
  const stopped = exited(demo.child);
  demo.child.kill("SIGINT");
  assert.equal(await stopped, 0, demo.output());
  // A second start reuses the key (boards flashed with it keep working).
  const again = await startDemo(args);
  assert.match(again.output(), new RegExp(`the twin trusts key ${fingerprint}`));
  const done = exited(again.child);
  again.child.kill("SIGTERM");
  assert.equal(await done, 0, again.output());
  rmSync(dir, { recursive: true, force: true });
});

test("npm start is a bench board (requirePassword false, one tap, the home page warns); npm start -- --password P runs the board's defaults", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ota-demo-password-"));
  writeDemoCatalog(join(dir, "catalog"), 0.2);
  const args = ["--server-port", "0", "--portal-port", "0", "--catalog", join(dir, "catalog"), "--flash", join(dir, "flash.bin"), "--fresh"];
  const open = await startDemo(args);
  assert.match(open.output(), /Portal password not required: a bench board/);
  assert.match(await (await fetch(new URL("/", open.portal))).text(), /id=open-warning/);
  const scan = await fetch(new URL("/api/catalog", open.portal), { method: "POST" });
  assert.equal(scan.status, 200, "no password asked");
  let code = exited(open.child);
  open.child.kill("SIGINT");
  assert.equal(await code, 0, open.output());

  const closed = await startDemo([...args.filter((a) => a !== "--fresh"), "--password", "demo-pass-1"]);
  assert.match(closed.output(), /Portal password set and required \(user admin\)/);
  const status = (await (await fetch(new URL("/api/status", closed.portal))).json()) as { security: { passwordSet: boolean } };
  assert.equal(status.security.passwordSet, true);
  assert.equal((await fetch(new URL("/api/update", closed.portal), { method: "POST", body: "fw=demo-1.1.0.bin" })).status, 401);
  const auth = { authorization: `Basic ${Buffer.from("admin:demo-pass-1").toString("base64")}` };
  assert.equal((await fetch(new URL("/api/progress", closed.portal), { headers: auth })).status, 200);
  assert.doesNotMatch(await (await fetch(new URL("/", closed.portal))).text(), /id=open-warning|id=password-first/);
  code = exited(closed.child);
  closed.child.kill("SIGINT");
  assert.equal(await code, 0, closed.output());
  rmSync(dir, { recursive: true, force: true });
});

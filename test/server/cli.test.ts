// The ota-server command: updateserver.py's flags and defaults, --config,
// --open, --help, startup banner, npm script and package bin, and SIGTERM
// finishing an in-flight download. Each test runs the real command.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { connect } from "node:net";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import { buildImage } from "../../tools/esp-image";
import { esp32Headers, parseResponse, rawRequest, requestText, tempDir } from "./helpers";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = ["--import", "tsx", join(ROOT, "server", "cli.ts")];
// The default registry lives under $XDG_STATE_HOME: a test's own, never the user's
// (a database another checkout migrated ahead would stop these servers).
const STATE = mkdtempSync(join(tmpdir(), "ota-cli-state-"));
process.env.XDG_STATE_HOME = STATE;
after(() => rmSync(STATE, { recursive: true, force: true }));

interface Started {
  child: ChildProcess;
  port: number;
  banner: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs the CLI on port 0 and waits for its banner. */
function run(args: string[], cwd = ROOT, command: string[] = [process.execPath, ...CLI], detached = false): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], [...command.slice(1), "--port", "0", "--bind", "127.0.0.1", ...args], { cwd, stdio: ["ignore", "pipe", "pipe"], detached });
    let out = "";
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]), banner: out, output: () => out, exited });
    });
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.on("exit", (code) => reject(new Error(`exited ${code} before listening: ${out}`)));
  });
}

describe("ota-server command", () => {
  let catalog: string;
  const image = Buffer.from(buildImage({ version: "4.0.0", size: 4 * 1024 * 1024 }));
  before(async () => {
    catalog = await tempDir();
    await mkdir(join(catalog, "bin"));
    await writeFile(join(catalog, "bin", "fw.bin"), image);
  });
  const children: ChildProcess[] = [];
  after(() => children.forEach((c) => c.exitCode === null && c.kill("SIGKILL")));

  test("--help lists the reference's flags and ours", () => {
    const r = spawnSync(process.execPath, [...CLI, "--help"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 0);
    for (const flag of ["-p, --port", "-b, --bind", "-d, --catalog", "-l, --log", "--config", "--open", "(default: 8000)", '(default: "127.0.0.1")', '(default: "INFO")'])
      assert.ok(r.stdout.includes(flag), `${flag} in\n${r.stdout}`);
  });

  test("a log level that Python does not know is refused; any case of a known one is taken", async () => {
    const bad = spawnSync(process.execPath, [...CLI, "--log", "LOUD"], { cwd: ROOT, encoding: "utf8" });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /DEBUG, INFO, WARNING, ERROR or CRITICAL/);
    for (const level of ["debug", "Warning", "CRITICAL", "error"]) {
      const s = await run(["-d", catalog, "-l", level]);
      children.push(s.child);
      s.child.kill("SIGTERM");
      assert.equal(await s.exited, 0);
    }
  });

  test("a relative --catalog works, and the banner says where and what it serves", async () => {
    const s = await run(["-d", relative(ROOT, catalog)]);
    children.push(s.child);
    assert.match(s.banner, new RegExp(`catalog: +${catalog.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    assert.match(s.banner, /downloads: GET/);
    assert.match(s.banner, /updater: +off/);
    const r = await rawRequest(s.port, requestText("/_catalog?op=list&path=bin", { Host: "x" }));
    assert.equal(JSON.parse(r.body.toString())[0].name, "fw.bin");
    s.child.kill("SIGINT");
    assert.equal(await s.exited, 0);
  });

  test("--log ERROR keeps request logs quiet, INFO writes them as JSON lines", async () => {
    const quiet = await run(["-d", catalog, "-l", "ERROR"]);
    children.push(quiet.child);
    await rawRequest(quiet.port, requestText("/_catalog?op=list", { Host: "x" }));
    quiet.child.kill("SIGTERM");
    await quiet.exited;
    assert.ok(!quiet.output().includes('"msg":"incoming request"'));
    const chatty = await run(["-d", catalog, "-l", "INFO"]);
    children.push(chatty.child);
    await rawRequest(chatty.port, requestText("/_catalog?op=list", { Host: "x" }));
    chatty.child.kill("SIGTERM");
    await chatty.exited;
    assert.ok(chatty.output().includes('"msg":"incoming request"'));
  });

  test("--config loads rules (the banner counts them); a broken file stops startup with a reason", async () => {
    const rules = join(catalog, "rules.yaml");
    await writeFile(rules, 'default: bin/fw.bin\ndevices:\n  "24:6F:28:AA:BB:01": bin/fw.bin\n');
    const s = await run(["-d", catalog, "--config", rules]);
    children.push(s.child);
    assert.match(s.banner, /updater: +GET \/update \(1 devices, 0 groups, default\)/);
    const r = await rawRequest(s.port, requestText("/update", esp32Headers({ "x-ESP32-free-space": "8000000" })));
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(image));
    s.child.kill("SIGTERM");
    await s.exited;
    await writeFile(join(catalog, "bad.yaml"), "devices: { nope: a.bin }\n");
    const bad = spawnSync(process.execPath, [...CLI, "--config", join(catalog, "bad.yaml")], { cwd: ROOT, encoding: "utf8" });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /"nope" is not a MAC address/);
  });

  test("a catalog that does not exist stops startup with a reason", () => {
    const r = spawnSync(process.execPath, [...CLI, "-d", join(catalog, "nope")], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /cannot serve/);
  });

  test("--open lets curl download; without it curl gets 403", async () => {
    const closed = await run(["-d", catalog]);
    const open = await run(["-d", catalog, "--open"]);
    children.push(closed.child, open.child);
    const curl = { Host: "x", "User-Agent": "curl/8.5.0" };
    assert.equal((await rawRequest(closed.port, requestText("/bin/fw.bin", curl))).status, 403);
    const r = await rawRequest(open.port, requestText("/bin/fw.bin", curl));
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(image));
    closed.child.kill("SIGTERM");
    open.child.kill("SIGTERM");
    await Promise.all([closed.exited, open.exited]);
  });

  test("as `npm run server --` and as the package bin", async () => {
    // npm does not pass signals on to the script: run it in its own process
    // group and signal the group (npm and the server it started).
    const viaNpm = await run(["--catalog", relative(ROOT, catalog)], ROOT, ["npm", "run", "--silent", "server", "--"], true);
    assert.equal((await rawRequest(viaNpm.port, requestText("/_catalog?op=list", { Host: "x" }))).status, 200);
    process.kill(-viaNpm.child.pid!, "SIGTERM");
    await viaNpm.exited;
    // the server itself goes too: wait until its port stops answering
    for (;;) {
      const refused = await new Promise<boolean>((resolve) => {
        const s = connect(viaNpm.port, "127.0.0.1");
        s.on("error", () => resolve(true));
        s.on("connect", () => (s.destroy(), resolve(false)));
      });
      if (refused) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // The bin runs the compiled server with no TypeScript loader: a resolve hook
    // refuses tsx and any .ts module, and the process still serves.
    const hook = join(catalog, "no-typescript.mjs");
    await writeFile(
      hook,
      `import { register } from "node:module";\nregister("data:text/javascript," + encodeURIComponent(${JSON.stringify(
        'export async function resolve(s, c, next) { if (/^tsx(\\/|$)/.test(s) || /\\.[cm]?ts$/.test(s)) throw new Error("TypeScript at run time: " + s); return next(s, c); }',
      )}));\n`,
    );
    const viaBin = await run(["-d", catalog], catalog, [process.execPath, "--import", pathToFileURL(hook).href, join(ROOT, "bin", "ota-server.js")]);
    children.push(viaBin.child);
    assert.equal((await rawRequest(viaBin.port, requestText("/_catalog?op=list", { Host: "x" }))).status, 200);
    assert.equal((await rawRequest(viaBin.port, requestText("/bin/fw.bin", esp32Headers({ "x-ESP32-free-space": "8000000" })))).status, 200);
    viaBin.child.kill("SIGTERM");
    assert.equal(await viaBin.exited, 0);
    // and the hook does refuse TypeScript: the source entry point fails under it
    const ts = spawnSync(process.execPath, ["--import", pathToFileURL(hook).href, join(ROOT, "server", "cli.ts"), "--help"], { cwd: ROOT, encoding: "utf8" });
    assert.notEqual(ts.status, 0);
    assert.match(ts.stderr, /TypeScript at run time|Unknown file extension/);
  });

  test("the package declares the bin and keeps tsx out of its run-time dependencies", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string>; dependencies: Record<string, string>; scripts: Record<string, string> };
    assert.equal(pkg.bin["ota-server"], "bin/ota-server.js");
    assert.equal(pkg.dependencies.tsx, undefined);
    assert.match(pkg.scripts.prepare, /build/, "npm install / npm ci build dist/");
    assert.doesNotMatch(await readFile(join(ROOT, "bin", "ota-server.js"), "utf8"), /from "tsx|import\("tsx/, "the bin loads no TypeScript loader");
  });

  test("SIGTERM finishes an in-flight download, then exits 0", { timeout: 30_000 }, async () => {
    const s = await run(["-d", catalog]);
    children.push(s.child);
    const socket = connect(s.port, "127.0.0.1");
    let bytes = Buffer.alloc(0);
    await new Promise<void>((resolve) => {
      socket.on("data", function onData(c: Buffer) {
        bytes = Buffer.concat([bytes, c]);
        if (bytes.indexOf("\r\n\r\n") < 0) return;
        socket.pause(); // the 4 MB transfer stays open while the server is told to stop
        socket.removeListener("data", onData);
        resolve();
      });
      socket.write(requestText("/bin/fw.bin", esp32Headers({ "x-ESP32-free-space": "8000000" })));
    });
    s.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 200)); // let the signal land before reading on
    const body = await new Promise<Buffer>((resolve) => {
      socket.on("data", (c: Buffer) => (bytes = Buffer.concat([bytes, c])));
      socket.on("close", () => resolve(parseResponse(bytes).body));
      socket.resume();
    });
    assert.equal(body.length, image.length);
    assert.equal(createHash("md5").update(body).digest("hex"), parseResponse(bytes).headers["x-md5"]);
    assert.equal(await s.exited, 0);
    assert.match(s.output(), /SIGTERM, finishing in-flight downloads/);
  });
});

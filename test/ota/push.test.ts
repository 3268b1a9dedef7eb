// `ota push`, `status` and `rollback` as a user runs them: the CLI in its own
// process (node + the TypeScript sources; the packaged bundle is tested in
// test/ota/package.test.ts) against a twin stack over real HTTP on loopback.
// Each case checks the exit code, the verdict line and what the twin's flash
// says happened.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deadPort, startStack, type Stack, type StackOptions } from "../support/stack";
import { PASSWORD_KEY } from "../../modules/core/portal/basic-auth";
import { REFUSED_UNSIGNED } from "../../twin/demo-signing";
import { XS_16_7 } from "../../twin/demo-catalog";
import { demoMod } from "../../tools/xs-archive";

const root = join(import.meta.dirname, "..", "..");

export interface CliRun {
  code: number | null;
  out: string;
  err: string;
}

/** Runs `ota ARGS` (the sources, through tsx) and collects its output; stdout is a pipe, so no TTY bars. */
export function ota(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(root, "ota", "main.ts"), ...args], { cwd: root, env: { ...process.env, OTA_PORTAL_PASSWORD: "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`ota ${args.join(" ")} still running after ${timeoutMs} ms:\n${out}\n${err}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

const files = mkdtempSync(join(tmpdir(), "ota-push-"));
/** A bench board (requirePassword false): these cases push without a password. */
const BENCH: StackOptions = { twin: { requirePassword: false } };

async function withStack(options: StackOptions, run: (s: Stack, to: string) => Promise<void>): Promise<void> {
  const s = await startStack(options);
  try {
    await run(s, `127.0.0.1:${s.twin.port}`);
  } finally {
    await s.stop();
  }
}

const slotHex = (s: Stack, i: number) => Buffer.from(s.twin.flash.chip.read(s.twin.flash.slots[i].offset, s.twin.flash.slots[i].size)).toString("hex");
const otadata = (s: Stack) => Buffer.from(s.twin.flash.chip.read(s.twin.flash.otadata.offset, s.twin.flash.otadata.size)).toString("hex");

test("a good image: a line every 10 %, verifying, restart, start-up check, `valid: moddable-ota-demo 1.1.0`, exit 0; ota_1 holds the file", async () => {
  await withStack(BENCH, async (s, to) => {
    const path = join(s.catalogDir, "demo-1.1.0.bin");
    const r = await ota(["push", path, "--to", to]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, new RegExp(`${to.replace(/\./g, "\\.")}: valid: moddable-ota-demo 1\\.1\\.0\\n`));
    const tenths = [...r.out.matchAll(/ (\d+) % {2}\d+ KB\/s\n/g)].map((m) => Number(m[1]));
    assert.deepEqual(tenths, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100], "one line per 10 % on a pipe");
    assert.match(r.out, /100 % .*\n[^]*verifying\n[^]*restarting\n[^]*: valid: /, "the phases in order");
    assert.equal(s.twin.device.appVersion, "1.1.0");
    assert.equal(s.twin.policy.status().otaState, "valid");
    const image = readFileSync(path);
    assert.ok(Buffer.from(s.twin.flash.chip.read(s.twin.flash.slots[1].offset, image.length)).equals(image), "ota_1 holds the pushed bytes");
  });
});

test("an ESP32-S3 image: exit 1 with the board's reason, nothing erased, no restart", async () => {
  await withStack(BENCH, async (s, to) => {
    const erased = s.twin.flash.chip.counters.sectorsErased;
    const selection = otadata(s);
    const r = await ota(["push", join(s.catalogDir, "demo-s3-2.0.0.bin"), "--to", to]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /refused: Image is for ESP32-S3, this board is ESP32\n/);
    assert.equal(s.twin.flash.chip.counters.sectorsErased, erased, "nothing erased");
    assert.equal(otadata(s), selection);
    assert.equal(s.twin.boots, 1);
  });
});

test("a corrupted image (one byte flipped in a segment): exit 1 with the board's reason; the running slot and boot selection unchanged", async () => {
  await withStack(BENCH, async (s, to) => {
    const bad = readFileSync(join(s.catalogDir, "demo-1.1.0.bin"));
    bad[100_000] ^= 0x40;
    const path = join(files, "demo-1.1.0-corrupted.bin");
    writeFileSync(path, bad);
    const running = slotHex(s, 0);
    const selection = otadata(s);
    const r = await ota(["push", path, "--to", to]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /refused: .+\n/);
    assert.doesNotMatch(r.out, /valid:/);
    assert.equal(slotHex(s, 0), running);
    assert.equal(otadata(s), selection);
    assert.equal(s.twin.boots, 1, "no restart");
  });
});

test("signed-only board: an unsigned image is refused (exit 1); the owner's image with its .sig beside it goes in (exit 0)", async () => {
  await withStack({ ...BENCH, signed: true }, async (s, to) => {
    const erased = s.twin.flash.chip.counters.sectorsErased;
    const unsigned = await ota(["push", join(s.catalogDir, REFUSED_UNSIGNED), "--to", to]);
    assert.equal(unsigned.code, 1, unsigned.out + unsigned.err);
    assert.match(unsigned.out, /refused: .*sign/i);
    assert.equal(s.twin.flash.chip.counters.sectorsErased, erased, "nothing erased");
    // The same image without its .sig (copied alone) is refused too; with it, installed.
    const alone = join(files, "demo-1.1.0.bin");
    copyFileSync(join(s.catalogDir, "demo-1.1.0.bin"), alone);
    const noSig = await ota(["push", alone, "--to", to]);
    assert.equal(noSig.code, 1, noSig.out);
    const signed = await ota(["push", join(s.catalogDir, "demo-1.1.0.bin"), "--to", to]);
    assert.equal(signed.code, 0, signed.out + signed.err);
    assert.match(signed.out, /signed \(\.sig\)/);
    assert.match(signed.out, /valid: moddable-ota-demo 1\.1\.0\n/);
  });
});

test("an image that fails its start-up check: exit 2 with the board's reason; the board runs the previous version", async () => {
  await withStack(BENCH, async (s, to) => {
    const r = await ota(["push", join(s.catalogDir, "demo-broken-2.1.0.bin"), "--to", to]);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.out, /rolled back: moddable-ota-demo 2\.1\.0 failed its start-up check and was rolled back: Wi-Fi station: not joined to TwinLAN after 5 s; running moddable-ota-demo 1\.0\.0\n/);
    assert.equal(s.twin.device.appVersion, "1.0.0");
  });
});

test("a board that never comes back after the commit: exit 3 after --timeout", async () => {
  await withStack({ twin: { requirePassword: false, bootDelayMs: 600_000 } }, async (s, to) => {
    const t0 = Date.now();
    const r = await ota(["push", join(s.catalogDir, "demo-1.1.0.bin"), "--to", to, "--timeout", "2"]);
    assert.equal(r.code, 3, r.out + r.err);
    assert.match(r.out, /unreachable: did not come back within 2 s\n/);
    assert.ok(Date.now() - t0 < 20_000);
  });
});

test("a board that is not there: exit 3; a file that is neither .bin nor .xsa: exit 1", async () => {
  await withStack(BENCH, async (s) => {
    const r = await ota(["push", join(s.catalogDir, "demo-1.1.0.bin"), "--to", `127.0.0.1:${await deadPort()}`]);
    assert.equal(r.code, 3, r.out + r.err);
    assert.match(r.out, /unreachable: .*ECONNREFUSED/);
    const other = await ota(["push", join(root, "package.json"), "--to", `127.0.0.1:${s.twin.port}`]);
    assert.equal(other.code, 1);
    assert.match(other.err, /expected a firmware image \(\.bin\) or a mod \(\.xsa\)/);
  });
});

test("a portal password: none given -> exit 1 before a byte is sent; a wrong one -> exit 1; from OTA_PORTAL_PASSWORD -> valid; never printed", async () => {
  await withStack({}, async (s, to) => {
    s.twin.store.set(PASSWORD_KEY, "s3cret-pass");
    const path = join(s.catalogDir, "demo-1.1.0.bin");
    const erased = s.twin.flash.chip.counters.sectorsErased;
    const none = await ota(["push", path, "--to", to]);
    assert.equal(none.code, 1, none.out);
    assert.match(none.out, /refused: this board needs the portal password/);
    const wrong = await ota(["push", path, "--to", to, "--password", "not-it-at-all"]);
    assert.equal(wrong.code, 1, wrong.out);
    assert.match(wrong.out, /refused: wrong portal password\n/);
    assert.doesNotMatch(wrong.out + wrong.err, /not-it-at-all/);
    assert.equal(s.twin.flash.chip.counters.sectorsErased, erased, "nothing erased");
    const right = await ota(["push", path, "--to", to], { OTA_PORTAL_PASSWORD: "s3cret-pass" });
    assert.equal(right.code, 0, right.out + right.err);
    assert.doesNotMatch(right.out + right.err, /s3cret-pass/);
  });
});

test("a board with the secure defaults and no password yet: push and rollback are refused with 'Set a portal password first', exit 1, nothing erased", async () => {
  await withStack({}, async (s, to) => {
    const erased = s.twin.flash.chip.counters.sectorsErased;
    const pushed = await ota(["push", join(s.catalogDir, "demo-1.1.0.bin"), "--to", to, "--password", "anything"]);
    assert.equal(pushed.code, 1, pushed.out + pushed.err);
    assert.match(pushed.out, /refused: Set a portal password first: this board takes no update until its portal password is set/);
    const back = await ota(["rollback", "--to", to]);
    assert.equal(back.code, 1, back.out + back.err);
    assert.match(back.out, /refused: Set a portal password first/);
    assert.equal(s.twin.flash.chip.counters.sectorsErased, erased, "nothing erased");
    assert.equal(s.twin.device.appVersion, "1.0.0");
  });
});

test("status and rollback: `ota rollback` is Go back (restart into the other slot); status says what runs", async () => {
  await withStack(BENCH, async (s, to) => {
    const pushed = await ota(["push", join(s.catalogDir, "demo-1.1.0.bin"), "--to", to]);
    assert.equal(pushed.code, 0, pushed.out);
    const st = await ota(["status", "--to", to]);
    assert.equal(st.code, 0);
    assert.match(st.out, /moddable-ota-demo 1\.1\.0 on ESP32, ota_1, valid\n/);
    assert.match(st.out, /last update: 1\.1\.0 valid\n/);
    const json = JSON.parse((await ota(["status", "--to", to, "--json"])).out) as { version: string; previous: { version: string } };
    assert.equal(json.previous.version, "1.0.0");
    const back = await ota(["rollback", "--to", to]);
    assert.equal(back.code, 0, back.out + back.err);
    assert.match(back.out, /going back from moddable-ota-demo 1\.1\.0 to 1\.0\.0…\n[^]*running moddable-ota-demo 1\.0\.0/);
    assert.equal(s.twin.device.appVersion, "1.0.0");
    assert.equal((await ota(["status", "--to", `127.0.0.1:${await deadPort()}`])).code, 3);
  });
});

test("two boards with two --to: pushed in parallel, one verdict line each, exit 0", async () => {
  const a = await startStack(BENCH);
  const b = await startStack(BENCH);
  try {
    const r = await ota(["push", join(a.catalogDir, "demo-1.1.0.bin"), "--to", `127.0.0.1:${a.twin.port}`, "--to", `127.0.0.1:${b.twin.port}`]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal([...r.out.matchAll(/: valid: moddable-ota-demo 1\.1\.0\n/g)].length, 2);
    assert.equal(a.twin.device.appVersion, "1.1.0");
    assert.equal(b.twin.device.appVersion, "1.1.0");
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

// A mod goes to POST /update/mod of the twin, which runs mods as a board does
// (twin/adapters/mod-host.ts): the verdict comes from /api/status `mod` and
// `lastModUpdate`.
test("a mod (.xsa) to the twin: valid exit 0; a throwing mod rolled back exit 2; a mod for another XS refused exit 1 with the mod partitions untouched", async () => {
  await withStack(BENCH, async (s, to) => {
    const good = join(files, "hello-good.xsa");
    writeFileSync(good, demoMod("hello", "1.0.0", { status: "hello 1.0.0: all good" }));
    const ok = await ota(["push", good, "--to", to]);
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.match(ok.out, /: valid: mod hello 1\.0\.0 on moddable-ota-demo /);

    const broken = join(files, "hello-broken.xsa");
    writeFileSync(broken, demoMod("hello", "1.2.0", { twin: "throw" }));
    const back = await ota(["push", broken, "--to", to]);
    assert.equal(back.code, 2, back.out + back.err);
    assert.match(back.out, /rolled back: mod hello 1\.2\.0 .*running mod hello 1\.0\.0/);

    const other = join(files, "hello-xs16.xsa");
    writeFileSync(other, demoMod("hello", "1.3.0", { xs: XS_16_7 }));
    const area = () => s.twin.flash.chip.read(0x3d0000, 0x30000); // xs, xs_a, xs_b (twin/flash/partition-table.ts)
    const before = Buffer.from(area()).toString("hex");
    const erased = s.twin.flash.chip.counters.sectorsErased;
    const refused = await ota(["push", other, "--to", to]);
    assert.equal(refused.code, 1, refused.out + refused.err);
    assert.match(refused.out, /refused: .*XS/);
    assert.equal(s.twin.flash.chip.counters.sectorsErased, erased, "nothing erased");
    assert.equal(Buffer.from(area()).toString("hex"), before, "xs, xs_a and xs_b byte for byte");
  });
});

test("a mod (.xsa) on a board with mods (stand-in for the contract): valid when `mod` names it valid, exit 2 when lastModUpdate says rolled back", async () => {
  for (const ending of ["valid", "rolled-back"] as const) {
    let boot = "b1";
    let received = 0;
    let path = "";
    const state = { mod: null as null | { name: string; version: string; state: string }, lastModUpdate: null as null | { name: string; version: string; result: string; reason?: string } };
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json", connection: "close" });
        res.end(JSON.stringify(body));
      };
      if (req.url === "/api/status") return json(200, { app: "host", version: "2.0.0", partition: "ota_0", chip: 0, boot, otaState: "valid", lastUpdate: null, previous: { partition: "ota_1", version: null, bootable: false }, validation: { phase: "idle" }, ap: { ssid: "x", address: "192.168.4.1" }, station: { connected: true }, update: "idle", signing: { required: false, keys: [] }, ...state });
      if (req.url === "/api/progress") return json(200, { phase: received ? "done" : "idle", target: "", received, total: received, rate: 0, resumes: 0, boot });
      if (req.method === "POST" && req.url) {
        path = req.url;
        req.on("data", (c: Buffer) => (received += c.length));
        req.on("end", () => {
          json(202, { ok: true });
          setTimeout(() => {
            boot = "b2";
            if (ending === "valid") state.mod = { name: "hello", version: "1.1.0", state: "valid" };
            else state.lastModUpdate = { name: "hello", version: "1.1.0", result: "rolled-back", reason: "the mod threw: ReferenceError: x" };
          }, 300);
        });
        return;
      }
      json(404, { ok: false, error: "no" });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const file = join(files, "hello-1.1.0.xsa");
      writeFileSync(file, demoMod("hello", "1.1.0"));
      const r = await ota(["push", file, "--to", `127.0.0.1:${(server.address() as AddressInfo).port}`]);
      assert.equal(path, "/update/mod");
      assert.equal(received, readFileSync(file).length);
      if (ending === "valid") {
        assert.equal(r.code, 0, r.out + r.err);
        assert.match(r.out, /valid: mod hello 1\.1\.0 on host 2\.0\.0\n/);
      } else {
        assert.equal(r.code, 2, r.out + r.err);
        assert.match(r.out, /rolled back: mod hello 1\.1\.0 failed its start-up check and was rolled back: the mod threw: ReferenceError: x/);
      }
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  }
});

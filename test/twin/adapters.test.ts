// The twin's Node adapters against real loopback sockets and real files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import type { HttpFailure, PortalRequest } from "../../modules/core/ports";
import { IDLE_MS, PortalServer } from "../../twin/adapters/portal-server";
import { NodeHttpClient } from "../../twin/adapters/http-client";
import { JsonFileStore } from "../../twin/adapters/store";
import { nodeDigest } from "../../twin/adapters/digest";
import { NodeClock } from "../../twin/adapters/clock";
import { deadPort } from "../support/stack";

const BODY = new Uint8Array(300_000).map((_, i) => (i * 31) & 0xff);

async function withServer(fn: (port: number) => Promise<void>): Promise<void> {
  const server = createServer((req, res) => {
    res.setHeader("Content-Length", BODY.length);
    res.setHeader("X-MD5", "abc");
    res.appendHeader("X-Dup", "a");
    res.appendHeader("X-Dup", "b");
    res.end(req.method === "HEAD" ? undefined : BODY);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    await fn((server.address() as AddressInfo).port);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

test("http client: head with lowercased names, body in chunks of at most 4096 bytes, in order", async () => {
  await withServer(async (port) => {
    const http = new NodeHttpClient();
    const got: number[] = [];
    let largest = 0;
    const result = await new Promise<{ status: number; dup?: string; md5?: string }>((resolve, reject) => {
      let head: { status: number; dup?: string; md5?: string } = { status: 0 };
      http.request(
        { host: "127.0.0.1", port, path: "/x.bin" },
        {
          onHead: (h) => (head = { status: h.status, dup: h.headers.get("x-dup"), md5: h.headers.get("x-md5") }),
          onData: (chunk) => {
            largest = Math.max(largest, chunk.length);
            for (const b of chunk) got.push(b);
          },
          onEnd: () => resolve(head),
          onError: reject,
        },
      );
    });
    assert.deepEqual(result, { status: 200, dup: "a, b", md5: "abc" });
    assert.ok(largest <= 4096 && largest > 0, `largest chunk ${largest}`);
    assert.deepEqual(Uint8Array.from(got), BODY);
  });
});

test("http client: abort inside onData stops every callback", async () => {
  await withServer(async (port) => {
    const http = new NodeHttpClient();
    let calls = 0;
    let after = 0;
    await new Promise<void>((resolve) => {
      const exchange = http.request(
        { host: "127.0.0.1", port, path: "/x.bin" },
        {
          onHead: () => {},
          onData: () => {
            calls++;
            if (calls === 3) {
              exchange.abort();
              setTimeout(resolve, 200);
            } else if (calls > 3) after++;
          },
          onEnd: () => after++,
          onError: () => after++,
        },
      );
    });
    assert.equal(calls, 3);
    assert.equal(after, 0);
  });
});

test("http client: connection refused is an error; non-loopback hosts are never contacted", async () => {
  const http = new NodeHttpClient();
  const port = await deadPort();
  const refused = await new Promise<string>((resolve) => http.request({ host: "127.0.0.1", port, path: "/" }, { onHead: () => {}, onData: () => {}, onEnd: () => resolve("end"), onError: resolve }));
  assert.match(refused, /ECONNREFUSED/);
  const foreign = await new Promise<string>((resolve) => http.request({ host: "192.0.2.1", port: 80, path: "/" }, { onHead: () => {}, onData: () => {}, onEnd: () => resolve("end"), onError: resolve }));
  assert.match(foreign, /loopback only/);
});

/** One exchange's outcome: the failure the core is given, or "head <status>". */
function outcome(http: NodeHttpClient, host: string, port: number): Promise<HttpFailure | string> {
  return new Promise((resolve) =>
    http.request({ host, port, path: "/" }, { onHead: (head) => resolve(`head ${head.status}`), onData: () => {}, onEnd: () => {}, onError: (_reason, failure) => resolve(failure) }),
  );
}

/** A TCP peer that does `answer` with each connection once the request arrives. */
async function peer(answer: (socket: Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createTcpServer((socket) => {
    socket.on("error", () => {});
    socket.once("data", () => answer(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

test("http client: failures carry their cause: name not found, refused, not HTTP (with what came), closed without an answer", async () => {
  const notFound: NonNullable<ConstructorParameters<typeof NodeHttpClient>[0]>["lookup"] = (hostname, _options, callback) =>
    process.nextTick(() => (callback as (error: NodeJS.ErrnoException) => void)(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" })));
  const http = new NodeHttpClient({ allowHost: () => true, lookup: notFound });
  assert.deepEqual(await outcome(http, "no-such-host.invalid", 18310), { kind: "resolve" });
  assert.deepEqual(await outcome(new NodeHttpClient(), "127.0.0.1", await deadPort()), { kind: "refused" });
  const ssh = await peer((socket) => socket.end("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"));
  const junk = await peer((socket) => socket.end("hello there world\r\n\r\n"));
  const mute = await peer((socket) => socket.destroy());
  const odd = await peer((socket) => socket.end("HTTP/1.1 999 Odd\r\ncontent-length: 0\r\n\r\n"));
  try {
    const twin = new NodeHttpClient();
    const banner = await outcome(twin, "127.0.0.1", ssh.port);
    assert.equal(typeof banner === "object" && banner.kind, "not-http");
    assert.match((banner as HttpFailure).got ?? "", /^SSH-2\.0-OpenSSH_9\.2p1/);
    assert.equal(((await outcome(twin, "127.0.0.1", junk.port)) as HttpFailure).kind, "not-http");
    assert.deepEqual(await outcome(twin, "127.0.0.1", mute.port), { kind: "lost" });
    assert.deepEqual(await outcome(twin, "127.0.0.1", odd.port), { kind: "not-http", got: "HTTP/1.1 999 Odd" });
  } finally {
    await Promise.all([ssh.close(), junk.close(), mute.close(), odd.close()]);
  }
});

test("http client: the rate limit holds the socket back between reads", async () => {
  await withServer(async (port) => {
    const fetchAll = async (http: NodeHttpClient) => {
      let bytes = 0;
      await new Promise<void>((resolve, reject) => http.request({ host: "127.0.0.1", port, path: "/" }, { onHead: () => {}, onData: (c) => (bytes += c.length), onEnd: resolve, onError: reject }));
      return bytes;
    };
    const paced = new NodeHttpClient({ bytesPerSecond: 4_000_000 });
    const free = new NodeHttpClient();
    assert.equal(await fetchAll(paced), BODY.length);
    assert.equal(await fetchAll(free), BODY.length);
    assert.ok(paced.stats.pauses > 0);
    assert.equal(free.stats.pauses, 0);
  });
});

test("store: NVS limits (key <= 15 chars, value <= 4000 bytes), persisted to the JSON file", () => {
  const path = join(mkdtempSync(join(tmpdir(), "twin-store-")), "flash.bin.nvs.json");
  const store = new JsonFileStore(path);
  store.set("server.host", "127.0.0.1");
  assert.throws(() => store.set("a-key-of-16-char", "x"), /1\.\.15 characters/);
  assert.throws(() => store.set("big", "é".repeat(2001)), /over 4000 bytes/);
  store.set("ok", "é".repeat(2000));
  assert.equal(new JsonFileStore(path).get("server.host"), "127.0.0.1");
  store.delete("server.host");
  assert.equal(JSON.parse(readFileSync(path, "utf8"))["server.host"], undefined);
});

test("digest and clock adapters", async () => {
  const md5 = nodeDigest("MD5");
  md5.write(new TextEncoder().encode("ab"));
  md5.write(new TextEncoder().encode("c"));
  assert.equal(Buffer.from(md5.close()).toString("hex"), "900150983cd24fb0d6963f7d28e17f72");
  const clock = new NodeClock();
  const fired: string[] = [];
  const b = clock.setTimeout(() => fired.push("b"), 1);
  clock.clearTimeout(b);
  clock.setTimeout(() => fired.push("c"), 60_000);
  await new Promise<void>((resolve) =>
    clock.setTimeout(() => {
      fired.push("a");
      resolve();
    }, 5),
  );
  assert.deepEqual(fired, ["a"]);
  assert.equal(clock.pending, 1);
  clock.dispose();
  assert.equal(clock.pending, 0);
});

/** A raw TCP client of the twin's portal server: resolves with the ms until the server closed it. */
function closedAfter(port: number, send: (socket: Socket) => void, limitMs: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, "127.0.0.1", () => send(socket));
    const timer = setTimeout(() => (socket.destroy(), resolve(undefined)), limitMs);
    socket.on("data", () => {});
    socket.on("error", reject);
    socket.on("close", () => (clearTimeout(timer), resolve(performance.now() - started)));
  });
}

test("portal server: a connection with no traffic for idleMs is closed, as the board's server does (30 s there); a slow upload that keeps sending is not, and an idle one's sink hears \"idle\"", async () => {
  assert.equal(IDLE_MS, 30_000, "the board's default");
  const portal = new PortalServer({ idleMs: 300 });
  const aborts: string[] = [];
  let written = 0;
  portal.handler = Object.assign(() => ({ status: 200, headers: [], body: "ok" }), {
    bodyRouter: (head: PortalRequest) => (head.path === "/up" ? { stream: { write: (c: Uint8Array) => void (written += c.length), end: () => ({ status: 202, headers: [], body: "" }), abort: (why: string) => void aborts.push(why) } } : undefined),
  });
  const port = await portal.listen(0);
  try {
    // half a request head, then nothing
    const idle = await closedAfter(port, (s) => s.write("GET / HTTP/1.1\r\nHost: x\r\n"), 3000);
    assert.ok(idle !== undefined && idle >= 250 && idle < 2000, `closed after ${idle} ms`);
    // an upload's body that stops after its first bytes: closed, its sink aborted as idle
    const stalled = await closedAfter(port, (s) => s.write("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc"), 3000);
    assert.ok(stalled !== undefined && stalled < 2000, `closed after ${stalled} ms`);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(aborts, ["idle"]);
    // a slow client that sends something every 100 ms for 900 ms (three times idleMs) is served
    let answer = "";
    const slow = await closedAfter(
      port,
      (s) => {
        s.on("data", (d: Buffer) => (answer += d.toString()));
        s.write("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n");
        let sent = 0;
        const tick = setInterval(() => {
          s.write("x");
          if (++sent === 10) clearInterval(tick);
        }, 100);
      },
      5000,
    );
    assert.ok(slow !== undefined && slow >= 900, `closed after ${slow} ms`);
    assert.match(answer, /^HTTP\/1\.1 202/);
    assert.equal(written, 3 + 10);
  } finally {
    await portal.close();
  }
});

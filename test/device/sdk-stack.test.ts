// The device adapters over the SDK's own ECMA-419 HTTP client and server
// (examples/io/tcp/httpclient/httpclient.js, examples/io/listener/httpserver/httpserver.js
// from $MODDABLE, run unmodified on Node) and sockets that behave like the lin
// simulator's (test/support/moddable-sdk.ts), against real peers on loopback: the update
// client against Node HTTP servers and broken peers, the portal against real clients.
// Skipped without MODDABLE (CI has no SDK); run with MODDABLE=/path/to/moddable npm test.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { lookup } from "node:dns";
import { ModdableHttpClient, type ClientConstructor } from "../../modules/moddable/http-client";
import { PortalServer, SERVER_SOCKET, type ServerConstructor } from "../../modules/moddable/http-server";
import { guardListener, guardTcp, type GuardOptions, type ListenerConstructor, type TcpConstructor } from "../../modules/moddable/guarded-socket";
import { netResolver } from "../../modules/moddable/net-resolver";
import type { HttpFailure, HttpHandlers, HttpRequest, PortalBodySink, PortalRequest } from "../../modules/core/ports";
import { escaped, LinListener, LinTcp, loadSdkModule, skipWithoutSdk } from "../support/moddable-sdk";
import { FakeClock } from "../fakes/clock";

const skip = { skip: skipWithoutSdk };
const lines: string[] = [];
const log = (line: string) => lines.push(line);
const closers: Array<() => void> = [];
after(() => closers.forEach((close) => close()));

async function sdkClient(): Promise<ModdableHttpClient> {
  const HTTPClient = await loadSdkModule<ClientConstructor>("examples/io/tcp/httpclient/httpclient.js");
  // Net.resolve's contract (modResolve.c): callback(name, address | undefined)
  const Resolver = netResolver((name, callback) => lookup(name, 4, (error, address) => callback(name, error ? undefined : address)), log);
  return new ModdableHttpClient({ Client: HTTPClient, Socket: guardTcp(LinTcp as unknown as TcpConstructor, { log }), Resolver }, { log });
}

function fetchVia(client: ModdableHttpClient, request: HttpRequest, onData?: (chunk: Uint8Array) => void) {
  return new Promise<{ events: string[]; status?: number; headers?: ReadonlyMap<string, string>; body: Buffer; sizes: number[]; failure?: HttpFailure }>((resolve) => {
    const events: string[] = [];
    let failure: HttpFailure | undefined;
    const parts: Buffer[] = [];
    const sizes: number[] = [];
    let status: number | undefined;
    let headers: ReadonlyMap<string, string> | undefined;
    const finish = () => resolve({ events, status, headers, body: Buffer.concat(parts), sizes, failure });
    const handlers: HttpHandlers = {
      onHead: (head) => {
        status = head.status;
        headers = head.headers;
        events.push(`head ${head.status}`);
      },
      onData: (chunk) => {
        sizes.push(chunk.byteLength);
        parts.push(Buffer.from(chunk));
        onData?.(chunk);
      },
      onEnd: () => {
        events.push("end");
        finish();
      },
      onError: (reason, why) => {
        events.push(`error ${reason}`);
        failure = why;
        finish();
      },
    };
    client.request(request, handlers);
  });
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

const image = Buffer.from(Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31 + (i >> 8)) & 0xff));

test("SDK client: a 300 KB body arrives whole, in lin-sized pieces, with the headers; Host carries the port", skip, async () => {
  const seen: http.IncomingHttpHeaders[] = [];
  const port = await listen(
    http.createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { "Content-Length": image.length, "x-MD5": "0123456789abcdef0123456789abcdef" });
      res.end(image);
    }),
  );
  const client = await sdkClient();
  const r = await fetchVia(client, { host: "127.0.0.1", port, path: "/fw.bin", headers: [["User-Agent", "ESP32-http-Update"], ["x-ESP32-STA-MAC", "02:00:00:00:00:01"]] });
  assert.deepEqual(r.events, ["head 200", "end"]);
  assert.equal(r.headers?.get("x-md5"), "0123456789abcdef0123456789abcdef");
  assert.ok(r.body.equals(image), "every byte, in order");
  assert.ok(Math.max(...r.sizes) <= 1536, "the lin socket offers at most 1536 bytes a poll");
  assert.equal(seen[0].host, `127.0.0.1:${port}`);
  assert.equal(seen[0]["user-agent"], "ESP32-http-Update");
  assert.equal(seen[0]["x-esp32-sta-mac"], "02:00:00:00:00:01");
  assert.equal(seen[0].connection, "close");
  assert.deepEqual(escaped, []);
});

test("SDK client: connection refused, unknown host, reset mid-body: each one onError, nothing escapes", skip, async () => {
  const client = await sdkClient();
  const probe = net.createServer();
  const closed = await listen(probe);
  await new Promise((resolve) => probe.close(resolve)); // a port where nothing listens now
  const refused = await fetchVia(client, { host: "127.0.0.1", port: closed, path: "/_catalog?op=list&path=." });
  assert.deepEqual(refused.events, ["error cannot connect"]);
  assert.deepEqual(refused.failure, { kind: "refused" });

  const unknown = await fetchVia(client, { host: "no-such-host.invalid", port: 8000, path: "/" });
  assert.deepEqual(unknown.events, ["error cannot resolve no-such-host.invalid"]);
  assert.deepEqual(unknown.failure, { kind: "resolve" });

  const resetPort = await listen(
    net.createServer((socket) => {
      socket.once("data", () => {
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${image.length}\r\n\r\n`);
        socket.write(image.subarray(0, 5000), () => setTimeout(() => socket.resetAndDestroy(), 30));
      });
    }),
  );
  const reset = await fetchVia(client, { host: "127.0.0.1", port: resetPort, path: "/fw.bin" });
  assert.deepEqual(reset.events, ["head 200", "error connection lost"]);
  assert.deepEqual(reset.failure, { kind: "lost" });
  assert.equal(reset.body.length, 5000);
  assert.deepEqual(escaped, []);
});

test("SDK client: a non-HTTP peer makes httpclient.js throw inside onReadable; the guard turns it into onError, named not HTTP", skip, async () => {
  const port = await listen(net.createServer((socket) => socket.once("data", () => socket.end("SSH-2.0-OpenSSH_9.2\r\nx: y\r\n\r\n"))));
  const client = await sdkClient();
  lines.length = 0;
  const r = await fetchVia(client, { host: "127.0.0.1", port, path: "/" });
  assert.deepEqual(r.events, ["error not HTTP (got 'SSH-2.0-OpenSSH_9.2')"]);
  assert.deepEqual(r.failure, { kind: "not-http", got: "SSH-2.0-OpenSSH_9.2\r\n" });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(lines.some((l) => /socket: TypeError/.test(l)), `the SDK's TypeError was caught: ${lines.join("")}`);
  assert.deepEqual(escaped, [], "without the guard this exception would abort XS");
});

test("SDK client: junk with spaces and a blank line (status NaN to httpclient.js) is not HTTP; a peer that closes at once is lost", skip, async () => {
  const junk = await listen(net.createServer((socket) => socket.once("data", () => socket.end("hello there world\r\n\r\n"))));
  const mute = await listen(net.createServer((socket) => socket.once("data", () => socket.destroy())));
  const client = await sdkClient();
  const r = await fetchVia(client, { host: "127.0.0.1", port: junk, path: "/" });
  assert.deepEqual(r.events, ["error not HTTP (got 'hello there world')"], "never 'head NaN'");
  const m = await fetchVia(client, { host: "127.0.0.1", port: mute, path: "/" });
  assert.deepEqual(m.failure, { kind: "lost" });
  assert.deepEqual(escaped, []);
});

test("SDK client: a close-delimited body ends with the close; HEAD ends at the head", skip, async () => {
  const port = await listen(
    net.createServer((socket) =>
      socket.once("data", (d) => {
        if (d.toString().startsWith("HEAD")) socket.write("HTTP/1.1 200 OK\r\ncontent-length: 300000\r\n\r\n");
        else socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n[{"name": "fw.bin"}]');
      }),
    ),
  );
  const client = await sdkClient();
  const body = await fetchVia(client, { host: "127.0.0.1", port, path: "/_catalog?op=list&path=." });
  assert.deepEqual(body.events, ["head 200", "end"]);
  assert.equal(body.body.toString(), '[{"name": "fw.bin"}]');
  const head = await fetchVia(client, { host: "127.0.0.1", port, path: "/fw.bin", method: "HEAD" });
  assert.deepEqual(head.events, ["head 200", "end"]);
});

// --- the portal over the SDK's server ---

/** The SDK server class, a guarded lin-like listener that records itself, and the port it bound. */
async function sdkServerIO(options: GuardOptions = SERVER_SOCKET) {
  const HTTPServer = await loadSdkModule<ServerConstructor>("examples/io/listener/httpserver/httpserver.js");
  const made: LinListener[] = [];
  const Recording = class extends LinListener {
    constructor(options: ConstructorParameters<typeof LinListener>[0]) {
      super(options);
      made.push(this);
    }
  };
  const Socket = guardTcp(LinTcp as unknown as TcpConstructor, { log, ...options });
  // The peer hand-over of network-io.ts: the listener tells, onConnect takes.
  let peer: string | undefined;
  const takePeer = () => {
    const p = peer;
    peer = undefined;
    return p;
  };
  const io = { Server: HTTPServer, Listener: guardListener(Recording as unknown as ListenerConstructor, Socket, { log, accepted: (address) => (peer = address) }), takePeer };
  return { io, port: () => made.at(-1)!.listening() };
}

test("SDK server: each request carries its own client's address (the listener's peer, taken in onConnect), several clients at once", skip, async () => {
  const seen: string[] = [];
  const sdkIO = await sdkServerIO();
  const portal = new PortalServer((request) => (seen.push(`${request.path} ${request.remoteAddress}`), { status: 200, headers: [], body: "ok" }), sdkIO.io, { port: 0, clock: new FakeClock(), log });
  closers.push(() => portal.close());
  const port = await sdkIO.port();
  const from = (address: string) =>
    new Promise<void>((resolve) => {
      const socket = net.connect({ port, host: "127.0.0.1", localAddress: address }, () => socket.write(`GET /${address} HTTP/1.1\r\nHost: x\r\n\r\n`));
      socket.on("data", () => undefined);
      socket.on("close", () => resolve());
      socket.on("error", () => resolve());
    });
  await Promise.all(["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"].map(from));
  assert.deepEqual(seen.sort(), ["/127.0.0.1 127.0.0.1", "/127.0.0.2 127.0.0.2", "/127.0.0.3 127.0.0.3", "/127.0.0.4 127.0.0.4"]);
  assert.deepEqual(escaped, []);
});

function raw(port: number, request: string | Buffer, { resetAfterMs }: { resetAfterMs?: number } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(request);
      if (resetAfterMs !== undefined) setTimeout(() => (socket.resetAndDestroy(), resolve("")), resetAfterMs);
    });
    const parts: Buffer[] = [];
    socket.on("data", (d) => parts.push(d));
    socket.on("close", () => resolve(Buffer.concat(parts).toString("latin1")));
    socket.on("error", () => undefined);
  });
}

test("SDK server: pages, form posts, 413 at once, HTTP/1.0, and a client that vanishes mid-answer", skip, async () => {
  const page = "<p>Firmware ✓ fw-é.bin</p>".repeat(400);
  const seen: PortalRequest[] = [];
  const sdkIO = await sdkServerIO();
  const portal = new PortalServer(
    (request) => {
      seen.push(request);
      return request.path === "/" ? { status: 200, headers: [["Content-Type", "text/html; charset=utf-8"]], body: page } : { status: 303, headers: [["Location", "/progress"]], body: "" };
    },
    sdkIO.io,
    { port: 0, clock: new FakeClock(), log, maxBody: 2048 },
  );
  closers.push(() => portal.close());
  const port = await sdkIO.port();

  const home = await fetch(`http://127.0.0.1:${port}/?x=1`);
  assert.equal(home.status, 200);
  assert.equal(home.headers.get("connection"), "close");
  assert.equal(await home.text(), page);
  assert.equal(seen[0].query, "x=1");

  const post = await fetch(`http://127.0.0.1:${port}/update/settings`, { method: "POST", body: "host=192.168.1.5&port=8000&path=.", headers: { "content-type": "application/x-www-form-urlencoded" }, redirect: "manual" });
  assert.equal(post.status, 303);
  assert.equal(seen[1].body, "host=192.168.1.5&port=8000&path=.");

  const started = Date.now();
  const big = await raw(port, `POST /wifi/connect HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n`);
  assert.match(big, /^HTTP\/1\.1 413 /);
  assert.ok(Date.now() - started < 1000, "answered without waiting for the body");

  const old = await raw(port, "GET / HTTP/1.0\r\nUser-Agent: CaptiveNetworkSupport\r\n\r\n");
  assert.match(old, /^HTTP\/1\.1 200 /, "httpserver.js alone drops an HTTP/1.0 request");

  for (let i = 0; i < 10; i++) await raw(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", { resetAfterMs: i % 2 ? 0 : 3 });
  const after = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(after.status, 200, "still serving");
  assert.deepEqual(escaped, []);
});

test("SDK server: a streamed body reaches the sink in pieces of at most 4096, whole, then end() answers", skip, async () => {
  const sdkIO = await sdkServerIO();
  const pieces: number[] = [];
  const received: Buffer[] = [];
  const aborted: string[] = [];
  const sink: PortalBodySink = {
    write: (chunk) => {
      pieces.push(chunk.byteLength);
      received.push(Buffer.from(chunk));
    },
    end: () => ({ status: 202, headers: [["content-type", "application/json"]], body: '{"ok":true}' }),
    abort: (reason) => aborted.push(reason),
  };
  const portal = new PortalServer(() => ({ status: 404, headers: [], body: "" }), sdkIO.io, {
    port: 0,
    clock: new FakeClock(),
    log,
    bodyRouter: (head) => (head.path === "/update/upload" ? { stream: sink } : undefined),
  });
  closers.push(() => portal.close());
  const port = await sdkIO.port();
  const answer = await fetch(`http://127.0.0.1:${port}/update/upload`, { method: "POST", body: image, headers: { "content-type": "application/octet-stream" } });
  assert.equal(answer.status, 202);
  assert.equal(await answer.text(), '{"ok":true}');
  assert.ok(Buffer.concat(received).equals(image));
  assert.ok(Math.max(...pieces) <= 4096);
  assert.deepEqual(aborted, []);
});

test("SDK server: a sink that gives up on a silent body answers 408 at once and the connection closes", skip, async () => {
  const sdkIO = await sdkServerIO();
  const aborted: string[] = [];
  let received = 0;
  const sink: PortalBodySink = {
    write: (chunk) => void (received += chunk.byteLength),
    end: () => ({ status: 202, headers: [], body: "" }),
    abort: (reason) => aborted.push(reason),
    // the upload session's stall timer, shortened
    watch: (answer) => setTimeout(() => answer({ status: 408, headers: [["content-type", "application/json"]], body: '{"ok":false,"error":"stalled"}' }), 150),
  };
  const portal = new PortalServer(() => ({ status: 404, headers: [], body: "" }), sdkIO.io, { port: 0, clock: new FakeClock(), log, bodyRouter: () => ({ stream: sink }) });
  closers.push(() => portal.close());
  const port = await sdkIO.port();
  const silent = raw(port, Buffer.concat([Buffer.from("POST /update/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"), Buffer.alloc(5000)]));
  const answer = await Promise.race([silent, new Promise<string>((resolve) => setTimeout(() => resolve("(no answer, connection open after 3 s)"), 3000))]);
  assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  assert.ok(answer.endsWith('\r\n\r\n{"ok":false,"error":"stalled"}'), answer);
  assert.equal(received, 5000);
  assert.deepEqual(aborted, [], "it gave up itself: no abort");
  assert.equal(portal.active, 0);
  assert.deepEqual(escaped, []);
});

// Every status the portal sends (modules/core/portal, engine/updater.ts upload refusals, the
// server adapters' 400/413/500, 408 for a silent upload), found with grep; Node's wording.
const PORTAL_STATUSES = [200, 202, 302, 303, 400, 401, 403, 404, 405, 408, 409, 411, 413, 415, 422, 500, 501];

test("SDK server: every status the portal sends goes out with its reason phrase (httpserver.js alone says '422 OK')", skip, async () => {
  const sdkIO = await sdkServerIO();
  const portal = new PortalServer((request) => ({ status: Number(request.path.slice(1)), headers: [], body: "x" }), sdkIO.io, { port: 0, clock: new FakeClock(), log });
  closers.push(() => portal.close());
  const port = await sdkIO.port();
  for (const status of PORTAL_STATUSES) {
    const answer = await raw(port, `GET /${status} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal(answer.slice(0, answer.indexOf("\r\n")), `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}`);
  }
  assert.deepEqual(escaped, []);
});

test("SDK server: a port taken at start is retried until free", skip, async () => {
  const clock = new FakeClock();
  const blocker = net.createServer();
  const port = await listen(blocker);
  LinListener.taken.add(port);
  const sdkIO = await sdkServerIO({});
  lines.length = 0;
  const portal = new PortalServer(() => ({ status: 200, headers: [], body: "up" }), sdkIO.io, { port, clock, log, retryMs: 5000 });
  closers.push(() => portal.close());
  assert.equal(portal.listening, false);
  assert.match(lines[0], new RegExp(`cannot listen on port ${port} \\(bind socket failed`));
  blocker.close();
  LinListener.taken.delete(port);
  await new Promise((resolve) => setTimeout(resolve, 20));
  clock.advance(5000);
  assert.equal(portal.listening, true);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const r = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(await r.text(), "up");
});

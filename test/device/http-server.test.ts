// The portal server adapter (modules/moddable/http-server.ts) driven the way the SDK 8.2.3
// ECMA-419 server, examples/io/listener/httpserver/httpserver.js, calls a connection's
// handlers (each with `this` = the connection):
// - HTTPServer constructor: `new options.io({port, target, onReadable})` (line 413); the
//   lin listener throws "bind socket failed" when the port is taken.
// - onConnect(connection) (420); the adapter calls connection.accept(handlers) (54).
// - onRequest({method, path, headers}) after the blank line (213), path with the query,
//   header names lowercased (195); without a body, #reply at once (224): onResponse(response).
// - with a body: onReadable(min(readable, remaining)) (250) per socket event; read(count)
//   returns an ArrayBuffer (98); when remaining reaches 0, #reply from a Timer (110).
// - respond({status, headers}) (372) writes the status line and headers from the writable
//   count; then, with a Content-Length > 0, onWritable(min(writable, remaining)) (329) until
//   write() has sent Content-Length bytes (145; "would block" if more than writable), then
//   #done: onDone (352) and close. Content-Length 0: #done right after the headers (316).
// - a socket error: #onError (343): close, then onError(message).
// An answer given inside onRequest, before the body, returns to #onReadable, which stops
// when the connection is closed (218): the answer is written at once, within the window.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PortalServer, type ConnectionHandlers, type PortalServerOptions, type ServerConnection } from "../../modules/moddable/http-server";
import type { PortalBodyRouter, PortalBodySink, PortalRequest, PortalResponse } from "../../modules/core/ports";
import { FakeClock } from "../fakes/clock";

/** One connection as httpserver.js runs it, with a socket send window of `window` bytes. */
class ScriptedConnection implements ServerConnection {
  handlers: ConnectionHandlers | undefined;
  status = 0;
  responseHeaders = new Map<string, string>();
  body: number[] = [];
  reads: number[] = [];
  done = false;
  closed = false;
  private pending = new Uint8Array(0);
  private remaining: number | undefined;
  private writable: number;
  private hasBody = false;
  private responding = false;

  constructor(readonly window = 1536) {
    this.writable = window;
  }

  accept(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
  }

  // --- the request side ---
  request(method: string, path: string, headers: Array<[string, string]>): void {
    const map = new Map(headers.map(([n, v]) => [n.toLowerCase(), v]));
    const length = map.get("content-length");
    this.remaining = length === undefined ? undefined : parseInt(length, 10);
    this.hasBody = /chunked/i.test(map.get("transfer-encoding") ?? "") || !!this.remaining;
    this.handlers!.onRequest.call(this, { method, path, headers: map });
    if (this.closed) return; // line 218
    if (!this.hasBody) this.reply();
  }
  /** Body bytes arrive in one socket event. */
  arrive(bytes: Uint8Array): void {
    if (this.closed || this.responding) return;
    const next = new Uint8Array(this.pending.length + bytes.length);
    next.set(this.pending);
    next.set(bytes, this.pending.length);
    this.pending = next;
    const offer = this.remaining === undefined ? this.pending.length : Math.min(this.pending.length, this.remaining);
    this.handlers!.onReadable.call(this, offer);
  }
  /** End of a chunked body (the trailer line). */
  endChunked(): void {
    if (!this.closed && !this.responding) this.reply();
  }
  read(count: number): ArrayBuffer | undefined {
    const n = Math.min(count, this.pending.length, this.remaining ?? Infinity);
    if (!n) return undefined;
    this.reads.push(n);
    const out = this.pending.slice(0, n);
    this.pending = this.pending.slice(n);
    if (this.remaining !== undefined) {
      this.remaining -= n;
      if (this.remaining === 0) queueMicrotask(() => this.reply()); // Timer.set(() => this.#reply())
    }
    return out.buffer;
  }
  private reply(): void {
    if (this.closed || this.responding) return;
    this.handlers!.onResponse.call(this, { headers: new Map(), status: 200 });
  }

  // --- the response side ---
  respond(response: { status: number; headers: Map<string, string> }): void {
    this.responding = true;
    this.status = response.status;
    this.responseHeaders = response.headers;
    const length = response.headers.get("content-length");
    this.remaining = length === undefined ? undefined : parseInt(length, 10);
    let head = `HTTP/1.1 ${response.status} X\r\n\r\n`.length;
    for (const [n, v] of response.headers) head += `${n}: ${v}\r\n`.length;
    this.writable = Math.max(0, this.writable - head);
    this.pump();
  }
  /** The socket's buffer drained: onWritable again. */
  drain(): void {
    if (this.closed || !this.responding) return;
    this.writable = this.window;
    this.pump();
  }
  private pump(): void {
    if (this.remaining === 0) return this.finish();
    if (this.writable > 0 && !this.done) this.handlers!.onWritable.call(this, Math.min(this.writable, this.remaining ?? this.writable));
  }
  write(data: Uint8Array): number {
    assert.ok(data.byteLength <= this.writable, "would block"); // line 145
    assert.ok(this.remaining !== undefined && data.byteLength <= this.remaining, "more than the Content-Length");
    this.body.push(...data);
    this.writable -= data.byteLength;
    this.remaining! -= data.byteLength;
    if (this.remaining === 0) {
      this.finish();
      this.writable = 0;
    }
    return this.writable;
  }
  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.handlers!.onDone.call(this);
    this.close();
  }
  /** A socket error: #onError closes, then calls onError. */
  fail(): void {
    this.close();
    this.handlers!.onError.call(this, "connection lost");
  }
  close(): void {
    this.closed = true;
  }
  get text(): string {
    return Buffer.from(this.body).toString("utf8");
  }
}

class ScriptedServer {
  static made: ScriptedServer[] = [];
  static refuse = 0;
  closed = false;
  constructor(readonly options: { io: unknown; port: number; onConnect: (connection: ServerConnection) => void }) {
    if (ScriptedServer.refuse > 0) {
      ScriptedServer.refuse--;
      throw new Error("bind socket failed (in Listener)"); // modules/io/socket/lin/tcp.c
    }
    ScriptedServer.made.push(this);
  }
  close(): void {
    this.closed = true;
  }
  connect(window?: number): ScriptedConnection {
    const connection = new ScriptedConnection(window);
    this.options.onConnect(connection);
    return connection;
  }
}

const Listener = class GuardedListener {};
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function setup(handler: (request: PortalRequest) => PortalResponse, options: Partial<PortalServerOptions> = {}) {
  ScriptedServer.made = [];
  const log: string[] = [];
  const clock = new FakeClock();
  const portal = new PortalServer(handler, { Server: ScriptedServer, Listener }, { port: 8080, clock, log: (line) => log.push(line), ...options });
  return { portal, server: () => ScriptedServer.made.at(-1)!, log, clock };
}

const ok = (body = "ok"): PortalResponse => ({ status: 200, headers: [["Content-Type", "text/plain"]], body });

test("listens on the configured port with our listener class; close() closes it and every open connection", () => {
  const { portal, server, log } = setup(() => ok());
  assert.equal(server().options.port, 8080);
  assert.equal(server().options.io, Listener);
  assert.equal(portal.listening, true);
  assert.deepEqual(log, ["portal on port 8080\n"]);
  const c = server().connect();
  c.request("GET", "/", []);
  const idle = server().connect();
  assert.equal(portal.active, 1, "the first finished, the second has sent nothing yet");
  portal.close();
  assert.equal(server().closed, true);
  assert.equal(idle.closed, true);
  assert.equal(portal.active, 0);
});

test("a GET reaches the handler split into path and query; the answer has UTF-8 Content-Length and connection: close", () => {
  const seen: PortalRequest[] = [];
  const page = "<p>Firmware ✓ « fw-é.bin » 固件</p>".repeat(120);
  const { portal, server } = setup((request) => {
    seen.push(request);
    return { status: 200, headers: [["Content-Type", "text/html; charset=utf-8"], ["Content-Length", "1"], ["Cache-Control", "no-store"]], body: page };
  });
  const c = server().connect(700);
  c.request("get", "/update?cached=1&from=20", [["Host", "192.168.4.1"], ["Authorization", "Basic YWRtaW46cHc="]]);
  assert.deepEqual({ ...seen[0], headers: [...seen[0].headers] }, { method: "GET", path: "/update", query: "cached=1&from=20", headers: [["host", "192.168.4.1"], ["authorization", "Basic YWRtaW46cHc="]], body: "" });
  const expected = Buffer.from(page, "utf8");
  assert.ok(expected.byteLength > page.length, "multi-byte characters");
  assert.equal(c.status, 200);
  assert.deepEqual([...c.responseHeaders], [["content-type", "text/html; charset=utf-8"], ["cache-control", "no-store"], ["content-length", String(expected.byteLength)], ["connection", "close"]]);
  while (!c.done) c.drain();
  assert.deepEqual(Buffer.from(c.body), expected);
  assert.equal(portal.active, 0, "forgotten after onDone");
});

test("a form post arriving in pieces is collected and decoded once, a character split across pieces included", async () => {
  const seen: PortalRequest[] = [];
  const { server } = setup((request) => {
    seen.push(request);
    return { status: 303, headers: [["Location", "/progress"]], body: "" };
  });
  const form = Buffer.from("ssid=caf%C3%A9&password=caf\u00e9\u00e9", "utf8");
  const c = server().connect();
  c.request("POST", "/wifi/connect", [["Content-Length", String(form.length)], ["Content-Type", "application/x-www-form-urlencoded"]]);
  c.arrive(form.subarray(0, form.length - 3));
  c.arrive(form.subarray(form.length - 3));
  assert.equal(seen.length, 0, "the handler runs at onResponse, which #reply calls from a Timer after the last read");
  await settle();
  assert.equal(seen[0].body, "ssid=caf%C3%A9&password=caf\u00e9\u00e9");
  assert.equal(c.status, 303);
  assert.equal(c.responseHeaders.get("content-length"), "0");
  assert.equal(c.done, true);
});

test("the listener's peer address goes on the request as remoteAddress, taken once per connection; without one the request has none", () => {
  const seen: PortalRequest[] = [];
  const peers = ["192.168.4.2", undefined];
  ScriptedServer.made = [];
  const portal = new PortalServer((request) => (seen.push(request), ok()), { Server: ScriptedServer, Listener, takePeer: () => peers.shift() }, { port: 8080, clock: new FakeClock() });
  const server = ScriptedServer.made.at(-1)!;
  const first = server.connect();
  const second = server.connect();
  first.request("GET", "/", []);
  second.request("GET", "/", []);
  assert.equal(seen[0].remoteAddress, "192.168.4.2");
  assert.equal("remoteAddress" in seen[1], false);
  assert.equal(peers.length, 0, "taken at each connect");
  portal.close();
});

test("a Content-Length over maxBody is answered 413 inside onRequest, nothing read, the handler never called", () => {
  let calls = 0;
  const { server } = setup(() => {
    calls++;
    return ok();
  }, { maxBody: 2048 });
  const c = server().connect();
  c.request("POST", "/wifi/connect", [["content-length", "2000000"]]);
  assert.equal(c.status, 413);
  assert.equal(c.text, "Request body too large");
  assert.equal(c.done, true, "written and closed within the first window");
  assert.deepEqual(c.reads, []);
  c.arrive(new Uint8Array(1536));
  assert.equal(calls, 0);
});

test("a chunked form body growing past maxBody is answered 413 as soon as it does; a small one is served", async () => {
  const seen: string[] = [];
  const { server } = setup((request) => {
    seen.push(request.body);
    return ok();
  }, { maxBody: 100 });
  const big = server().connect();
  big.request("POST", "/update/settings", [["transfer-encoding", "chunked"]]);
  big.arrive(new Uint8Array(60).fill(0x61));
  assert.equal(big.status, 0);
  big.arrive(new Uint8Array(60).fill(0x61));
  assert.equal(big.status, 413);
  const small = server().connect();
  small.request("POST", "/update/settings", [["Transfer-Encoding", "chunked"]]);
  small.arrive(Buffer.from("host=a&port=1"));
  small.endChunked();
  assert.deepEqual(seen, ["host=a&port=1"]);
  assert.equal(small.status, 200);
});

test("an unreadable Content-Length gets 400", () => {
  const { server } = setup(() => ok());
  const c = server().connect();
  c.request("POST", "/update", [["content-length", "12abc"]]);
  assert.equal(c.status, 400);
});

test("a throwing handler becomes a logged 500; HEAD answers carry no body", () => {
  const { server, log } = setup((request) => {
    if (request.path === "/boom") throw new Error("store full");
    return { status: 200, headers: [], body: "" };
  });
  const c = server().connect();
  c.request("GET", "/boom", []);
  while (!c.done) c.drain();
  assert.equal(c.status, 500);
  assert.equal(c.text, "Internal error");
  assert.ok(log.some((line) => line.includes("GET /boom failed: store full")));
  const head = server().connect();
  head.request("HEAD", "/", []);
  assert.equal(head.responseHeaders.get("content-length"), "0");
  assert.equal(head.done, true);
});

test("a client gone mid-body: forgotten, the handler never called", () => {
  let calls = 0;
  const { portal, server } = setup(() => {
    calls++;
    return ok();
  });
  const c = server().connect();
  c.request("POST", "/wifi/connect", [["content-length", "100"]]);
  c.arrive(new Uint8Array(40));
  c.fail();
  assert.equal(portal.active, 0);
  assert.equal(calls, 0);
});

test("port in use: logged once, retried every retryMs, then listening; the app goes on meanwhile", () => {
  ScriptedServer.refuse = 3;
  const { portal, server, log, clock } = setup(() => ok(), { retryMs: 5000 });
  assert.equal(portal.listening, false);
  assert.deepEqual(log, ["portal: cannot listen on port 8080 (bind socket failed (in Listener)); retrying every 5 s\n"]);
  clock.advance(5000);
  clock.advance(5000);
  assert.equal(portal.listening, false);
  assert.equal(log.length, 1, "not one line per attempt");
  clock.advance(5000);
  assert.equal(portal.listening, true);
  assert.equal(log[1], "portal: port 8080 is free again; listening (after 3 attempts)\n");
  const c = server().connect();
  c.request("GET", "/", []);
  assert.equal(c.status, 200);
});

test("with a probe, a port in use is never bound: no attempt until the probe says free", () => {
  ScriptedServer.refuse = 0;
  const answers = [true, true, false];
  const asked: number[] = [];
  const { portal, log, clock } = setup(() => ok(), {
    retryMs: 1000,
    probe: (port, done) => {
      asked.push(port);
      done(answers.shift()!);
    },
  });
  assert.equal(ScriptedServer.made.length, 0);
  assert.match(log[0], /cannot listen on port 8080 \(the port is in use\)/);
  clock.advance(1000);
  assert.equal(ScriptedServer.made.length, 0);
  clock.advance(1000);
  assert.equal(ScriptedServer.made.length, 1);
  assert.equal(portal.listening, true);
  assert.deepEqual(asked, [8080, 8080, 8080]);
});

test("close() while waiting for the port stops the retries", () => {
  ScriptedServer.refuse = 100;
  const { portal, clock } = setup(() => ok(), { retryMs: 1000 });
  portal.close();
  const before = ScriptedServer.refuse;
  clock.advance(10000);
  assert.equal(ScriptedServer.refuse, before, "no attempt after close");
  assert.equal(clock.pending, 0);
  ScriptedServer.refuse = 0;
});

test("a connection idle for idleMs is closed; one with traffic is not", () => {
  const { portal, server, clock, log } = setup(() => ok(), { idleMs: 30000 });
  const idle = server().connect();
  const busy = server().connect();
  busy.request("POST", "/update/settings", [["content-length", "100"]]);
  clock.advance(20000);
  busy.arrive(new Uint8Array(10));
  clock.advance(15000);
  assert.equal(idle.closed, true);
  assert.equal(busy.closed, false);
  assert.equal(portal.active, 1);
  assert.ok(log.some((line) => line.includes("connection idle for 30 s")));
  clock.advance(30000);
  assert.equal(busy.closed, true);
  assert.equal(portal.active, 0);
  assert.equal(clock.pending, 0, "the sweep stops with no connection left");
});

// The body router: how issue 11's `POST /update/upload` plugs in.
class RecordingSink implements PortalBodySink {
  pieces: number[] = [];
  bytes: number[] = [];
  aborted: string[] = [];
  ended = 0;
  constructor(private readonly failAt = -1) {}
  write(chunk: Uint8Array): void {
    if (this.pieces.length === this.failAt) throw new Error("flash write failed");
    this.pieces.push(chunk.byteLength);
    this.bytes.push(...chunk);
  }
  end(): PortalResponse {
    this.ended++;
    return { status: 202, headers: [["content-type", "application/json"]], body: '{"ok":true}' };
  }
  abort(reason: string): void {
    this.aborted.push(reason);
  }
}

function routed(sink: () => RecordingSink | PortalResponse) {
  const heads: PortalRequest[] = [];
  let handlerCalls = 0;
  const bodyRouter: PortalBodyRouter = (head) => {
    heads.push(head);
    if (head.path !== "/update/upload") return undefined;
    const plan = sink();
    return plan instanceof RecordingSink ? { stream: plan } : { respond: plan };
  };
  const rig = setup(() => {
    handlerCalls++;
    return ok();
  }, { bodyRouter, maxBody: 2048 });
  return { ...rig, heads, handlerCalls: () => handlerCalls };
}

test("stream: a body larger than maxBody goes to the sink in pieces of at most 4096, in order; end() answers", async () => {
  const sink = new RecordingSink();
  const { server, heads, handlerCalls } = routed(() => sink);
  const image = Uint8Array.from({ length: 20000 }, (_, i) => (i * 13) & 0xff);
  const c = server().connect();
  c.request("POST", "/update/upload", [["content-length", "20000"], ["x-MD5", "0123456789abcdef0123456789abcdef"]]);
  assert.equal(heads[0].headers.get("x-md5"), "0123456789abcdef0123456789abcdef", "the head alone decides");
  c.arrive(image.subarray(0, 10000)); // lwIP can offer more than 4 KB at once
  for (let at = 10000; at < 20000; at += 1536) c.arrive(image.subarray(at, Math.min(at + 1536, 20000))); // lin: 1536 a poll
  await settle();
  assert.deepEqual(sink.pieces.slice(0, 3), [4096, 4096, 1808]);
  assert.ok(sink.pieces.every((n) => n <= 4096));
  assert.deepEqual(Buffer.from(sink.bytes), Buffer.from(image));
  assert.equal(sink.ended, 1);
  assert.equal(c.status, 202);
  while (!c.done) c.drain();
  assert.equal(c.text, '{"ok":true}');
  assert.equal(handlerCalls(), 0, "the form handler is not involved");
  assert.deepEqual(sink.aborted, []);
});

test("stream: a refusal from the head (401, 409, 413) is answered at once, nothing read", () => {
  const { server } = routed(() => ({ status: 409, headers: [["content-type", "text/plain"]], body: "An update is already running" }));
  const c = server().connect();
  c.request("POST", "/update/upload", [["content-length", "1500000"]]);
  assert.equal(c.status, 409);
  assert.equal(c.done, true);
  assert.deepEqual(c.reads, []);
});

test("stream: the client vanishes mid-body -> sink.abort('connection lost'), never end()", () => {
  const sink = new RecordingSink();
  const { portal, server } = routed(() => sink);
  const c = server().connect();
  c.request("POST", "/update/upload", [["content-length", "20000"]]);
  c.arrive(new Uint8Array(3000));
  c.fail();
  assert.deepEqual(sink.aborted, ["connection lost"]);
  assert.equal(sink.ended, 0);
  assert.equal(portal.active, 0);
});

test("stream: a client that stops sending is aborted as idle", () => {
  const sink = new RecordingSink();
  const { server, clock } = routed(() => sink);
  const c = server().connect();
  c.request("POST", "/update/upload", [["content-length", "20000"]]);
  c.arrive(new Uint8Array(3000));
  clock.advance(60000);
  assert.deepEqual(sink.aborted, ["idle"]);
  assert.equal(c.closed, true);
});

test("stream: a sink that throws is aborted and the client gets 500 at once", () => {
  const sink = new RecordingSink(1);
  const { server, log } = routed(() => sink);
  const c = server().connect();
  c.request("POST", "/update/upload", [["content-length", "20000"]]);
  c.arrive(new Uint8Array(10000));
  assert.deepEqual(sink.pieces, [4096]);
  assert.deepEqual(sink.aborted, ["flash write failed"]);
  assert.equal(c.status, 500);
  assert.ok(log.some((line) => line.includes("body sink failed: flash write failed")));
});

test("stream: other paths still get the ordinary form handling", () => {
  const { server, heads, handlerCalls } = routed(() => new RecordingSink());
  const c = server().connect();
  c.request("GET", "/update", []);
  assert.equal(heads.length, 1);
  assert.equal(handlerCalls(), 1);
  assert.equal(c.status, 200);
});

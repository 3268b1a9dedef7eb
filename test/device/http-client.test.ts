// The HttpClient adapter (modules/moddable/http-client.ts) driven the way the SDK 8.2.3
// ECMA-419 client, examples/io/tcp/httpclient/httpclient.js, calls back:
// - constructor: `new options.dns.io(options.dns).resolve({host, onResolved, onError})`
//   (line 156); onResolved creates `new options.socket.io({...options.socket, address,
//   host, port, onReadable, onWritable, onError})` (162).
// - onHeaders.call(request, status, headers, statusText) once the blank line arrives
//   (300), header names lowercased (217); a 204/205 or Content-Length 0 then calls
//   #done at once (292, 307): onDone(null).
// - onReadable.call(request, n) with n = min(socket bytes, remaining) (331); the request
//   reads with read(buffer) -> count (65); when remaining reaches 0, #done runs from a
//   Timer (78): onDone.call(request, null) (451).
// - any socket error, DNS failure or close: #error (423): if the body was complete but
//   #done's timer had not run, onDone(null) first (424); else current?.onDone(new Error)
//   (434), every queued request's onDone(new Error) (438), then the client's onError(e)
//   (440), then close(). The Error has no message.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CHUNK, GOT, ModdableHttpClient, type Client, type ClientOptions, type ClientRequest, type ClientRequestOptions } from "../../modules/moddable/http-client";
import { netResolver, type ResolveFunction } from "../../modules/moddable/net-resolver";
import type { HttpFailure, HttpHandlers, HttpResponseHead } from "../../modules/core/ports";

/** A client that records what the adapter asked and lets the test call back as httpclient.js does. */
class ScriptedClient implements Client {
  static made: ScriptedClient[] = [];
  request_: ClientRequestOptions | undefined;
  closed = 0;
  reads: number[] = [];
  private pending = new Uint8Array(0);
  readonly handle: ClientRequest;

  constructor(readonly options: ClientOptions) {
    ScriptedClient.made.push(this);
    this.handle = {
      // HTTPClient.#Request.read(buffer): at most what is available, copied in, count returned
      read: (buffer: Uint8Array): number | undefined => {
        const n = Math.min(buffer.byteLength, this.pending.length);
        if (n === 0) return undefined;
        buffer.set(this.pending.subarray(0, n));
        this.pending = this.pending.slice(n);
        this.reads.push(n);
        return n;
      },
    };
  }

  request(options: ClientRequestOptions): ClientRequest {
    this.request_ = options;
    return this.handle;
  }

  close(): void {
    this.closed++;
  }

  // --- httpclient.js call-backs ---
  headers(status: number, headers: Array<[string, string]>, statusText = "OK"): void {
    this.request_!.onHeaders.call(this.handle, status, new Map(headers.map(([n, v]) => [n.toLowerCase(), v])), statusText);
  }
  /** Bytes arrive; the client offers them with onReadable(count). */
  readable(bytes: Uint8Array): void {
    const next = new Uint8Array(this.pending.length + bytes.length);
    next.set(this.pending);
    next.set(bytes, this.pending.length);
    this.pending = next;
    this.request_!.onReadable.call(this.handle, this.pending.length);
  }
  done(error: Error | null): void {
    this.request_!.onDone.call(this.handle, error);
  }
  /** #error (line 423): the request's onDone(new Error), then the client's onError. */
  error(e?: unknown): void {
    this.done(new Error());
    this.options.onError(e);
  }
}

function record() {
  const events: string[] = [];
  const data: Uint8Array[] = [];
  let head: HttpResponseHead | undefined;
  const handlers: HttpHandlers = {
    onHead: (h) => {
      head = h;
      events.push(`head ${h.status}`);
    },
    onData: (chunk) => {
      data.push(chunk.slice());
      events.push(`data ${chunk.byteLength}`);
    },
    onEnd: () => events.push("end"),
    onError: (reason, failure) => {
      events.push(`error ${reason}`);
      failures.push(failure);
    },
  };
  const failures: HttpFailure[] = [];
  return { handlers, events, data, failures, head: () => head };
}

const io = { Client: ScriptedClient, Socket: class GuardedTcp {}, Resolver: class Resolver {} };
const deferred: Array<() => void> = [];
const logged: string[] = [];

function setup() {
  ScriptedClient.made = [];
  const client = new ModdableHttpClient(io, { log: (line) => logged.push(line), defer: (callback) => deferred.push(callback) });
  return { client, made: ScriptedClient.made };
}

const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

test("one client per request: host:port for the Host header and the resolver, our socket and resolver classes, connection: close", () => {
  const { client, made } = setup();
  client.request({ host: "192.168.4.2", port: 8000, path: "/_catalog?op=list&path=.", headers: [["User-Agent", "ESP32-http-Update"]] }, record().handlers);
  client.request({ host: "updates.local", port: 80, path: "/fw.bin", method: "HEAD" }, record().handlers);
  assert.equal(made.length, 2);
  const [first, second] = made;
  assert.equal(first.options.host, "192.168.4.2:8000", "httpclient.js writes `host: <options.host>`");
  assert.equal(first.options.port, 8000);
  assert.equal(first.options.socket.io, io.Socket);
  assert.equal(first.options.dns.io, io.Resolver);
  assert.equal(first.request_?.method, "GET");
  assert.equal(first.request_?.path, "/_catalog?op=list&path=.");
  assert.deepEqual([...first.request_!.headers], [["User-Agent", "ESP32-http-Update"], ["connection", "close"]]);
  assert.equal(second.options.host, "updates.local", "no :80 in the Host header");
  assert.equal(second.request_?.method, "HEAD");
});

test("a 10000-byte body offered at once is read into pieces of at most 4096 and handed on in order; onEnd on onDone(null)", () => {
  const { client, made } = setup();
  const r = record();
  client.request({ host: "h", port: 8000, path: "/fw.bin" }, r.handlers);
  const c = made[0];
  c.headers(200, [["Content-Length", "10000"], ["x-MD5", "0123456789abcdef0123456789abcdef"]]);
  const body = pattern(10000);
  c.readable(body);
  assert.deepEqual(r.events, ["head 200", "data 4096", "data 4096", "data 1808"], "onEnd waits for the client's #done");
  c.done(null);
  assert.equal(CHUNK, 4096);
  assert.deepEqual(c.reads, [4096, 4096, 1808]);
  assert.deepEqual(r.events.at(-1), "end");
  assert.deepEqual(Buffer.concat(r.data), Buffer.from(body));
  assert.equal(r.head()?.headers.get("x-md5"), "0123456789abcdef0123456789abcdef");
  assert.equal(c.closed, 1, "the client is closed when the exchange ends");
});

test("lin-sized pieces (1536 bytes a poll) are handed on as they come: nothing is read ahead of onData", () => {
  const { client, made } = setup();
  let inside = false;
  const sizes: number[] = [];
  client.request({ host: "h", port: 8000, path: "/fw.bin" }, {
    onHead: () => undefined,
    onData: (chunk) => {
      assert.equal(inside, false, "onData is never re-entered");
      inside = true;
      sizes.push(chunk.byteLength);
      inside = false;
    },
    onEnd: () => undefined,
    onError: () => undefined,
  });
  const c = made[0];
  c.headers(200, [["content-length", "4000"]]);
  for (const n of [1536, 1536, 928]) c.readable(pattern(n));
  assert.deepEqual(sizes, [1536, 1536, 928]);
  assert.deepEqual(c.reads, [1536, 1536, 928]);
});

test("the chunk handed to onData is a view into one adapter buffer: valid only during the call", () => {
  const { client, made } = setup();
  const views: Uint8Array[] = [];
  client.request({ host: "h", port: 8000, path: "/fw.bin" }, { onHead: () => undefined, onData: (chunk) => views.push(chunk), onEnd: () => undefined, onError: () => undefined });
  made[0].headers(200, [["content-length", "5000"]]);
  made[0].readable(pattern(5000));
  assert.equal(views[0].buffer, views[1].buffer, "no allocation per chunk");
});

test("connect refused: onDone(new Error) before any head, then the client's onError: one onError 'cannot connect'", () => {
  const { client, made } = setup();
  const r = record();
  client.request({ host: "127.0.0.1", port: 8001, path: "/_catalog?op=list&path=." }, r.handlers);
  made[0].error(); // lin tcp.c: refused connect -> onError; HTTPClient #error
  assert.deepEqual(r.events, ["error cannot connect"]);
  assert.ok(made[0].closed >= 1);
  assert.ok(logged.some((l) => l.includes("GET http://127.0.0.1:8001/_catalog?op=list&path=.: cannot connect")));
});

/** What the SDK's socket would do through the guard: the request line written (a number back once connected), then the answer read byte by byte. */
function peerSends(c: ScriptedClient, text: string, { connected = true } = {}): void {
  c.options.socket.watch.wrote?.(connected ? 1400 : undefined); // lin tcp.c: write() failed -> no result
  for (const ch of text) c.options.socket.watch.read?.(ch.charCodeAt(0));
}

test("the failure's cause: refused (no write went through), lost (connected, nothing came), not HTTP (bytes but no head, kept up to 64)", () => {
  const { client, made } = setup();
  const refused = record();
  client.request({ host: "127.0.0.1", port: 18310, path: "/" }, refused.handlers);
  peerSends(made[0], "", { connected: false });
  made[0].error();
  assert.deepEqual(refused.failures, [{ kind: "refused" }]);

  const lost = record();
  client.request({ host: "127.0.0.1", port: 18310, path: "/" }, lost.handlers);
  peerSends(made[1], "");
  made[1].error();
  assert.deepEqual(lost.failures, [{ kind: "lost" }]);

  const ssh = record();
  client.request({ host: "127.0.0.1", port: 22, path: "/" }, ssh.handlers);
  const banner = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n" + "k".repeat(100);
  peerSends(made[2], banner); // httpclient.js: no second space -> #error("bad response")
  made[2].error();
  assert.deepEqual(ssh.failures, [{ kind: "not-http", got: banner.slice(0, GOT) }]);
  assert.deepEqual(ssh.events, ["error not HTTP (got 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3')"]);

  const cut = record();
  client.request({ host: "127.0.0.1", port: 8000, path: "/" }, cut.handlers);
  peerSends(made[3], "HTTP/1.1 200 OK\r\ncontent-le"); // a real head, cut: a drop, not a foreign protocol
  made[3].error();
  assert.deepEqual(cut.failures, [{ kind: "lost" }]);
});

test("a head whose status is not 100-599 (httpclient.js parseInt()s junk into NaN) is not HTTP: onError with what came, never onHead", () => {
  const { client, made } = setup();
  for (const [status, line] of [
    [NaN, "hello there world\r\n"],
    [42, "HTTP/1.1 42 Odd\r\n"],
  ] as const) {
    const r = record();
    client.request({ host: "127.0.0.1", port: 9, path: "/" }, r.handlers);
    const c = made.at(-1)!;
    peerSends(c, `${line}\r\n`);
    c.headers(status, []);
    assert.deepEqual(r.failures, [{ kind: "not-http", got: `${line}\r\n` }]);
    assert.equal(r.events.length, 1);
    assert.ok(c.closed >= 1);
    c.done(null); // anything after is ignored
    assert.equal(r.events.length, 1);
  }
});

test("reset mid-body: the data so far, then one onError 'connection lost'", () => {
  const { client, made } = setup();
  const r = record();
  client.request({ host: "h", port: 80, path: "/fw.bin" }, r.handlers);
  made[0].headers(200, [["content-length", "5000"]]);
  made[0].readable(pattern(1000));
  made[0].error();
  assert.deepEqual(r.events, ["head 200", "data 1000", "error connection lost"]);
});

test("a DNS failure is reported with the resolver's reason", () => {
  const { client, made } = setup();
  const r = record();
  client.request({ host: "no-such-host.invalid", port: 8000, path: "/" }, r.handlers);
  const c = made[0];
  c.options.dns.onFailure?.("cannot resolve no-such-host.invalid"); // net-resolver.ts, before onError
  c.error("no-such-host.invalid:8000"); // queued request's onDone(new Error) (line 438), client onError(host)
  assert.deepEqual(r.events, ["error cannot resolve no-such-host.invalid"]);
  assert.equal(c.options.dns.live?.(), false, "a late answer would be dropped");
});

test("a body without Content-Length ends with the close, which the client reports as an error: that is onEnd", () => {
  const { client, made } = setup();
  const r = record();
  client.request({ host: "h", port: 8000, path: "/_catalog?op=list&path=." }, r.handlers);
  made[0].headers(200, [["content-type", "application/json"]]);
  made[0].readable(new TextEncoder().encode("[]"));
  made[0].error();
  assert.deepEqual(r.events, ["head 200", "data 2", "end"]);
});

test("a chunked body cut by the close is an error, not an end", () => {
  const { client, made } = setup();
  const r = record();
  client.request({ host: "h", port: 8000, path: "/" }, r.handlers);
  made[0].headers(200, [["transfer-encoding", "chunked"]]);
  made[0].readable(pattern(10));
  made[0].error();
  assert.deepEqual(r.events, ["head 200", "data 10", "error connection lost"]);
});

test("complete body, then the server's close before #done's timer: onDone(null) comes first (line 424), one onEnd", () => {
  const { client, made } = setup();
  const r = record();
  client.request({ host: "h", port: 8000, path: "/fw.bin" }, r.handlers);
  made[0].headers(200, [["content-length", "3"]]);
  made[0].readable(pattern(3));
  made[0].done(null);
  made[0].options.onError(); // client onError after completion
  assert.deepEqual(r.events, ["head 200", "data 3", "end"]);
});

test("HEAD, 204 and 304 end at the head; the client is closed (it would wait for a HEAD's Content-Length)", () => {
  for (const [method, status] of [["HEAD", 200], ["GET", 304], ["GET", 204]] as const) {
    const { client, made } = setup();
    const r = record();
    client.request({ host: "h", port: 80, path: "/fw.bin", method }, r.handlers);
    made[0].headers(status, [["content-length", "1048576"]]);
    made[0].done(null); // 204: #done at once (line 307); for the others nothing more may be reported
    made[0].error();
    assert.deepEqual(r.events, [`head ${status}`, "end"], `${method} ${status}`);
    assert.equal(made[0].closed, 1);
  }
});

test("abort() inside onData stops reading, closes once, and silences later call-backs", () => {
  const { client, made } = setup();
  const events: string[] = [];
  const exchange = client.request({ host: "h", port: 80, path: "/fw.bin" }, {
    onHead: () => events.push("head"),
    onData: () => {
      events.push("data");
      exchange.abort();
    },
    onEnd: () => events.push("end"),
    onError: () => events.push("error"),
  });
  const c = made[0];
  c.headers(200, [["content-length", "9000"]]);
  c.readable(pattern(9000));
  c.done(null);
  c.error();
  assert.deepEqual(events, ["head", "data"]);
  assert.deepEqual(c.reads, [4096]);
  assert.equal(c.closed, 1);
});

test("a consumer that throws closes the client and gets one onError with its message", () => {
  const { client, made } = setup();
  const events: string[] = [];
  client.request({ host: "h", port: 80, path: "/fw.bin" }, {
    onHead: () => events.push("head"),
    onData: () => {
      throw new Error("flash write failed");
    },
    onEnd: () => events.push("end"),
    onError: (reason) => events.push(`error ${reason}`),
  });
  made[0].headers(200, [["content-length", "100"]]);
  made[0].readable(pattern(100));
  made[0].done(null);
  assert.deepEqual(events, ["head", "error flash write failed"]);
  assert.equal(made[0].closed, 1);
});

test("a client that cannot even be made (bad host) fails later, never inside request()", () => {
  const throwing = {
    Client: class {
      constructor() {
        throw new Error("host required"); // httpclient.js line 152
      }
    } as unknown as typeof ScriptedClient,
    Socket: io.Socket,
    Resolver: io.Resolver,
  };
  deferred.length = 0;
  const client = new ModdableHttpClient(throwing, { log: () => undefined, defer: (callback) => deferred.push(callback) });
  const r = record();
  const exchange = client.request({ host: "", port: 80, path: "/" }, r.handlers);
  assert.deepEqual(r.events, [], "nothing during request(): callers assign the exchange first");
  assert.equal(deferred.length, 1);
  deferred[0]();
  assert.deepEqual(r.events, ["error cannot start: host required"]);
  exchange.abort();
});

// net-resolver.ts: the dns.io the client constructs (`new options.dns.io(options.dns)`).
test("resolver: Net.resolve with the port dropped, onResolved(host, address) with the host as given", () => {
  const asked: string[] = [];
  const answers: Array<(name: string, address?: string) => void> = [];
  const resolve: ResolveFunction = (name, callback) => {
    asked.push(name);
    answers.push(callback);
  };
  const Resolver = netResolver(resolve);
  const got: string[] = [];
  new Resolver({}).resolve({ host: "updates.local:8000", onResolved: (host, address) => got.push(`${host} ${address}`), onError: (host) => got.push(`error ${host}`) });
  new Resolver({}).resolve({ host: "192.168.4.2", onResolved: (host, address) => got.push(`${host} ${address}`) });
  assert.deepEqual(asked, ["updates.local", "192.168.4.2"]);
  answers[0]("updates.local", "192.168.1.20"); // modResolve.c: callback(name, address)
  answers[1]("192.168.4.2", "192.168.4.2");
  assert.deepEqual(got, ["updates.local:8000 192.168.1.20", "192.168.4.2 192.168.4.2"]);
});

test("resolver: no address -> onFailure then onError; a dead request or a throwing callback is contained", () => {
  const answers: Array<(name: string, address?: string) => void> = [];
  const lines: string[] = [];
  const Resolver = netResolver((_name, callback) => answers.push(callback), (line) => lines.push(line));
  const got: string[] = [];
  let live = true;
  new Resolver({ live: () => live, onFailure: (reason) => got.push(reason) }).resolve({ host: "nope.invalid:80", onResolved: () => got.push("resolved"), onError: (host) => got.push(`error ${host}`) });
  new Resolver({ live: () => live }).resolve({ host: "late.local", onResolved: () => got.push("late resolved") });
  new Resolver({}).resolve({
    host: "x.local",
    onResolved: () => {
      throw new Error("socket failed");
    },
  });
  answers[0]("nope.invalid", undefined);
  live = false;
  answers[1]("late.local", "10.0.0.1");
  assert.doesNotThrow(() => answers[2]("x.local", "10.0.0.2"), "Net.resolve calls back from native code");
  assert.deepEqual(got, ["cannot resolve nope.invalid", "error nope.invalid:80"]);
  assert.ok(lines.some((l) => l.includes("socket failed")));
});

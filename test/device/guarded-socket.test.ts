// guarded-socket.ts and port-probe.ts, driven the way SDK 8.2.3's lin socket calls back
// (modules/io/socket/lin/tcp.c): tcpTask polls every 20 ms and reportTrigger calls, in
// this order and with `this` = the socket, onWritable(bytesWritable) (unless an error is
// pending), onReadable(bytesReadable), onError() (no argument). Each call runs inside
// xsBeginHost/xsEndHost, so an exception escaping it aborts the machine. The triggers of
// one poll are captured before the first call: a socket closed by onWritable still gets
// that poll's onReadable/onError. The listener (listener.js) hands out accepted sockets
// from read(); httpserver.js makes its own with `new from.constructor({from, ...})`, and
// calls the listener's onReadable with `this` = the listener, reading `this.target`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { guardListener, guardTcp, restatus, type RawTcp, type TcpDictionary } from "../../modules/moddable/guarded-socket";
import { reasonPhrase } from "../../modules/core/messages";
import { portProbe } from "../../modules/moddable/port-probe";
import { FakeClock } from "../fakes/clock";

/** A native-like TCP: records its dictionary, reads from a byte queue, writes into a log. */
class FakeTcp implements RawTcp {
  static made: FakeTcp[] = [];
  format = "buffer";
  closed = 0;
  written: unknown[][] = [];
  bytes: number[] = [];
  constructor(readonly dictionary: TcpDictionary) {
    FakeTcp.made.push(this);
  }
  read(arg?: unknown): unknown {
    if (this.format === "number") return this.bytes.shift();
    return arg;
  }
  write(...args: unknown[]): unknown {
    this.written.push(args);
    return 1000;
  }
  close(): void {
    this.closed++;
  }
  /** reportTrigger: the callbacks of one poll, in tcp.c's order, `this` = the native socket. */
  poll(events: { writable?: number; readable?: number; error?: boolean }): void {
    const d = this.dictionary;
    if (events.writable) d.onWritable?.call(this, events.writable);
    if (events.readable) d.onReadable?.call(this, events.readable);
    if (events.error) d.onError?.call(this);
  }
}

function setup(acceptHttp10 = false) {
  FakeTcp.made = [];
  const lines: string[] = [];
  const Socket = guardTcp(FakeTcp, { log: (line) => lines.push(line), acceptHttp10 });
  return { Socket, lines };
}

test("callbacks pass through with their arguments; read, write (with `more`), format and close reach the socket", () => {
  const { Socket } = setup();
  const seen: string[] = [];
  const socket = new Socket({ address: "127.0.0.1", port: 8000, io: "dropped", onReadable: (n) => seen.push(`r${n}`), onWritable: (n) => seen.push(`w${n}`), onError: () => seen.push("e") });
  const raw = FakeTcp.made[0];
  assert.equal(raw.dictionary.address, "127.0.0.1");
  assert.equal(raw.dictionary.port, 8000);
  assert.equal("io" in raw.dictionary, false, "httpclient.js spreads socket.io into the dictionary; not passed on");
  raw.poll({ writable: 1536, readable: 100 });
  assert.equal(socket.write(new Uint8Array(3)), 1000);
  socket.write(new Uint8Array(2), { more: true });
  assert.deepEqual(raw.written[1].length, 2, "the second argument is kept");
  raw.poll({ error: true });
  assert.deepEqual(seen, ["w1536", "r100", "e"]);
  socket.format = "number";
  assert.equal(raw.format, "number");
  assert.equal(socket.format, "number");
  socket.close();
  socket.close();
  assert.equal(raw.closed, 1);
});

test("an exception in onReadable is logged, closes the socket and reports onError once; the rest of the poll is dropped", () => {
  const { Socket, lines } = setup();
  const seen: string[] = [];
  new Socket({
    address: "127.0.0.1",
    port: 8004,
    onReadable: () => {
      // httpclient.js #onReadable after a status line without a second space: #error closed the socket, then
      throw new TypeError("cannot coerce undefined to object");
    },
    onWritable: () => seen.push("w"),
    onError: () => seen.push("e"),
  });
  const raw = FakeTcp.made[0];
  assert.doesNotThrow(() => raw.poll({ readable: 30, error: true }));
  assert.deepEqual(seen, ["e"], "the owner hears of it once, from the guard");
  assert.equal(raw.closed, 1);
  assert.ok(lines.some((l) => l.includes("TypeError: cannot coerce undefined to object")));
  raw.poll({ writable: 1536, readable: 10, error: true });
  assert.deepEqual(seen, ["e"], "nothing after the close");
});

test("an exception in onError itself is logged and not answered by another onError", () => {
  const { Socket, lines } = setup();
  let calls = 0;
  new Socket({
    address: "127.0.0.1",
    port: 80,
    onError: () => {
      calls++;
      throw new TypeError("undefined has no property onError"); // httpserver.js #onError of a closed connection
    },
  });
  assert.doesNotThrow(() => FakeTcp.made[0].poll({ error: true }));
  assert.equal(calls, 1);
  assert.equal(lines.length, 1);
});

test("closed inside onWritable (response complete): the same poll's onReadable and onError are not delivered", () => {
  const { Socket } = setup();
  const seen: string[] = [];
  let socket: InstanceType<typeof Socket> | undefined = undefined;
  socket = new Socket({
    address: "127.0.0.1",
    port: 80,
    onWritable: () => {
      seen.push("w");
      socket!.close(); // Connection #done -> close()
    },
    onReadable: () => seen.push("r"),
    onError: () => seen.push("e"),
  });
  FakeTcp.made[0].poll({ writable: 1536, readable: 5, error: true });
  assert.deepEqual(seen, ["w"]);
  assert.equal(socket.closed, true);
});

test("listener: accepted sockets come out held; `new from.constructor({from, ...})` makes the guarded socket from the accepted one", () => {
  const { Socket } = setup(true);
  const accepted = new FakeTcp({});
  const listenerMade: Array<{ dictionary: Record<string, unknown>; queue: RawTcp[] }> = [];
  class FakeListener {
    queue: RawTcp[] = [accepted];
    constructor(readonly dictionary: Record<string, unknown>) {
      listenerMade.push(this);
    }
    read() {
      return this.queue.shift();
    }
    close() {}
    get port() {
      return 8080;
    }
  }
  const Listener = guardListener(FakeListener, Socket);
  const target = { name: "HTTPServer" };
  const connections: unknown[] = [];
  const listener = new Listener({
    port: 8080,
    target,
    onReadable(this: { target: unknown; read(): unknown }, count: number) {
      // httpserver.js line 416: `new Connection(this.read(), ...)` and `this.target.#connections`
      assert.equal(this.target, target);
      while (count--) connections.push(this.read());
    },
  });
  assert.equal(listener.port, 8080);
  (listenerMade[0].dictionary.onReadable as (this: unknown, n: number) => void).call({ native: true }, 1);
  assert.equal(connections.length, 1);
  const held = connections[0] as { constructor: new (d: TcpDictionary) => RawTcp };
  assert.equal(FakeTcp.made.length, 1, "only the accepted socket so far: holding it makes no new one");
  const seen: number[] = [];
  const live = new held.constructor({ from: held, onReadable: (n) => seen.push(n), onWritable: () => undefined, onError: () => undefined });
  const inner = FakeTcp.made[1];
  assert.equal(inner.dictionary.from, accepted, "the native socket is handed on, not the wrapper");
  inner.poll({ readable: 42 });
  assert.deepEqual(seen, [42]);
  live.close();
  assert.equal(inner.closed, 1);
});

test("listener: an exception inside its onReadable is contained", () => {
  const { Socket, lines } = setup(true);
  let dictionary: Record<string, unknown> = {};
  class FakeListener {
    constructor(d: Record<string, unknown>) {
      dictionary = d;
    }
    read() {
      return undefined;
    }
    close() {}
  }
  const Listener = guardListener(FakeListener, Socket, { log: (line) => lines.push(line) });
  new Listener({
    onReadable() {
      throw new Error("out of memory");
    },
  });
  assert.doesNotThrow(() => (dictionary.onReadable as (n: number) => void)(1));
  assert.ok(lines.some((l) => l.includes("out of memory")));
});

/** What httpserver.js reads of a request line: byte by byte in "number" format (line 164). */
function requestLine(socket: RawTcp, raw: FakeTcp, text: string): string {
  raw.bytes = [...Buffer.from(text, "latin1")];
  socket.format = "number";
  let out = "";
  for (;;) {
    const c = socket.read() as number | undefined;
    if (c === undefined) break;
    out += String.fromCharCode(c);
  }
  return out;
}

test("server sockets read an HTTP/1.0 request line as HTTP/1.1; nothing else is touched", () => {
  const { Socket } = setup(true);
  const socket = new Socket({ from: new FakeTcp({}), onReadable: () => undefined });
  const raw = FakeTcp.made[1];
  assert.equal(
    requestLine(socket, raw, "GET /hotspot-detect.html HTTP/1.0\r\nUser-Agent: CaptiveNetworkSupport HTTP/1.0\r\n\r\n"),
    "GET /hotspot-detect.html HTTP/1.1\r\nUser-Agent: CaptiveNetworkSupport HTTP/1.0\r\n\r\n",
  );
  const other = new Socket({ from: new FakeTcp({}), onReadable: () => undefined });
  assert.equal(requestLine(other, FakeTcp.made[3], "GET /HTTP/1.0 HTTP/1.1\r\n"), "GET /HTTP/1.0 HTTP/1.1\r\n", "only the version token");
  const Client = guardTcp(FakeTcp);
  const client = new Client({ address: "127.0.0.1", port: 1, onReadable: () => undefined });
  assert.equal(requestLine(client, FakeTcp.made[4], "HTTP/1.0 200 OK\r\n"), "HTTP/1.0 200 OK\r\n", "client sockets read what arrives");
});

test("a peer known to be gone is never written to again: after onError, or after a write that failed (lin: SIGPIPE with xsbug attached)", async () => {
  FakeTcp.made = [];
  const lines: string[] = [];
  const Socket = guardTcp(FakeTcp, { log: (line) => lines.push(line) });
  const errors: string[] = [];
  const a = new Socket({ address: "127.0.0.1", port: 1, onError: () => errors.push("a") });
  FakeTcp.made[0].poll({ error: true });
  assert.equal(a.write(new Uint8Array(3)), 0);
  assert.deepEqual(FakeTcp.made[0].written, [], "nothing written after the error");

  const b = new Socket({ address: "127.0.0.1", port: 1, onError: () => errors.push("b") });
  const raw = FakeTcp.made[1];
  raw.write = (...args: unknown[]) => (raw.written.push(args), undefined); // tcp.c: write() < 0 -> no result
  assert.equal(b.write(new Uint8Array(17)), 0, "the status line: write() failed (ECONNRESET)");
  assert.equal(b.write(new Uint8Array(30)), 0, "a header line: not written (it would be EPIPE, SIGPIPE)");
  assert.equal(raw.written.length, 1);
  assert.deepEqual(errors, ["a"], "onError comes after the current call, not inside write()");
  await Promise.resolve();
  assert.deepEqual(errors, ["a", "b"]);
  raw.poll({ error: true });
  assert.deepEqual(errors, ["a", "b"], "reported once");
  assert.ok(lines.some((l) => /write failed/.test(l)));
});

const text = (data: unknown) => String.fromCharCode(...new Uint8Array(data instanceof ArrayBuffer ? data : (data as Uint8Array)));

test("server sockets with reasonPhrase: the first write, a whole status line, goes out with our phrase; nothing else is touched", () => {
  FakeTcp.made = [];
  const Socket = guardTcp(FakeTcp, { reasonPhrase });
  const socket = new Socket({ from: new FakeTcp({}), onWritable: () => undefined });
  const raw = FakeTcp.made[1];
  const line = new TextEncoder().encode("xxHTTP/1.1 422 OK\r\n"); // httpserver.js: a view into its pending ArrayBuffer
  assert.equal(socket.write(line.subarray(2)), 1000);
  socket.write(new TextEncoder().encode("HTTP/1.1 422 OK\r\n"));
  assert.deepEqual(raw.written.map(([data]) => text(data)), ["HTTP/1.1 422 Unprocessable Entity\r\n", "HTTP/1.1 422 OK\r\n"], "only the first write");
  assert.equal(text(restatus(new TextEncoder().encode("HTTP/1.1 413 Request Entity Too Large\r\n").buffer, reasonPhrase)), "HTTP/1.1 413 Payload Too Large\r\n");
  assert.equal(restatus(new TextEncoder().encode("HTTP/1.1 200 OK\r\n"), reasonPhrase), undefined, "already right");
  assert.equal(restatus(new TextEncoder().encode("HTTP/1.1 299 OK\r\n"), reasonPhrase), undefined, "no phrase of ours: the SDK's stays");
  assert.equal(restatus(new TextEncoder().encode("<html>HTTP/1.1 422 OK\r\n"), reasonPhrase), undefined, "not a status line");
  assert.equal(restatus(65, reasonPhrase), undefined, "a number");
  const Client = guardTcp(FakeTcp);
  const client = new Client({ address: "127.0.0.1", port: 1, onWritable: () => undefined });
  client.write(new TextEncoder().encode("HTTP/1.1 422 OK\r\n"));
  assert.equal(text(FakeTcp.made.at(-1)!.written[0][0]), "HTTP/1.1 422 OK\r\n", "without the option, as written");
});

// port-probe.ts: connect to each address; tcp.c reports an accepted connect as onWritable,
// a refused one as onError (its read of the refused socket fails in the same poll, and a
// pending error suppresses onWritable).
test("probe: an accepted connection on any address means in use; every socket is closed", () => {
  FakeTcp.made = [];
  const clock = new FakeClock();
  const probe = portProbe(FakeTcp, () => ["127.0.0.1", "192.0.2.2"], clock);
  const answers: boolean[] = [];
  probe(8080, (inUse) => answers.push(inUse));
  assert.deepEqual(
    FakeTcp.made.map((t) => [t.dictionary.address, t.dictionary.port]),
    [
      ["127.0.0.1", 8080],
      ["192.0.2.2", 8080],
    ],
  );
  FakeTcp.made[0].poll({ error: true });
  assert.deepEqual(answers, []);
  FakeTcp.made[1].poll({ writable: 1536 });
  assert.deepEqual(answers, [true]);
  assert.deepEqual(
    FakeTcp.made.map((t) => t.closed),
    [1, 1],
  );
  clock.advance(5000);
  assert.deepEqual(answers, [true], "answered once");
});

test("probe: refused everywhere, no answer in time, or an address the socket refuses: free", () => {
  FakeTcp.made = [];
  const clock = new FakeClock();
  const answers: boolean[] = [];
  portProbe(FakeTcp, () => ["127.0.0.1"], clock)(8080, (inUse) => answers.push(inUse));
  FakeTcp.made[0].poll({ error: true });
  portProbe(FakeTcp, () => ["10.0.0.9"], clock, 1000)(8080, (inUse) => answers.push(inUse));
  clock.advance(999);
  assert.deepEqual(answers, [false]);
  clock.advance(1);
  assert.deepEqual(answers, [false, false]);
  class Refusing {
    constructor() {
      throw new Error("invalid address");
    }
  }
  portProbe(Refusing as unknown as typeof FakeTcp, () => ["bad"], clock)(8080, (inUse) => answers.push(inUse));
  portProbe(FakeTcp, () => [], clock)(8080, (inUse) => answers.push(inUse));
  assert.deepEqual(answers, [false, false, false, false]);
  assert.equal(clock.pending, 0, "no timer left behind");
});

test("listener: each accepted socket's peer address is told as it is read (the portal's client address); a socket that cannot say gives undefined", () => {
  const { Socket } = setup(true);
  const phone = Object.assign(new FakeTcp({}), { remoteAddress: "192.168.4.2" });
  const mute = new FakeTcp({});
  Object.defineProperty(mute, "remoteAddress", {
    get() {
      throw new Error("closed"); // xsmcGetHostDataValidate on a socket already handed on
    },
  });
  class FakeListener {
    queue: RawTcp[] = [phone, mute];
    read() {
      return this.queue.shift();
    }
    close() {}
  }
  const peers: Array<string | undefined> = [];
  const lines: string[] = [];
  const Listener = guardListener(FakeListener, Socket, { accepted: (peer) => peers.push(peer), log: (line) => lines.push(line) });
  const listener = new Listener({});
  listener.read();
  listener.read();
  assert.deepEqual(peers, ["192.168.4.2", undefined]);
  assert.match(lines.join(""), /no peer address: closed/);
  assert.equal(listener.read(), undefined);
  assert.equal(peers.length, 2, "nothing accepted: nothing told");
});

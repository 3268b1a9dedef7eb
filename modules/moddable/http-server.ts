// Serves a PortalHandler over ECMA-419 `embedded:network/http/server`, the SDK's
// examples/io/listener/httpserver/httpserver.js (SDK 8.2.3). The classes come from
// modules/moddable/network-io.ts; tests pass scripted ones that call back in the SDK's order.
//
// The SDK's Connection, per request (all with `this` = the connection):
//   onRequest({method, path (query included), headers: Map, names lowercased}),
//   then, when there is a body, onReadable(count) until Content-Length (or the chunked
//   body) is read, each read with read(count) -> ArrayBuffer; then onResponse(response)
//   (a timer tick after the last read, or at once without a body), where respond({status,
//   headers: Map}) writes the status line and headers; then onWritable(count) asks for
//   body bytes until the Content-Length is written, write(view) -> bytes still writable;
//   then onDone, and the connection is closed. A broken connection gives onError instead.
//   The connection closes after every response: we say "connection: close".
// How a body is taken is decided on the head alone (onRequest):
// - a PortalBodyRouter (options.bodyRouter) may take it as a stream: pieces of at most
//   CHUNK bytes go to the sink as they arrive, its end() gives the response, its abort()
//   hears of a broken or idle connection (issue 11's firmware upload plugs in here);
//   or it may answer at once without reading the body (respond); a sink that gives up on a
//   body that stopped coming (an upload's stall) answers through watch() (408): sent at
//   once, the rest of the body ignored, the connection closed after the answer;
// - otherwise it is a form: a Content-Length over maxBody is answered 413 at once, unread;
//   else the body (at most maxBody bytes, chunked too) is collected and handed to the
//   synchronous PortalHandler as a string.
// An answer given at once is written inside onRequest; it must fit the socket's send
// window (1536 bytes on lin), as these short text answers do.
//
// Listening: a port already in use is logged and retried every retryMs; the app goes on
// meanwhile. Where a failed bind is not a plain exception (the lin listener crashes the
// app: port-probe.ts) a probe is asked first. Connections idle for idleMs are closed.

import { utf8Decode, utf8Encode } from "../core/bytes";
import { reasonPhrase } from "../core/messages";
import type { GuardOptions } from "./guarded-socket";
import type { Clock, PortalBodyRouter, PortalBodySink, PortalRequest, PortalResponse, TimerId } from "../core/ports";
import type { PortalHandler } from "../core/updater-api";
import type { PortProbe } from "./port-probe";

/**
 * How the portal's sockets are guarded (network-io.ts): HTTP/1.0 request lines read as 1.1,
 * and the status line's reason phrase ours (httpserver.js has none for 422 and says "OK").
 */
export const SERVER_SOCKET: GuardOptions = { acceptHttp10: true, reasonPhrase };

/** Largest piece handed to a body sink. */
export const CHUNK = 4096;

/** What this adapter uses of an httpserver.js Connection. */
export interface ServerConnection {
  accept(handlers: ConnectionHandlers): void;
  respond(response: { status: number; headers: Map<string, string> }): void;
  read(count: number): ArrayBuffer | undefined;
  write(data: Uint8Array): number | undefined;
  close(): void;
}

export interface ConnectionHandlers {
  onRequest(this: ServerConnection, request: { method: string; path: string; headers: Map<string, string> }): void;
  onReadable(this: ServerConnection, count: number): void;
  onResponse(this: ServerConnection, response: unknown): void;
  onWritable(this: ServerConnection, count: number): void;
  onDone(this: ServerConnection): void;
  onError(this: ServerConnection, reason?: unknown): void;
}

export interface Server {
  close(): void;
}
export type ServerConstructor = new (options: { io: unknown; port: number; onConnect: (connection: ServerConnection) => void }) => Server;

/** The SDK classes the portal server is built from. */
export interface ServerIO {
  Server: ServerConstructor;
  /** embedded:io/socket/listener, guarded (guarded-socket.ts). */
  Listener: unknown;
  /**
   * The peer address of the socket the listener accepted last, taken once
   * (network-io.ts): httpserver.js reads the socket and calls onConnect with
   * no turn between, so onConnect takes its own connection's peer.
   */
  takePeer?: () => string | undefined;
}

export interface PortalServerOptions {
  port?: number;
  /** Form bodies above this many bytes are answered 413 unread. Default 2048. */
  maxBody?: number;
  /** Where handler failures and listening changes are reported (main.ts passes trace). */
  log?: (line: string) => void;
  clock: Clock;
  /** Delay between attempts to listen when the port is taken. Default 5 s. */
  retryMs?: number;
  /** A connection with no traffic for this long is closed. Default 30 s. */
  idleMs?: number;
  bodyRouter?: PortalBodyRouter;
  /** Asked before each attempt to listen where a failed bind is not a plain exception (lin: port-probe.ts). */
  probe?: PortProbe;
}

type Mode = "form" | "stream" | "discard";

/** Request and response state of one connection. */
class Exchange {
  mode: Mode = "form";
  /** The client's address, when the listener told it. */
  remote: string | undefined;
  head: PortalRequest | undefined;
  form: Uint8Array | undefined;
  formLength = 0;
  sink: PortalBodySink | undefined;
  response: Uint8Array | undefined;
  sent = 0;
  responded = false;
  done = false;
  lastActive: number;

  constructor(
    readonly connection: ServerConnection,
    now: number,
  ) {
    this.lastActive = now;
  }
}

export class PortalServer {
  #io: ServerIO;
  #handler: PortalHandler;
  #port: number;
  #maxBody: number;
  #log: (line: string) => void;
  #clock: Clock;
  #retryMs: number;
  #idleMs: number;
  #bodyRouter: PortalBodyRouter | undefined;
  #probe: PortProbe | undefined;
  #server: Server | undefined;
  #retry: TimerId | undefined;
  #sweep: TimerId | undefined;
  #failures = 0;
  #closed = false;
  #exchanges = new Set<Exchange>();

  constructor(handler: PortalHandler, io: ServerIO, options: PortalServerOptions) {
    this.#handler = handler;
    this.#io = io;
    this.#port = options.port ?? 80;
    this.#maxBody = options.maxBody ?? 2048;
    this.#log = options.log ?? (() => undefined);
    this.#clock = options.clock;
    this.#retryMs = options.retryMs ?? 5000;
    this.#idleMs = options.idleMs ?? 30000;
    this.#bodyRouter = options.bodyRouter;
    this.#probe = options.probe;
    this.#attempt();
  }

  /** True while the port is bound (false while waiting for a taken port). */
  get listening(): boolean {
    return this.#server !== undefined;
  }

  /** Connections in progress (for tests and instrumentation). */
  get active(): number {
    return this.#exchanges.size;
  }

  close(): void {
    this.#closed = true;
    if (this.#retry) this.#clock.clearTimeout(this.#retry);
    if (this.#sweep) this.#clock.clearTimeout(this.#sweep);
    this.#retry = this.#sweep = undefined;
    for (const exchange of this.#exchanges) this.#drop(exchange, "server closed");
    const server = this.#server;
    this.#server = undefined;
    try {
      server?.close();
    } catch (e) {
      this.#log(`portal: close failed: ${reason(e)}\n`);
    }
  }

  #attempt(): void {
    this.#retry = undefined;
    if (this.#closed) return;
    const probe = this.#probe;
    if (!probe) return this.#listen();
    probe(this.#port, (inUse) => {
      if (this.#closed) return;
      if (inUse) this.#retryLater("the port is in use");
      else this.#listen();
    });
  }

  #retryLater(why: string): void {
    if (this.#failures++ === 0) this.#log(`portal: cannot listen on port ${this.#port} (${why}); retrying every ${this.#retryMs / 1000} s\n`);
    this.#retry = this.#clock.setTimeout(() => this.#attempt(), this.#retryMs);
  }

  #listen(): void {
    try {
      this.#server = new this.#io.Server({ io: this.#io.Listener, port: this.#port, onConnect: (connection) => this.#connect(connection) });
    } catch (e) {
      // "socket bind" from the lwIP listener (modules/io/socket/lwip/tcp.c) when the port is taken
      return this.#retryLater(reason(e));
    }
    this.#log(this.#failures > 0 ? `portal: port ${this.#port} is free again; listening (after ${this.#failures} attempts)\n` : `portal on port ${this.#port}\n`);
    this.#failures = 0;
  }

  #connect(connection: ServerConnection): void {
    const exchange = new Exchange(connection, this.#clock.now());
    exchange.remote = this.#io.takePeer?.();
    this.#exchanges.add(exchange);
    this.#armSweep();
    // Each handler is guarded: nothing may be thrown back into the SDK's socket callbacks.
    const run = (what: string, work: () => void) => {
      if (exchange.done) return;
      exchange.lastActive = this.#clock.now();
      try {
        work();
      } catch (e) {
        this.#log(`portal: ${what} failed: ${reason(e)}\n`);
        this.#drop(exchange, "internal error");
      }
    };
    connection.accept({
      onRequest: (request) => run("request", () => this.#onRequest(exchange, request)),
      onReadable: (count) => run("body", () => this.#onReadable(exchange, count)),
      onResponse: () => run("response", () => this.#onResponse(exchange)),
      onWritable: (count) => run("write", () => this.#onWritable(exchange, count)),
      onDone: () => this.#forget(exchange),
      onError: () => {
        if (exchange.done) return;
        this.#abortSink(exchange, "connection lost");
        this.#forget(exchange);
      },
    });
  }

  #onRequest(exchange: Exchange, request: { method: string; path: string; headers: Map<string, string> }): void {
    const target = String(request.path);
    const question = target.indexOf("?");
    const head: PortalRequest = {
      method: String(request.method).toUpperCase(),
      path: question < 0 ? target : target.slice(0, question),
      query: question < 0 ? "" : target.slice(question + 1),
      headers: request.headers,
      body: "",
    };
    if (exchange.remote !== undefined) head.remoteAddress = exchange.remote;
    exchange.head = head;
    const plan = this.#bodyRouter?.(head);
    if (plan && "respond" in plan) return this.#answerNow(exchange, plan.respond);
    if (plan && "stream" in plan) {
      exchange.mode = "stream";
      exchange.sink = plan.stream;
      plan.stream.watch?.((response) => this.#giveUp(exchange, response));
      return;
    }
    const length = contentLength(request.headers);
    if (length < 0) return this.#answerNow(exchange, plain(400, "Bad Content-Length"));
    if (length > this.#maxBody) return this.#answerNow(exchange, plain(413, "Request body too large"));
    const chunked = /chunked/i.test(request.headers.get("transfer-encoding") ?? "");
    exchange.form = new Uint8Array(chunked ? this.#maxBody : length > 0 ? length : 0);
  }

  #onReadable(exchange: Exchange, count: number): void {
    const connection = exchange.connection;
    while (count > 0 && !exchange.done) {
      const piece = connection.read(exchange.mode === "stream" && count > CHUNK ? CHUNK : count);
      if (!piece || piece.byteLength === 0) return;
      count -= piece.byteLength;
      const bytes = new Uint8Array(piece);
      if (exchange.mode === "stream") {
        const sink = exchange.sink;
        if (!sink) continue;
        try {
          sink.write(bytes);
        } catch (e) {
          this.#log(`portal: ${exchange.head?.method} ${exchange.head?.path}: body sink failed: ${reason(e)}\n`);
          this.#abortSink(exchange, reason(e));
          return this.#answerNow(exchange, plain(500, "Internal error"));
        }
      } else if (exchange.mode === "form") {
        const form = exchange.form;
        if (!form) continue;
        if (exchange.formLength + bytes.length > form.length) return this.#answerNow(exchange, plain(413, "Request body too large")); // chunked over the cap
        form.set(bytes, exchange.formLength);
        exchange.formLength += bytes.length;
      }
      // "discard": an answer already went out; the bytes are read only to keep the connection's count right
    }
  }

  #onResponse(exchange: Exchange): void {
    if (exchange.responded) return;
    const head = exchange.head;
    if (!head) return this.#send(exchange, plain(400, "Bad request"));
    if (exchange.mode === "stream") {
      const sink = exchange.sink;
      exchange.sink = undefined; // ended: abort() no longer applies
      let response: PortalResponse;
      try {
        response = sink ? sink.end() : plain(500, "Internal error");
      } catch (e) {
        this.#log(`portal: ${head.method} ${head.path}: body sink end failed: ${reason(e)}\n`);
        response = plain(500, "Internal error");
      }
      return this.#send(exchange, response);
    }
    const form = exchange.form;
    const request: PortalRequest = { ...head, body: form && exchange.formLength > 0 ? utf8Decode(form.subarray(0, exchange.formLength)) : "" };
    exchange.form = undefined;
    let response: PortalResponse;
    try {
      response = this.#handler(request);
    } catch (e) {
      this.#log(`portal: ${request.method} ${request.path} failed: ${reason(e)}\n`);
      response = plain(500, "Internal error");
    }
    this.#send(exchange, response);
  }

  /** Answers before the body is read (refusals); the rest of the body is never handed on. */
  #answerNow(exchange: Exchange, response: PortalResponse): void {
    this.#abortSink(exchange, `answered ${response.status} before the body`);
    exchange.mode = "discard";
    exchange.form = undefined;
    this.#send(exchange, response);
  }

  /** The sink gave up on a body that stopped coming: its answer goes out now, then the connection closes. */
  #giveUp(exchange: Exchange, response: PortalResponse): void {
    if (exchange.done || exchange.responded) return;
    exchange.sink = undefined; // it gave up: no abort
    exchange.mode = "discard";
    exchange.lastActive = this.#clock.now();
    const head = exchange.head;
    this.#log(`portal: ${head?.method} ${head?.path}: answered ${response.status} (the body stopped coming)\n`);
    try {
      this.#send(exchange, response);
    } catch (e) {
      this.#log(`portal: answering ${response.status} failed: ${reason(e)}\n`);
      this.#drop(exchange, "internal error");
    }
  }

  #send(exchange: Exchange, response: PortalResponse): void {
    if (exchange.responded) return;
    exchange.responded = true;
    const bytes = utf8Encode(response.body);
    const headers = new Map<string, string>();
    for (const [name, value] of response.headers) {
      const key = name.toLowerCase(); // httpserver.js matches "content-length" case-sensitively
      if (key === "content-length" || key === "connection" || key === "transfer-encoding") continue;
      const earlier = headers.get(key);
      headers.set(key, earlier === undefined ? value : `${earlier}, ${value}`);
    }
    headers.set("content-length", String(bytes.byteLength));
    headers.set("connection", "close");
    exchange.response = bytes;
    exchange.sent = 0;
    exchange.connection.respond({ status: response.status, headers });
  }

  #onWritable(exchange: Exchange, count: number): void {
    const bytes = exchange.response;
    if (!bytes) return;
    let writable = count;
    while (writable > 0 && exchange.sent < bytes.byteLength && !exchange.done) {
      const n = Math.min(bytes.byteLength - exchange.sent, writable);
      const start = exchange.sent;
      exchange.sent += n;
      writable = exchange.connection.write(bytes.subarray(start, start + n)) ?? 0;
    }
  }

  #abortSink(exchange: Exchange, why: string): void {
    const sink = exchange.sink;
    exchange.sink = undefined;
    if (!sink) return;
    try {
      sink.abort(why);
    } catch (e) {
      this.#log(`portal: body sink abort failed: ${reason(e)}\n`);
    }
  }

  /** Closes a connection we give up on (idle, internal error, server closed). */
  #drop(exchange: Exchange, why: string): void {
    if (exchange.done) return;
    this.#abortSink(exchange, why);
    this.#forget(exchange);
    try {
      exchange.connection.close();
    } catch (e) {
      this.#log(`portal: closing a connection failed: ${reason(e)}\n`);
    }
  }

  #forget(exchange: Exchange): void {
    exchange.done = true;
    exchange.response = exchange.form = undefined;
    this.#exchanges.delete(exchange);
  }

  /** One timer for all connections: every idleMs / 2 it closes those idle for idleMs. */
  #armSweep(): void {
    if (this.#sweep || this.#closed) return;
    this.#sweep = this.#clock.setTimeout(() => {
      this.#sweep = undefined;
      const now = this.#clock.now();
      for (const exchange of this.#exchanges) {
        if (now - exchange.lastActive < this.#idleMs) continue;
        const head = exchange.head;
        this.#log(`portal: ${head ? `${head.method} ${head.path}` : "connection"} idle for ${this.#idleMs / 1000} s; closed\n`);
        this.#drop(exchange, "idle");
      }
      if (this.#exchanges.size > 0) this.#armSweep();
    }, this.#idleMs / 2);
  }
}

/** Content-Length as a number; 0 when absent, -1 when unreadable. */
function contentLength(headers: Map<string, string>): number {
  const text = headers.get("content-length");
  if (text === undefined) return 0;
  return /^\s*[0-9]+\s*$/.test(text) ? Number(text) : -1;
}

function plain(status: number, text: string): PortalResponse {
  return { status, headers: [["content-type", "text/plain; charset=utf-8"]], body: text };
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

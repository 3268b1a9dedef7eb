// HttpClient port over ECMA-419 `embedded:network/http/client`, the SDK's
// examples/io/tcp/httpclient/httpclient.js (SDK 8.2.3), one client (one connection,
// "connection: close") per request. The classes come from modules/moddable/network-io.ts;
// tests pass scripted ones that call back in the SDK's order.
//
// What the SDK client does, and what this adapter makes of it:
// - Every failure (DNS, connect refused, reset, close before the body ends, a status line
//   it cannot read) reaches the request's onDone(error) with an Error that has no message,
//   then the client's onError. The adapter names the cause (ports.ts HttpFailure) from
//   what it saw: the resolver's failure (net-resolver.ts) is "resolve"; no write went
//   through is "refused" (lin's tcp.c reports a refused connect as writable, then the
//   request's write() fails: tcp.write returns undefined); bytes received but no head is
//   "not-http" with those bytes (the SDK reads the status line and headers one byte at a
//   time, watched through the guarded socket: guarded-socket.ts SocketWatch); otherwise
//   "lost". A head whose status is not a number 100-599 (httpclient.js parseInt()s
//   whatever sits between the first two spaces: NaN for a peer's junk) is "not-http" too.
// - A body without Content-Length and not chunked runs to the close, which the client
//   reports as an error: after such a head that close is the normal end (onEnd).
// - HEAD, 204 and 304 answers end at the head (the client would wait for a
//   Content-Length's worth of body after a HEAD).
// - onReadable(count) offers at most what the socket holds (1536 bytes on lin); it is
//   read into one 4 KB buffer owned by the adapter, in pieces of at most CHUNK bytes,
//   each handed to onData before the next is read (back-pressure: nothing more is read
//   until onData returns, and on lwIP unread data holds the TCP window).
// - Repeated response headers: the client's Map keeps the last one.
// - Nothing is called after abort() or after the exchange ended; a consumer that throws
//   gets one onError and the connection is closed.

import type { HttpClient, HttpExchange, HttpFailure, HttpHandlers, HttpRequest } from "../core/ports";
import { isHttpStatus, quotePeer } from "../core/messages";
import type { SocketWatch } from "./guarded-socket";
import type { ResolverOptions } from "./net-resolver";

/** Largest chunk handed to onData (ports.ts: at most 4096 bytes). */
export const CHUNK = 4096;
/** Bytes of the answer kept before its head, to say what a non-HTTP peer sent. */
export const GOT = 64;

/** What this adapter uses of the object request() returns (httpclient.js HTTPClient.#Request). */
export interface ClientRequest {
  /** Fills the buffer with up to its length in body bytes; returns the count (undefined outside the body). */
  read(buffer: Uint8Array): number | undefined;
}

export interface ClientRequestOptions {
  method: string;
  path: string;
  headers: Map<string, string>;
  onHeaders: (this: ClientRequest, status: number, headers: Map<string, string>, statusText: string) => void;
  onReadable: (this: ClientRequest, count: number) => void;
  onDone: (this: ClientRequest, error: Error | null) => void;
}

export interface Client {
  request(options: ClientRequestOptions): ClientRequest;
  close(): void;
}

export interface ClientOptions {
  host: string;
  port: number;
  /** Passed whole to `new dns.io(dns)` by the client. */
  dns: ResolverOptions & { io: unknown };
  /** Spread into the socket's dictionary by the client. */
  socket: { io: unknown; watch: SocketWatch };
  onError: (error?: unknown) => void;
}
export type ClientConstructor = new (options: ClientOptions) => Client;

/** The SDK classes one exchange is built from. */
export interface ClientIO {
  Client: ClientConstructor;
  /** embedded:io/socket/tcp, guarded (guarded-socket.ts). */
  Socket: unknown;
  /** A dns.io resolver class (net-resolver.ts). */
  Resolver: unknown;
}

export interface ModdableHttpClientOptions {
  /** Failures, for the developer (main.ts passes trace). */
  log?: (line: string) => void;
  /** Runs a callback soon, outside the current call: a failure to start is reported this way. */
  defer?: (callback: () => void) => void;
}

/** One GET/HEAD in flight. */
class ClientExchange implements HttpExchange {
  #client: Client | undefined;
  #request: ClientRequest | undefined;
  #handlers: HttpHandlers;
  #buffer: Uint8Array;
  #log: (line: string) => void;
  #what: string;
  #headOnly: boolean;
  #finished = false;
  #headSeen = false;
  #closeDelimited = false;
  #cause: string | undefined;
  #kind: HttpFailure["kind"] | undefined;
  /** The answer's bytes before its head (at most GOT), as Latin-1. */
  #got = "";
  /** A write went through: the connection was made. */
  #connected = false;

  constructor(io: ClientIO, request: HttpRequest, handlers: HttpHandlers, buffer: Uint8Array, options: Required<ModdableHttpClientOptions>) {
    this.#handlers = handlers;
    this.#buffer = buffer;
    this.#log = options.log;
    const method = request.method ?? "GET";
    this.#headOnly = method === "HEAD";
    const where = request.port === 80 ? request.host : `${request.host}:${request.port}`;
    this.#what = `${method} http://${where}${request.path}`;
    const headers = new Map<string, string>();
    for (const [name, value] of request.headers ?? []) headers.set(name, value);
    headers.set("connection", "close");
    try {
      const client = new io.Client({
        host: where, // becomes "host: <where>"; the resolver drops the port
        port: request.port,
        dns: { io: io.Resolver, live: () => !this.#finished, onFailure: (reason) => this.#because("resolve", reason) },
        socket: { io: io.Socket, watch: { read: (value) => this.#saw(value), wrote: (result) => this.#wrote(result) } },
        onError: () => this.#fail(),
      });
      this.#client = client;
      this.#request = client.request({
        method,
        path: request.path,
        headers,
        onHeaders: (status, head) => this.#onHeaders(status, head),
        onReadable: (count) => this.#onReadable(count),
        onDone: (error) => this.#onDone(error),
      });
    } catch (e) {
      this.#because("other", `cannot start: ${reason(e)}`);
      this.#close();
      options.defer(() => this.#fail());
    }
  }

  abort(): void {
    this.#finished = true;
    this.#close();
  }

  #because(kind: HttpFailure["kind"], cause: string): void {
    this.#kind = kind;
    this.#cause = cause;
  }

  #saw(value: unknown): void {
    if (typeof value === "number" && !this.#headSeen && this.#got.length < GOT) this.#got += String.fromCharCode(value);
  }

  #wrote(result: unknown): void {
    if (typeof result === "number") this.#connected = true;
  }

  #onHeaders(status: number, headers: Map<string, string>): void {
    if (this.#finished) return;
    if (!isHttpStatus(status)) {
      this.#kind = "not-http"; // logged with what came
      return this.#fail();
    }
    this.#headSeen = true;
    const chunked = /chunked/i.test(headers.get("transfer-encoding") ?? "");
    this.#closeDelimited = !headers.has("content-length") && !chunked;
    if (!this.#call(() => this.#handlers.onHead({ status, headers }))) return;
    if (this.#finished) return;
    if (this.#headOnly || status === 204 || status === 304) this.#end();
  }

  #onReadable(count: number): void {
    const request = this.#request;
    while (count > 0 && !this.#finished && request) {
      const view = count < CHUNK ? this.#buffer.subarray(0, count) : this.#buffer;
      const got = request.read(view);
      if (!got) return;
      count -= got;
      if (!this.#call(() => this.#handlers.onData(got === view.length ? view : view.subarray(0, got)))) return;
    }
  }

  #onDone(error: Error | null): void {
    if (this.#finished) return;
    if (!error || (this.#headSeen && this.#closeDelimited)) this.#end();
    else this.#fail();
  }

  #end(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#close();
    this.#call(() => this.#handlers.onEnd(), true);
  }

  #fail(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#close();
    const failure = this.#failure();
    const text = this.#cause ?? describe(failure);
    this.#log(`http: ${this.#what}: ${text}\n`);
    this.#call(() => this.#handlers.onError(text, failure), true);
  }

  #failure(): HttpFailure {
    if (this.#kind === "not-http" || (this.#kind === undefined && !this.#headSeen && this.#got !== "" && !httpHead.test(this.#got))) return { kind: "not-http", got: this.#got };
    if (this.#kind) return { kind: this.#kind };
    return { kind: this.#headSeen || this.#connected ? "lost" : "refused" };
  }

  /** Runs a consumer callback; one that throws ends the exchange with onError. */
  #call(callback: () => void, last = false): boolean {
    try {
      callback();
      return true;
    } catch (e) {
      this.#log(`http: ${this.#what}: handler failed: ${reason(e)}\n`);
      if (!last && !this.#finished) {
        this.#finished = true;
        this.#close();
        try {
          this.#handlers.onError(reason(e), { kind: "other" });
        } catch (again) {
          this.#log(`http: ${this.#what}: onError failed: ${reason(again)}\n`);
        }
      }
      return false;
    }
  }

  #close(): void {
    const client = this.#client;
    this.#client = undefined;
    this.#request = undefined;
    try {
      client?.close();
    } catch (e) {
      this.#log(`http: ${this.#what}: close failed: ${reason(e)}\n`);
    }
  }
}

export class ModdableHttpClient implements HttpClient {
  #io: ClientIO;
  #options: Required<ModdableHttpClientOptions>;
  /** Body pieces are read into this and handed on as views (ports.ts: valid only during onData). */
  #buffer = new Uint8Array(CHUNK);

  constructor(io: ClientIO, options: ModdableHttpClientOptions = {}) {
    this.#io = io;
    this.#options = { log: options.log ?? (() => undefined), defer: options.defer ?? ((callback) => Promise.resolve().then(callback)) };
  }

  request(request: HttpRequest, handlers: HttpHandlers): HttpExchange {
    return new ClientExchange(this.#io, request, handlers, this.#buffer, this.#options);
  }
}

/** The start of an HTTP/1.x status line that was cut off (a drop mid-head, not a foreign protocol). */
const httpHead = /^HTTP\/1\.[01] [1-5][0-9][0-9][ \r]/;

function describe(failure: HttpFailure): string {
  switch (failure.kind) {
    case "not-http":
      return `not HTTP (got '${quotePeer(failure.got ?? "")}')`;
    case "refused":
      return "cannot connect";
    case "lost":
      return "connection lost";
    default:
      return "failed";
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

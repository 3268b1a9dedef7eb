// HttpClient over node:http, shaped like the device's client: one connection
// per exchange (Connection: close), the body handed over in chunks of at most
// 4096 bytes, each delivered synchronously while the socket is paused, so the
// consumer's flash write and digest pace the download. An optional rate limit
// makes the twin download at a board's speed, so people can watch progress.
// Failures are named as the device's adapter names them (ports.ts HttpFailure): a
// name without an address "resolve", ECONNREFUSED "refused", a peer whose answer
// node:http cannot parse "not-http" with the bytes it got (the parser error's
// rawPacket), a connection closed or reset before the answer ended "lost".
import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from "node:http";
import type { HttpClient, HttpExchange, HttpFailure, HttpHandlers, HttpRequest } from "../../modules/core/ports";
import { isHttpStatus } from "../../modules/core/messages";

export const MAX_CHUNK = 4096;

export interface NodeHttpOptions {
  /** Bytes per second delivered to the consumer; 0 or absent = as fast as the socket goes. */
  bytesPerSecond?: number;
  /** Only loopback is reachable from the twin (the house rule: no other network). */
  allowHost?: (host: string) => boolean;
  /** The name look-up node:http uses (tests pass one that fails). */
  lookup?: RequestOptions["lookup"];
}

/** Bytes of a non-HTTP answer handed on (the device adapter keeps as many). */
const GOT = 64;

/** What a node:http client error says about the cause. */
export function failureOf(error: NodeJS.ErrnoException & { rawPacket?: Buffer }): HttpFailure {
  const code = error.code ?? "";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") return { kind: "resolve" };
  if (code === "ECONNREFUSED") return { kind: "refused" };
  if (code.startsWith("HPE_")) return { kind: "not-http", ...(error.rawPacket ? { got: error.rawPacket.subarray(0, GOT).toString("latin1") } : {}) };
  if (code === "ECONNRESET" || code === "EPIPE") return { kind: "lost" };
  return { kind: "other" };
}

export interface HttpStats {
  exchanges: number;
  largestChunk: number;
  bytes: number;
  /** Times the socket was held back by the rate limit. */
  pauses: number;
}

const loopback = (host: string) => host === "127.0.0.1" || host === "localhost" || host === "::1";

export class NodeHttpClient implements HttpClient {
  readonly stats: HttpStats = { exchanges: 0, largestChunk: 0, bytes: 0, pauses: 0 };
  private readonly open = new Set<HttpExchange>();
  private disposed = false;

  constructor(private readonly options: NodeHttpOptions = {}) {}

  request(request: HttpRequest, handlers: HttpHandlers): HttpExchange {
    let finished = false;
    const conn: { req?: ClientRequest } = {};
    let timer: NodeJS.Timeout | undefined;
    const finish = (): boolean => {
      if (finished) return false;
      finished = true;
      if (timer) clearTimeout(timer);
      this.open.delete(exchange);
      return true;
    };
    const fail = (reason: string, failure: HttpFailure) => {
      if (finish()) handlers.onError(reason, failure);
      conn.req?.destroy();
    };
    const exchange: HttpExchange = {
      abort: () => {
        if (!finish()) return;
        conn.req?.destroy();
      },
    };
    if (this.disposed) {
      finished = true;
      return exchange;
    }
    if (!(this.options.allowHost ?? loopback)(request.host)) {
      queueMicrotask(() => fail(`host ${request.host} is not reachable from the twin (loopback only)`, { kind: "refused" }));
      return exchange;
    }
    this.stats.exchanges++;
    const headers: Record<string, string> = { Connection: "close" };
    for (const [name, value] of request.headers ?? []) headers[name] = value;
    const options: RequestOptions = { host: request.host, port: request.port, path: request.path, method: request.method ?? "GET", headers, agent: false };
    if (this.options.lookup) options.lookup = this.options.lookup;
    const req = httpRequest(options);
    conn.req = req;
    this.open.add(exchange);
    req.on("error", (error: NodeJS.ErrnoException) => fail(error.code ? `${error.code} ${error.message}` : error.message, failureOf(error)));
    req.on("response", (res: IncomingMessage) => {
      if (finished) return;
      const status = res.statusCode ?? 0;
      if (!isHttpStatus(status)) return fail(`not HTTP (status ${status})`, { kind: "not-http", got: `HTTP/${res.httpVersion} ${status} ${res.statusMessage ?? ""}` });
      const head = new Map<string, string>();
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        const name = res.rawHeaders[i].toLowerCase();
        const previous = head.get(name);
        head.set(name, previous === undefined ? res.rawHeaders[i + 1] : `${previous}, ${res.rawHeaders[i + 1]}`);
      }
      handlers.onHead({ status, headers: head });
      let ended = false;
      res.on("data", (buffer: Buffer) => {
        for (let at = 0; at < buffer.length && !finished; at += MAX_CHUNK) {
          const chunk = new Uint8Array(buffer.buffer, buffer.byteOffset + at, Math.min(MAX_CHUNK, buffer.length - at));
          this.stats.bytes += chunk.length;
          if (chunk.length > this.stats.largestChunk) this.stats.largestChunk = chunk.length;
          handlers.onData(chunk);
        }
        const rate = this.options.bytesPerSecond ?? 0;
        if (rate > 0 && !finished) {
          res.pause();
          this.stats.pauses++;
          timer = setTimeout(() => {
            timer = undefined;
            if (!finished) res.resume();
          }, (buffer.length * 1000) / rate);
        }
      });
      res.on("end", () => {
        ended = true;
        if (finish()) handlers.onEnd();
      });
      res.on("error", (error) => fail(error.message, { kind: "lost" }));
      res.on("close", () => {
        if (!ended) fail("connection closed before the end of the body", { kind: "lost" });
      });
    });
    req.end();
    return exchange;
  }

  /** Drops every open exchange without callbacks (a reset of the board). */
  dispose(): void {
    this.disposed = true;
    for (const exchange of [...this.open]) exchange.abort();
  }
}

// HttpClient over node:http, shaped like the device's client: one connection
// per exchange (Connection: close), the body handed over in chunks of at most
// 4096 bytes, each delivered synchronously while the socket is paused, so the
// consumer's flash write and digest pace the download. An optional rate limit
// makes the twin download at a board's speed, so people can watch progress.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import type { HttpClient, HttpExchange, HttpHandlers, HttpRequest } from "../../modules/core/ports";

export const MAX_CHUNK = 4096;

export interface NodeHttpOptions {
  /** Bytes per second delivered to the consumer; 0 or absent = as fast as the socket goes. */
  bytesPerSecond?: number;
  /** Only loopback is reachable from the twin (the house rule: no other network). */
  allowHost?: (host: string) => boolean;
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
    const fail = (reason: string) => {
      if (finish()) handlers.onError(reason);
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
      queueMicrotask(() => fail(`host ${request.host} is not reachable from the twin (loopback only)`));
      return exchange;
    }
    this.stats.exchanges++;
    const headers: Record<string, string> = { Connection: "close" };
    for (const [name, value] of request.headers ?? []) headers[name] = value;
    const req = httpRequest({ host: request.host, port: request.port, path: request.path, method: request.method ?? "GET", headers, agent: false });
    conn.req = req;
    this.open.add(exchange);
    req.on("error", (error: NodeJS.ErrnoException) => fail(error.code ? `${error.code} ${error.message}` : error.message));
    req.on("response", (res: IncomingMessage) => {
      if (finished) return;
      const head = new Map<string, string>();
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        const name = res.rawHeaders[i].toLowerCase();
        const previous = head.get(name);
        head.set(name, previous === undefined ? res.rawHeaders[i + 1] : `${previous}, ${res.rawHeaders[i + 1]}`);
      }
      handlers.onHead({ status: res.statusCode ?? 0, headers: head });
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
      res.on("error", (error) => fail(error.message));
      res.on("close", () => {
        if (!ended) fail("connection closed before the end of the body");
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

// HttpClient port over the legacy `http` Request (modules/network/http/http.js),
// made by modules/moddable/legacy-http.ts.
// The body is never buffered by the module: each responseFragment is drained
// with read(ArrayBuffer, n) in pieces of at most CHUNK bytes and handed on at
// once, so the consumer (digest + flash write) paces the download.

import type { HttpClient, HttpExchange, HttpHandlers, HttpRequest } from "../core/ports";

/** Largest chunk handed to onData (ports.ts: at most 4096 bytes). */
export const CHUNK = 4096;

/** The part of a legacy Request this adapter uses (message numbers from http.js). */
export interface LegacyRequest {
  callback: (message: number, value?: unknown, etc?: unknown) => unknown;
  read(type: typeof ArrayBuffer, limit?: number): ArrayBuffer;
  close(): void;
}

const STATUS = 1;
const HEADER = 2;
const HEADERS_COMPLETE = 3;
const RESPONSE_FRAGMENT = 4;
const RESPONSE_COMPLETE = 5;
const ERROR = -2;

/** One GET/HEAD in flight; abort() silences it and closes the socket. */
export class RequestExchange implements HttpExchange {
  #request: LegacyRequest | undefined;
  #handlers: HttpHandlers;
  #status = 0;
  #headers = new Map<string, string>();
  #headed = false;
  #headOnly: boolean;

  constructor(request: LegacyRequest, handlers: HttpHandlers, headOnly = false) {
    this.#handlers = handlers;
    this.#headOnly = headOnly;
    this.#request = request;
    request.callback = (message, value, etc) => this.#message(message, value, etc);
  }

  abort(): void {
    const request = this.#request;
    this.#request = undefined;
    request?.close();
  }

  #message(message: number, value: unknown, etc: unknown): void {
    const request = this.#request;
    if (!request) return;
    try {
      switch (message) {
        case STATUS:
          this.#status = Number(value);
          break;
        case HEADER: {
          const name = String(value).toLowerCase();
          const text = String(etc);
          const earlier = this.#headers.get(name);
          this.#headers.set(name, earlier === undefined ? text : `${earlier}, ${text}`);
          break;
        }
        case HEADERS_COMPLETE:
          this.#head();
          if (this.#headOnly && this.#request === request) {
            // A HEAD answer has a Content-Length but no body: http.js would wait for it.
            this.abort();
            this.#handlers.onEnd();
          }
          break;
        case RESPONSE_FRAGMENT:
          this.#drain(request, Number(value));
          break;
        case RESPONSE_COMPLETE:
          this.#head();
          this.#finish();
          this.#handlers.onEnd();
          break;
        case ERROR:
          this.#finish();
          this.#handlers.onError(this.#status ? "connection lost" : "cannot connect");
          break;
      }
    } catch (e) {
      // A throwing consumer must not leave the socket open or be called again.
      this.abort();
      this.#handlers.onError(e instanceof Error ? e.message : String(e));
    }
  }

  #head(): void {
    if (this.#headed) return;
    this.#headed = true;
    this.#handlers.onHead({ status: this.#status, headers: this.#headers });
  }

  #drain(request: LegacyRequest, available: number): void {
    while (available > 0 && this.#request === request) {
      const count = available < CHUNK ? available : CHUNK;
      const buffer = request.read(ArrayBuffer, count);
      if (!buffer || buffer.byteLength === 0) return;
      available -= buffer.byteLength;
      this.#handlers.onData(new Uint8Array(buffer));
    }
  }

  /** The module closes itself after complete/error; only forget it here. */
  #finish(): void {
    this.#request = undefined;
  }
}

export interface RequestOptions {
  host: string;
  port: number;
  path: string;
  method: string;
  /** Flat name/value list, as http.js takes it. */
  headers: string[];
}
/** Makes a legacy Request (modules/moddable/legacy-http.ts); tests pass a scripted one. */
export type RequestFactory = (options: RequestOptions) => LegacyRequest;

export class ModdableHttpClient implements HttpClient {
  #create: RequestFactory;

  constructor(create: RequestFactory) {
    this.#create = create;
  }

  request(request: HttpRequest, handlers: HttpHandlers): HttpExchange {
    // http.js sends "Host: <host>" without the port; send our own so servers see host:port.
    const headers: string[] = ["Host", request.port === 80 ? request.host : `${request.host}:${request.port}`];
    for (const [name, value] of request.headers ?? []) headers.push(name, value);
    // Always `host`: the lin socket rejects `address`, and lwIP's resolver takes IP literals.
    return new RequestExchange(
      this.#create({ host: request.host, port: request.port, path: request.path, method: request.method ?? "GET", headers }),
      handlers,
      request.method === "HEAD",
    );
  }
}

// Serves a PortalHandler over the legacy `http` Server (modules/network/http/http.js),
// made by modules/moddable/legacy-http.ts.
// Every response goes out with an explicit Content-Length counted in UTF-8
// bytes and is streamed through responseFragment in socket-sized pieces:
// http.js counts a string body in characters and writes a one-shot body
// assuming it fits the socket's send buffer, both wrong for larger pages.

import { utf8Decode, utf8Encode } from "../core/bytes";
import type { PortalRequest, PortalResponse } from "../core/ports";
import type { PortalHandler } from "../core/updater-api";

const CONNECTION = 1;
const STATUS = 2;
const HEADER = 3;
const HEADERS_COMPLETE = 4;
const REQUEST_COMPLETE = 6;
const PREPARE_RESPONSE = 8;
const RESPONSE_FRAGMENT = 9;
const RESPONSE_COMPLETE = 10;
const ERROR = -1;

/** Largest piece written per responseFragment. */
const FRAGMENT = 1024;

/** What http.js calls the server callback on: one connection. */
export interface LegacyConnection {
  read(type: typeof ArrayBuffer, limit?: number): ArrayBuffer;
}

export interface LegacyServer {
  callback: (this: LegacyConnection, message: number, value?: unknown, etc?: unknown) => unknown;
  close(connections?: boolean): void;
}

/** Request and response state of one connection. */
class Exchange {
  method = "GET";
  target = "/";
  headers = new Map<string, string>();
  body = "";
  tooLarge = false;
  response: Uint8Array | undefined;
  sent = 0;
}

export interface PortalServerOptions {
  port?: number;
  /** Request bodies above this many bytes are answered 413 unread. Default 2048. */
  maxBody?: number;
  /** Where handler failures are reported (main.ts passes trace). */
  log?: (line: string) => void;
}

/** Makes a legacy Server (modules/moddable/legacy-http.ts); tests pass a scripted one. */
export type ServerFactory = (options: { port: number }) => LegacyServer;

export class PortalServer {
  #server: LegacyServer;
  #handler: PortalHandler;
  #maxBody: number;
  #log: (line: string) => void;
  #exchanges = new Map<LegacyConnection, Exchange>();

  constructor(handler: PortalHandler, create: ServerFactory, options: PortalServerOptions = {}) {
    this.#handler = handler;
    this.#maxBody = options.maxBody ?? 2048;
    this.#log = options.log ?? (() => undefined);
    this.#server = create({ port: options.port ?? 80 });
    const dispatch = (connection: LegacyConnection, message: number, value: unknown, etc: unknown) => this.#message(connection, message, value, etc);
    // http.js calls the callback with `this` set to the connection.
    this.#server.callback = function (message, value, etc) {
      return dispatch(this, message, value, etc);
    };
  }

  /** Connections in progress (for tests and instrumentation). */
  get active(): number {
    return this.#exchanges.size;
  }

  close(): void {
    this.#server.close(true);
    this.#exchanges.clear();
  }

  #message(connection: LegacyConnection, message: number, value: unknown, etc: unknown): unknown {
    if (message === CONNECTION) {
      this.#exchanges.set(connection, new Exchange());
      return undefined;
    }
    const exchange = this.#exchanges.get(connection);
    if (!exchange) return undefined;
    switch (message) {
      case STATUS:
        exchange.target = String(value);
        exchange.method = String(etc).toUpperCase();
        return undefined;
      case HEADER: {
        const name = String(value);
        const earlier = exchange.headers.get(name);
        exchange.headers.set(name, earlier === undefined ? String(etc) : `${earlier}, ${String(etc)}`);
        return undefined;
      }
      case HEADERS_COMPLETE: {
        const length = parseInt(exchange.headers.get("content-length") ?? "0", 10) || 0;
        if (length > this.#maxBody) {
          exchange.tooLarge = true;
          return false; // http.js discards the body, then asks for the response
        }
        return length > 0 ? String : undefined;
      }
      case REQUEST_COMPLETE:
        if (typeof value === "string") exchange.body = value;
        else if (value instanceof ArrayBuffer) exchange.body = utf8Decode(new Uint8Array(value));
        return undefined;
      case PREPARE_RESPONSE:
        return this.#prepare(exchange);
      case RESPONSE_FRAGMENT:
        return this.#fragment(exchange, Number(value));
      case RESPONSE_COMPLETE:
      case ERROR:
        this.#exchanges.delete(connection);
        return undefined;
    }
    return undefined;
  }

  #prepare(exchange: Exchange): { status: number; headers: string[]; body: true } {
    const response = exchange.tooLarge ? plain(413, "Request body too large") : this.#respond(exchange);
    const bytes = utf8Encode(response.body);
    exchange.response = bytes;
    const headers: string[] = [];
    for (const [name, text] of response.headers) {
      if (name.toLowerCase() !== "content-length") headers.push(name, text);
    }
    headers.push("content-length", String(bytes.byteLength));
    return { status: response.status, headers, body: true };
  }

  #respond(exchange: Exchange): PortalResponse {
    const question = exchange.target.indexOf("?");
    const request: PortalRequest = {
      method: exchange.method,
      path: question < 0 ? exchange.target : exchange.target.slice(0, question),
      query: question < 0 ? "" : exchange.target.slice(question + 1),
      headers: exchange.headers,
      body: exchange.body,
    };
    try {
      return this.#handler(request);
    } catch (e) {
      this.#log(`portal: ${request.method} ${request.path} failed: ${e instanceof Error ? e.message : String(e)}\n`);
      return plain(500, "Internal error");
    }
  }

  #fragment(exchange: Exchange, writable: number): ArrayBuffer | undefined {
    const bytes = exchange.response;
    if (!bytes || exchange.sent >= bytes.byteLength || writable <= 0) return undefined;
    let count = bytes.byteLength - exchange.sent;
    if (count > writable) count = writable;
    if (count > FRAGMENT) count = FRAGMENT;
    const start = exchange.sent;
    exchange.sent += count;
    return bytes.slice(start, start + count).buffer;
  }
}

function plain(status: number, text: string): PortalResponse {
  return { status, headers: [["content-type", "text/plain; charset=utf-8"]], body: text };
}

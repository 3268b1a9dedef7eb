// Legacy `http` module, client and server.
// Source: Moddable-OpenSource/moddable modules/network/http/http.js (SDK 8.2.3).
// Written here because @moddable/typings 5.6.0 http.d.ts has responseFragment = 3
// and error = -1 for Request; the source has headersComplete = 3,
// responseFragment = 4 and error = -2 (Server.error is -1).

declare module "http" {
  /** Request constructor dictionary (also passed on to the `socket` Socket). */
  export interface RequestOptions {
    host?: string;
    address?: string;
    port?: number;
    path?: string;
    method?: string;
    /** Flat name/value list: [name0, value0, name1, value1, ...]. */
    headers?: Array<string | number>;
    body?: string | ArrayBuffer | true;
    /** String or ArrayBuffer buffers the whole body: never use for firmware. */
    response?: typeof String | typeof ArrayBuffer;
  }

  export type RequestMessage = -2 | 0 | 1 | 2 | 3 | 4 | 5;

  export class Request {
    constructor(options: RequestOptions);
    /**
     * status: (1, statusCode); header: (2, lowercased name, value); headersComplete: (3);
     * responseFragment: (4, bytesAvailable); responseComplete: (5, body?); error: (-2).
     */
    callback: (this: Request, message: RequestMessage, value?: unknown, etc?: unknown) => unknown;
    /** With no arguments: bytes available. `read(ArrayBuffer, n)` allocates a new ArrayBuffer of up to n bytes. */
    read(): number;
    read(type: typeof ArrayBuffer, limit?: number): ArrayBuffer;
    read(type: typeof String, limit?: number | string): string;
    read(type: null, limit?: number): number;
    close(): void;

    static readonly requestFragment: 0;
    static readonly status: 1;
    static readonly header: 2;
    static readonly headersComplete: 3;
    static readonly responseFragment: 4;
    static readonly responseComplete: 5;
    static readonly error: -2;
  }

  /** What prepareResponse returns; headers is a flat name/value list. */
  export interface ServerResponse {
    status?: number;
    reason?: string;
    headers?: Array<string | number>;
    /** `true` streams the body through responseFragment (9) callbacks. */
    body?: string | ArrayBuffer | true;
  }

  export type ServerMessage = -1 | 1 | 2 | 3 | 4 | 5 | 6 | 8 | 9 | 10;

  /** One connection: `this` inside the server callback (a Request reused by the Server). */
  export interface ServerConnection {
    read(): number;
    read(type: typeof ArrayBuffer, limit?: number): ArrayBuffer;
    read(type: typeof String, limit?: number | string): string;
    close(): void;
  }

  /**
   * connection (1); status (2, path with query, method); header (3, lowercased name, value);
   * headersComplete (4) -> String | ArrayBuffer | true | false for the request body;
   * requestFragment (5, bytes); requestComplete (6, body); prepareResponse (8) -> ServerResponse;
   * responseFragment (9, bytesWritable) -> ArrayBuffer | string | undefined; responseComplete (10);
   * error (-1). Every response is sent with "connection: close".
   */
  export type ServerCallback = (this: ServerConnection, message: ServerMessage, value?: unknown, etc?: unknown) => unknown;

  export class Server {
    constructor(options?: { port?: number });
    callback: ServerCallback;
    close(connections?: boolean): void;

    static readonly connection: 1;
    static readonly status: 2;
    static readonly header: 3;
    static readonly headersComplete: 4;
    static readonly requestFragment: 5;
    static readonly requestComplete: 6;
    static readonly prepareResponse: 8;
    static readonly responseFragment: 9;
    static readonly responseComplete: 10;
    static readonly error: -1;
  }
}

// ECMA-419 sockets and the SDK's HTTP client and server, as SDK 8.2.3 implements them.
// Sources (Moddable-OpenSource/moddable):
// - examples/io/tcp/httpclient/httpclient.js: HTTPClient({host, port, dns: {io, ...},
//   socket: {io, ...}, onError}); the dns options object is passed whole to `new dns.io(dns)`
//   and `socket` is spread into the socket's dictionary; request({method, path, headers: Map,
//   onHeaders(status, headers, statusText), onReadable(count), onWritable(count),
//   onDone(error | null)}); Request.read(count | buffer) returns an ArrayBuffer, or the byte
//   count when given a buffer (socket.read(buffer)); header names arrive lowercased.
// - examples/io/listener/httpserver/httpserver.js: HTTPServer({io: Listener, port, onConnect});
//   Connection.accept({onRequest, onReadable, onResponse, onWritable, onDone, onError}),
//   respond({status, headers: Map}), read(count) -> ArrayBuffer, write(bytes) -> bytes writable.
// - modules/io/socket/lin/{tcp,udp,listener}.js + tcp.c, udp.c and modules/io/socket/lwip/*:
//   TCP read() returns a number (format "number") or ArrayBuffer, read(buffer) the count;
//   write() returns the bytes still writable; UDP read() returns an ArrayBuffer carrying
//   `address` and `port`, write(buffer, address, port); both have close(), as does Listener.
// The SDK's own typings/embedded_io/socket/*.d.ts (which mcconfig's tsc uses) lack UDP and
// Listener close() and type TCP write() as void; @moddable/typings 5.6.0 has no HTTP server.

declare module "embedded:io/socket/tcp" {
  export interface TCPOptions {
    address?: string;
    host?: string;
    port?: number;
    from?: object;
    nodelay?: boolean;
    format?: "number" | "buffer";
    target?: unknown;
    onReadable?: (this: TCP, count: number) => void;
    onWritable?: (this: TCP, count: number) => void;
    onError?: (this: TCP) => void;
  }
  export default class TCP {
    constructor(options: TCPOptions);
    read(count?: number | ArrayBuffer | ArrayBufferView): number | ArrayBuffer | undefined;
    write(data: number | ArrayBuffer | ArrayBufferView, options?: { more?: boolean }): number | undefined;
    close(): void;
    format: "number" | "buffer";
    readonly remoteAddress: string | undefined;
    readonly remotePort: number | undefined;
  }
}

declare module "embedded:io/socket/listener" {
  import type TCP from "embedded:io/socket/tcp";
  export default class Listener {
    constructor(options: { port?: number; target?: unknown; onReadable?: (this: Listener, count: number) => void });
    /** The next accepted connection, a TCP without callbacks (hand it on with `from`). */
    read(): TCP | undefined;
    close(): void;
    readonly port: number;
  }
}

declare module "embedded:io/socket/udp" {
  export type UDPPacket = ArrayBuffer & { address: string; port: number };
  export default class UDP {
    constructor(options: { port?: number; target?: unknown; onReadable?: (this: UDP, packets: number) => void });
    read(): UDPPacket | undefined;
    write(data: ArrayBuffer | ArrayBufferView, address: string, port: number): void;
    close(): void;
  }
}

declare module "embedded:network/http/client" {
  export interface HTTPClientRequest {
    read(count?: number): ArrayBuffer | undefined;
    read(buffer: ArrayBuffer | ArrayBufferView): number | undefined;
  }
  export interface HTTPClientRequestOptions {
    method?: string;
    path?: string;
    headers?: Map<string, string>;
    onHeaders?: (this: HTTPClientRequest, status: number, headers: Map<string, string>, statusText: string) => void;
    onReadable?: (this: HTTPClientRequest, count: number) => void;
    onDone?: (this: HTTPClientRequest, error: Error | null) => void;
  }
  export default class HTTPClient {
    constructor(options: { host: string; port?: number; dns: { io: unknown }; socket: { io: unknown }; onError?: (error?: unknown) => void });
    request(options: HTTPClientRequestOptions): HTTPClientRequest;
    close(): void;
  }
}

declare module "embedded:network/http/server" {
  export interface HTTPServerConnection {
    accept(handlers: object): void;
    respond(response: { status: number; headers: Map<string, string> }): void;
    read(count?: number): ArrayBuffer | undefined;
    write(data?: ArrayBuffer | ArrayBufferView): number;
    close(): void;
  }
  export default class HTTPServer {
    constructor(options: { io: unknown; port?: number; onConnect: (connection: HTTPServerConnection) => void });
    close(): void;
  }
}

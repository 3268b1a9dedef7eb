// A TCP socket (and a listener handing out such sockets) for the SDK's ECMA-419
// HTTP client and server whose callbacks never let an exception escape into the
// native socket code. An exception thrown there ends the app: xsEndHost
// (xs/includes/xs.h) calls fxAbort(xsUnhandledExceptionExit). The SDK's JS can throw
// inside socket callbacks:
// - examples/io/tcp/httpclient/httpclient.js #onReadable: a status line without a
//   second space (a non-HTTP peer, "HTTP/1.1 200\r\n") calls #error, which closes the
//   socket, then goes on parsing: `this.#socket.format = ...` throws a TypeError;
//   a bad chunk trailer throws `new Error`.
// - examples/io/listener/httpserver/httpserver.js: after a response completes inside
//   onWritable the connection is closed, but modules/io/socket/lin/tcp.c reportTrigger
//   still delivers the readable or error events of the same poll; Connection then reads
//   `this.#socket.format` or `this.#options.onError` of a closed connection.
// A guarded socket drops events once it is closed, and turns an exception thrown by a
// callback into a logged fault: it closes the socket and reports onError to its owner,
// so the client's request gets onDone(error) and the server's route gets onError.
//
// A peer known to be gone is never written to again: once the socket reported onError, or
// a write failed (lin's tcp.c returns nothing then; its error event would never come, since
// tcpTask stops polling a socket in error), writes are dropped and onError is reported once,
// after the current call. On lin a write to a peer that reset the connection raises SIGPIPE,
// and with xsbug attached the simulator no longer ignores it (xs/platforms/lin_xs.c restores
// SIG_DFL after connecting to xsbug): the app would die of a client that left early.
//
// Server sockets can also write the status line's reason phrase: httpserver.js writes
// `HTTP/1.1 ${status} ${reason(status)}` from its own table, which lacks 422 (and some
// others) and then says "OK" ("HTTP/1.1 422 OK"); with `reasonPhrase` the first write of
// the socket, when it is a whole status line, goes out with our phrase instead.
//
// Server sockets also accept HTTP/1.0 request lines: httpserver.js refuses anything but
// "HTTP/1.1" ("badly formed", connection dropped), which would shut out HTTP/1.0 clients
// such as captive-network probes and ab; the version digit is read as 1 (the answer is
// HTTP/1.1 with Content-Length and connection: close, which 1.0 clients read).

/** What the guard uses of an embedded:io/socket/tcp instance (modules/io/socket/lin/tcp.js, lwip/tcp.js). */
export interface RawTcp {
  read(arg?: unknown): unknown;
  write(data: unknown, options?: unknown): unknown;
  close(): void;
  format: string;
  /** The peer's address (modules/io/socket/lwip/tcp.c xs_tcp_get_remoteAddress); there is no local address getter. */
  readonly remoteAddress?: string;
}
/**
 * Watches a socket from its dictionary: the HTTP client adapter passes `socket: {io, watch}`,
 * which httpclient.js spreads into the socket's dictionary. Never passed on to the TCP.
 */
export interface SocketWatch {
  /** Each value read() returned (one byte as a number in "number" format: the status line and headers). */
  read?(value: unknown): void;
  /** What each write returned: bytes still writable once connected; undefined where lin's tcp.c write() failed (a refused connect is reported writable there first). */
  wrote?(result: unknown): void;
}

export type TcpDictionary = Record<string, unknown> & {
  from?: unknown;
  watch?: SocketWatch;
  onReadable?: (count: number) => void;
  onWritable?: (count: number) => void;
  onError?: () => void;
};
export type TcpConstructor = new (options: TcpDictionary) => RawTcp;

/** What the guard uses of an embedded:io/socket/listener instance (modules/io/socket/lin/listener.js). */
export interface RawListener {
  read(): RawTcp | undefined;
  close(): void;
  readonly port?: number;
}
export type ListenerConstructor = new (options: Record<string, unknown>) => RawListener;

export interface GuardOptions {
  /** Where faults are reported (main.ts passes trace). */
  log?: (line: string) => void;
  /** Read an "HTTP/1.0" request line as "HTTP/1.1" (server sockets). */
  acceptHttp10?: boolean;
  /** The status line's reason phrase for a status (server sockets); undefined keeps the SDK's. */
  reasonPhrase?: (status: number) => string | undefined;
  /** Listeners: told the peer address of each accepted socket as it is read (undefined when the socket cannot say). */
  accepted?: (remoteAddress: string | undefined) => void;
}

/** Longest first write read as a status line. */
const STATUS_LINE_MAX = 128;

/** The bytes of a buffer or view written to a socket; undefined for anything else (a number in "number" format). */
function bytesOf(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/** `line` ("HTTP/1.1 422 OK\r\n") with the phrase `reasonPhrase` gives, or undefined to write it as it is. */
export function restatus(data: unknown, reasonPhrase: (status: number) => string | undefined): Uint8Array | undefined {
  const bytes = bytesOf(data);
  if (!bytes || bytes.byteLength > STATUS_LINE_MAX) return undefined;
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  const line = /^(HTTP\/1\.1 ([1-5][0-9][0-9])) (.*)\r\n$/.exec(text);
  const phrase = line ? reasonPhrase(Number(line[2])) : undefined;
  if (!line || phrase === undefined || phrase === line[3]) return undefined;
  const out = `${line[1]} ${phrase}\r\n`;
  return Uint8Array.from(out, (c) => c.charCodeAt(0) & 0xff);
}

const SPACE = 0x20;
const NEWLINE = 0x0a;
const ZERO = 0x30;
const ONE = 0x31;
const VERSION_PREFIX = "HTTP/1.";

export interface GuardedTcp extends RawTcp {
  readonly closed: boolean;
}
export type GuardedTcpConstructor = new (options: TcpDictionary) => GuardedTcp;

/** A socket class with the TCP's dictionary and methods, whose callbacks are guarded. */
export function guardTcp(TCP: TcpConstructor, options: GuardOptions = {}): GuardedTcpConstructor {
  const log = options.log ?? (() => undefined);
  const acceptHttp10 = options.acceptHttp10 === true;
  const reasonPhrase = options.reasonPhrase;

  class GuardedSocket implements GuardedTcp {
    #tcp: RawTcp | undefined;
    /** An accepted socket not yet given callbacks (Listener.read, then Connection's `new from.constructor({from, ...})`). */
    #held: RawTcp | undefined;
    #closed = false;
    /** Request line state for acceptHttp10: spaces seen and the version token so far; -1 once the line has ended. */
    #spaces = acceptHttp10 ? 0 : -1;
    #token = "";
    #watch: SocketWatch | undefined;
    /** Nothing written yet: the first write may be the status line (reasonPhrase). */
    #first = reasonPhrase !== undefined;
    /** The peer is known to be gone (onError, or a failed write): nothing more is written. */
    #gone = false;
    #onError: (() => void) | undefined;

    constructor(dictionary: TcpDictionary) {
      const { from, onReadable, onWritable, onError, io: _io, watch, ...rest } = dictionary;
      this.#watch = watch;
      const source = from instanceof GuardedSocket ? from.#release() : from;
      if (source !== undefined && !onReadable && !onWritable && !onError) {
        this.#held = source as RawTcp;
        return;
      }
      const fault = (error: unknown, notify: boolean) => {
        log(`socket: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)} in a callback; connection closed\n`);
        this.close();
        if (!notify || !onError) return;
        try {
          onError.call(this);
        } catch (again) {
          log(`socket: onError after a fault failed too: ${again instanceof Error ? again.message : String(again)}\n`);
        }
      };
      const guard = <A extends unknown[]>(callback: ((...args: A) => void) | undefined, notify: boolean) =>
        callback &&
        ((...args: A) => {
          if (this.#closed) return; // events of the poll that saw the close
          try {
            callback.apply(this, args);
          } catch (e) {
            fault(e, notify);
          }
        });
      const guardedError = guard(onError, false);
      this.#onError = guardedError && (() => guardedError());
      const wrapped: TcpDictionary = {
        ...rest,
        onReadable: guard(onReadable, true),
        onWritable: guard(onWritable, true),
        onError: () => {
          this.#gone = true;
          if (!this.#onError) return; // already reported after a failed write
          this.#onError = undefined;
          guardedError?.();
        },
      };
      if (source !== undefined) wrapped.from = source;
      this.#tcp = new TCP(wrapped);
    }

    get closed(): boolean {
      return this.#closed;
    }

    get format(): string {
      return this.#tcp?.format ?? "buffer";
    }

    set format(value: string) {
      if (this.#tcp) this.#tcp.format = value;
    }

    read(arg?: unknown): unknown {
      const tcp = this.#tcp;
      if (!tcp) return undefined;
      const value = arg === undefined ? tcp.read() : tcp.read(arg);
      this.#watch?.read?.(value);
      return this.#spaces >= 0 && typeof value === "number" ? this.#requestLine(value) : value;
    }

    write(data: unknown, options?: unknown): unknown {
      const tcp = this.#tcp;
      if (!tcp || this.#gone) return 0;
      if (this.#first && reasonPhrase) {
        this.#first = false;
        data = restatus(data, reasonPhrase) ?? data;
      }
      const result = options === undefined ? tcp.write(data) : tcp.write(data, options);
      this.#watch?.wrote?.(result);
      if (typeof result === "number") return result;
      // lin: write() failed (the peer is gone); the next one could raise SIGPIPE
      this.#gone = true;
      log("socket: write failed; the peer is gone, nothing more is written\n");
      const report = this.#onError;
      this.#onError = undefined;
      if (report) void Promise.resolve().then(report);
      return 0;
    }

    close(): void {
      this.#closed = true;
      const tcp = this.#tcp ?? this.#held;
      this.#tcp = this.#held = undefined;
      tcp?.close();
    }

    #release(): RawTcp | undefined {
      const held = this.#held;
      this.#held = undefined;
      this.#closed = true;
      return held;
    }

    /** Passes the request line's bytes through, reading the version "HTTP/1.0" as "HTTP/1.1". */
    #requestLine(byte: number): number {
      if (byte === NEWLINE) {
        this.#spaces = -1;
        return byte;
      }
      if (byte === SPACE) {
        this.#spaces++;
        this.#token = "";
        return byte;
      }
      if (this.#spaces !== 2) return byte;
      if (byte === ZERO && this.#token === VERSION_PREFIX) {
        this.#token += "1";
        return ONE;
      }
      this.#token += String.fromCharCode(byte);
      return byte;
    }
  }
  return GuardedSocket;
}

/** A listener class whose accepted sockets are `Socket`s (guarded) and whose onReadable is guarded too. */
export function guardListener(Listener: ListenerConstructor, Socket: GuardedTcpConstructor, options: GuardOptions = {}): ListenerConstructor {
  const log = options.log ?? (() => undefined);
  return class GuardedListener implements RawListener {
    #listener: RawListener;
    /** httpserver.js passes `target: this` and reads `this.target` inside onReadable. */
    readonly target: unknown;

    constructor(dictionary: Record<string, unknown>) {
      const { onReadable, ...rest } = dictionary as { onReadable?: (this: RawListener, count: number) => void };
      this.target = (dictionary as { target?: unknown }).target;
      const self = this as RawListener;
      this.#listener = new Listener({
        ...rest,
        onReadable(count: number) {
          try {
            onReadable?.call(self, count);
          } catch (e) {
            log(`listener: ${e instanceof Error ? e.message : String(e)}\n`);
          }
        },
      });
    }

    read(): RawTcp | undefined {
      const tcp = this.#listener.read();
      if (!tcp) return undefined;
      options.accepted?.(peerAddress(tcp, log));
      return new Socket({ from: tcp });
    }

    close(): void {
      this.#listener.close();
    }

    get port(): number | undefined {
      return this.#listener.port;
    }
  };
}

/** The accepted socket's peer address, read before the socket is handed on (a getter that throws says nothing). */
function peerAddress(tcp: RawTcp, log: (line: string) => void): string | undefined {
  try {
    const address = tcp.remoteAddress;
    return typeof address === "string" && address !== "" ? address : undefined;
  } catch (e) {
    log(`listener: no peer address: ${e instanceof Error ? e.message : String(e)}\n`);
    return undefined;
  }
}

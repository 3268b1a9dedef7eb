// Runs the Moddable SDK's own ECMA-419 HTTP client and server JS (from a checkout named by
// $MODDABLE, never copied into this repository) on Node, over sockets that behave like the
// lin simulator's (modules/io/socket/lin/tcp.c), so the device adapters can be tested
// against the real SDK code paths. Tests using it skip when MODDABLE is not set.
//
// What the socket reproduces from tcp.c: a 1536-byte read buffer refilled by a poll
// (tcpTask, every 20 ms there, every 2 ms here) only while it has room; in one poll the
// triggers are reported in reportTrigger's order, onWritable (suppressed once an error is
// pending), onReadable(bytesReadable), onError(); a failed connect or a peer's close is
// reported (onError) by the poll that finds it with the buffer empty, and an error found
// any other way (end of stream with bytes still buffered, a failed write) is never
// reported, since tcpTask returns early once tcp->error is set; a write never blocks but
// lowers bytesWritable, which the poll restores to 1536 (and reports) once the kernel has
// taken the bytes; read() returns one byte in "number" format, else an ArrayBuffer of the
// count asked (all by default), or fills a given buffer and returns the count;
// `{from}` takes over an accepted socket. An exception thrown by a callback is rethrown
// from the poll as an uncaught exception: on the device it would abort XS.
import { existsSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { build } from "esbuild";

export const sdk = process.env.MODDABLE && existsSync(join(process.env.MODDABLE, "examples", "io", "tcp", "httpclient", "httpclient.js")) ? process.env.MODDABLE : undefined;
export const skipWithoutSdk = sdk ? false : "set MODDABLE to a Moddable SDK 8.2.3 checkout to run the SDK's HTTP client and server";

const BUFFER = 1536;
const POLL_MS = 2;

/** Callbacks that threw, for the tests to assert none did (on the device each would abort XS). */
export const escaped: unknown[] = [];

function deliver(callback: (() => void) | undefined): void {
  if (!callback) return;
  try {
    callback();
  } catch (e) {
    escaped.push(e);
  }
}

type Callback = ((...args: never[]) => void) | undefined;

export class LinTcp {
  format: "buffer" | "number" = "buffer";
  private socket: net.Socket | undefined;
  private queue: Buffer[] = [];
  private readBuf = Buffer.alloc(0);
  private bytesWritable = 0;
  private connected = false;
  private error = false;
  private ended = false;
  private done = false;
  private timer: NodeJS.Timeout | undefined;
  private onReadable: Callback;
  private onWritable: Callback;
  private onError: Callback;

  constructor(options: Record<string, unknown> = {}) {
    if (options.format === "number") this.format = "number";
    this.onReadable = options.onReadable as Callback;
    this.onWritable = options.onWritable as Callback;
    this.onError = options.onError as Callback;
    const from = options.from as LinTcp | undefined;
    if (from) {
      this.socket = from.take();
      this.connected = true; // the first poll finds it writable and reports onWritable(1536), as tcpTask does
      this.attach();
    } else if (options.address !== undefined) {
      if (!net.isIPv4(String(options.address))) throw new Error("invalid address");
      this.socket = net.connect({ host: String(options.address), port: Number(options.port) });
      this.socket.on("connect", () => {
        this.connected = true;
      });
      this.attach();
    }
    if (this.socket) this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  /** The peer's address (tcp.c xs_tcp_get_remoteAddress: getpeername). */
  get remoteAddress(): string | undefined {
    return this.socket?.remoteAddress;
  }

  /** An accepted socket handed out by LinListener.read(). */
  static accepted(socket: net.Socket): LinTcp {
    const tcp = new LinTcp();
    tcp.socket = socket;
    socket.pause();
    return tcp;
  }

  private take(): net.Socket | undefined {
    const socket = this.socket;
    this.socket = undefined;
    this.done = true;
    return socket;
  }

  private attach(): void {
    const socket = this.socket!;
    socket.on("data", (data) => {
      this.queue.push(data);
      if (this.queue.reduce((n, b) => n + b.length, 0) > 64 * 1024) socket.pause();
    });
    socket.on("end", () => (this.ended = true));
    socket.on("error", () => (this.ended = true));
    socket.on("close", () => (this.ended = true));
    socket.resume();
  }

  private poll(): void {
    if (this.done || this.error || !this.socket) return;
    let writable = false;
    let readable = false;
    let failed = false;
    if (this.connected && this.bytesWritable !== BUFFER && this.socket.writableLength === 0) {
      this.bytesWritable = BUFFER;
      writable = true;
    }
    if (this.readBuf.length < BUFFER) {
      if (this.queue.length > 0) {
        const all = Buffer.concat(this.queue);
        const take = Math.min(all.length, BUFFER - this.readBuf.length);
        this.readBuf = Buffer.concat([this.readBuf, all.subarray(0, take)]);
        this.queue = take < all.length ? [all.subarray(take)] : [];
        if (this.socket.isPaused() && this.queue.length === 0) this.socket.resume();
        readable = true;
      } else if (this.ended) {
        this.error = true;
        if (this.readBuf.length === 0) failed = true;
      }
    }
    if (writable && !this.error) deliver(() => this.onWritable?.call(this as never, this.bytesWritable as never));
    if (readable && this.readBuf.length && !this.done) deliver(() => this.onReadable?.call(this as never, this.readBuf.length as never));
    if (failed && !this.done) deliver(() => this.onError?.call(this as never));
  }

  read(arg?: unknown): unknown {
    if (!this.readBuf.length) return undefined;
    let count: number;
    let into: Uint8Array | undefined;
    if (this.format === "number") count = 1;
    else if (arg === undefined) count = this.readBuf.length;
    else if (typeof arg === "object") {
      into = ArrayBuffer.isView(arg) ? new Uint8Array(arg.buffer, arg.byteOffset, arg.byteLength) : new Uint8Array(arg as ArrayBuffer);
      count = into.length;
    } else count = Number(arg);
    if (count <= 0 || count > this.readBuf.length) throw new Error("invalid"); // tcp.c xs_tcp_read
    const bytes = this.readBuf.subarray(0, count);
    this.readBuf = this.readBuf.subarray(count);
    if (this.format === "number") return bytes[0];
    if (into) {
      into.set(bytes);
      return count;
    }
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + count);
  }

  write(data: unknown): unknown {
    const socket = this.socket;
    if (!socket) return undefined;
    const bytes = typeof data === "number" ? Buffer.from([data]) : ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data as ArrayBuffer);
    if (bytes.length > this.bytesWritable) throw new Error("would block");
    this.bytesWritable -= bytes.length;
    if (socket.destroyed || this.ended) {
      // tcp.c: "write failed" -> tcpTrigger(kTCPError), but tcpTask returns early once
      // tcp->error is set, so that trigger is never reported: the socket just goes quiet.
      this.error = true;
      return undefined;
    }
    socket.write(Buffer.from(bytes));
    return this.bytesWritable;
  }

  close(): void {
    this.done = true;
    clearInterval(this.timer);
    this.socket?.destroy();
    this.socket = undefined;
  }
}

/** modules/io/socket/lin/listener.js: binds 0.0.0.0 (here 127.0.0.1); a taken port throws "bind socket failed". */
export class LinListener {
  private server: net.Server;
  private pending: net.Socket[] = [];
  private timer: NodeJS.Timeout;
  readonly target: unknown;

  constructor(options: { port?: number; target?: unknown; onReadable?: (this: LinListener, count: number) => void }) {
    this.target = options.target;
    const port = options.port ?? 0;
    // Node binds asynchronously; the SDK throws from the constructor. Check synchronously-ish:
    if (LinListener.taken.has(port)) throw new Error("bind socket failed (in Listener)");
    this.server = net.createServer({ pauseOnConnect: true }, (socket) => this.pending.push(socket));
    this.server.listen(port, "127.0.0.1");
    this.timer = setInterval(() => {
      if (this.pending.length) deliver(() => options.onReadable?.call(this, this.pending.length));
    }, POLL_MS);
  }

  /** Ports a test has occupied (Node cannot fail a bind synchronously). */
  static taken = new Set<number>();

  read(): LinTcp | undefined {
    const socket = this.pending.shift();
    return socket ? LinTcp.accepted(socket) : undefined;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo | null)?.port ?? 0;
  }

  listening(): Promise<number> {
    return new Promise((resolve) => (this.server.listening ? resolve(this.port) : this.server.once("listening", () => resolve(this.port))));
  }

  close(): void {
    clearInterval(this.timer);
    this.server.close();
    for (const socket of this.pending) socket.destroy();
  }
}

/** The SDK module at `path` (relative to $MODDABLE), bundled with `timer` mapped to Node timers. */
export async function loadSdkModule<T>(path: string): Promise<T> {
  const withFromString = ArrayBuffer as unknown as { fromString?: (s: string) => ArrayBuffer };
  withFromString.fromString ??= (s: string) => new TextEncoder().encode(s).slice().buffer; // XS extension
  (globalThis as { trace?: (s: string) => void }).trace ??= () => undefined;
  const result = await build({
    entryPoints: [join(sdk!, path)],
    bundle: true,
    format: "esm",
    platform: "neutral",
    write: false,
    plugins: [
      {
        name: "moddable-timer",
        setup(b) {
          b.onResolve({ filter: /^timer$/ }, () => ({ path: "timer", namespace: "moddable" }));
          b.onLoad({ filter: /.*/, namespace: "moddable" }, () => ({
            contents: `export default {
              set(callback, ms = 0, repeat) { const id = { t: setTimeout(function tick() { if (repeat) id.t = setTimeout(tick, repeat); callback(id); }, ms) }; return id; },
              repeat(callback, ms) { const id = { t: setInterval(() => callback(id), ms) }; return id; },
              clear(id) { if (id) { clearTimeout(id.t); clearInterval(id.t); } },
            };`,
            loader: "js",
          }));
        },
      },
    ],
  });
  const code = result.outputFiles[0].text;
  const module = (await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`)) as { default: T };
  return module.default;
}

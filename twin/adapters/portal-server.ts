// The portal's HTTP server on node:http, shaped like the device's: each request
// becomes a PortalRequest; the portal's body router decides from the head alone
// whether the body is streamed (an upload: handed over in pieces of at most
// 4096 bytes as they arrive, never whole), answered at once unread (413, 409,
// 401...), or read as a form (capped at MAX_FORM_BODY; a Content-Length over
// the cap is answered 413 at once). Every answer has an explicit
// Content-Length and closes the connection, as on the device. While the twin
// "reboots" there is no handler and connections are dropped, as an
// unreachable board would. Each request carries the client's address and the
// board address it arrived at (`boardAddress` maps the socket's local address:
// the twin's loopback plays the board's access point). A connection with no traffic either way for idleMs
// (default 30 s, the board's: modules/moddable/http-server.ts) is closed and
// its body sink aborted with "idle", as the board's sweep does.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { PortalBodyRouter, PortalBodySink, PortalRequest, PortalResponse } from "../../modules/core/ports";
import type { PortalHandler } from "../../modules/core/updater-api";
import { MAX_FORM_BODY } from "../../modules/core/portal/portal";

/** Largest piece handed to a body sink (the port's bound). */
export const BODY_PIECE = 4096;

/** The board's default (modules/moddable/http-server.ts PortalServerOptions.idleMs). */
export const IDLE_MS = 30_000;

export interface PortalServerOptions {
  /** A connection with no traffic for this long is closed. Default IDLE_MS. */
  idleMs?: number;
}

export class PortalServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Sockets closed for idleness: their sink's abort says so. */
  private readonly idled = new WeakSet<Socket>();
  /** Told when a streamed body (an upload) has been taken whole: its path, size and the time from its first byte to its last (benches). */
  onStreamed: ((path: string, bytes: number, ms: number) => void) | undefined;
  /** The running firmware's handler (and its body router); undefined while the board restarts. */
  handler: (PortalHandler & { bodyRouter?: PortalBodyRouter }) | undefined;
  /** The board's address a request arrived at, from the socket's local address (PortalRequest.localAddress); the socket's own when unset. */
  boardAddress: ((local: string) => string) | undefined;

  constructor(options: PortalServerOptions = {}) {
    const idleMs = options.idleMs ?? IDLE_MS;
    this.server = createServer({ maxHeaderSize: 8 * 1024, requestTimeout: 10 * 60_000 }, (req, res) => this.serve(req, res));
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      // Node's socket timeout restarts on every read and write: "idle" as the board's sweep means it.
      socket.setTimeout(idleMs, () => {
        this.idled.add(socket);
        socket.destroy();
      });
    });
  }

  listen(port: number, host = "127.0.0.1"): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Drops every open connection (a board reset loses its TCP state). */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.dropConnections();
    });
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const handler = this.handler;
    if (!handler) {
      req.socket.destroy();
      return;
    }
    const head = portalRequest(req, "", this.boardAddress);
    let routed: ReturnType<PortalBodyRouter>;
    try {
      routed = handler.bodyRouter?.(head);
    } catch (error) {
      console.error("portal body router threw:", error);
      return this.send(req, res, head, { status: 500, headers: [["Content-Type", "text/plain; charset=utf-8"]], body: "Internal error\n" });
    }
    if (routed && "respond" in routed) return this.send(req, res, head, routed.respond);
    if (routed) return this.stream(req, res, head, routed.stream);
    const declared = Number(head.headers.get("content-length") ?? 0);
    if (declared > MAX_FORM_BODY) return this.respond(req, res, head); // 413 from the header alone, the body unread
    this.readForm(req, res, head);
  }

  private readForm(req: IncomingMessage, res: ServerResponse, head: PortalRequest): void {
    const parts: Buffer[] = [];
    let length = 0;
    let answered = false;
    const answer = () => {
      if (answered) return;
      answered = true;
      this.respond(req, res, { ...head, body: Buffer.concat(parts).toString("utf8") });
    };
    req.on("data", (chunk: Buffer) => {
      if (answered) return;
      // Keep one byte over the cap so the portal sees the body is too large, then answer at once.
      const room = MAX_FORM_BODY + 1 - length;
      parts.push(chunk.subarray(0, Math.max(0, room)));
      length += Math.min(chunk.length, Math.max(0, room));
      if (length > MAX_FORM_BODY) answer();
    });
    req.on("end", answer);
    req.on("error", () => req.socket.destroy());
  }

  /** Hands the body to the sink in pieces as it arrives; answers with what end() returns. */
  private stream(req: IncomingMessage, res: ServerResponse, head: PortalRequest, sink: PortalBodySink): void {
    let done = false;
    const abort = (why: string) => {
      if (done) return;
      done = true;
      sink.abort(this.idled.has(req.socket) ? "idle" : why);
      req.socket.destroy();
    };
    let first = 0;
    let bytes = 0;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      if (bytes === 0) first = performance.now();
      bytes += chunk.length;
      try {
        for (let at = 0; at < chunk.length && !done; at += BODY_PIECE) sink.write(new Uint8Array(chunk.buffer, chunk.byteOffset + at, Math.min(BODY_PIECE, chunk.length - at)));
      } catch (error) {
        abort(`the device could not take it: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      let response: PortalResponse;
      this.onStreamed?.(head.path, bytes, performance.now() - first);
      try {
        response = sink.end();
      } catch (error) {
        console.error("portal body sink threw:", error);
        response = { status: 500, headers: [["Content-Type", "text/plain; charset=utf-8"]], body: "Internal error\n" };
      }
      this.send(req, res, head, response);
    });
    // The sink gave up on a body that stopped coming (an upload's stall): its answer (408) now, then close.
    sink.watch?.((response) => {
      if (done) return;
      done = true;
      res.on("finish", () => req.socket.end());
      this.send(req, res, head, response);
    });
    req.on("aborted", () => abort("the client went away"));
    req.on("error", () => abort("connection error"));
    req.on("close", () => abort("the connection closed"));
  }

  private respond(req: IncomingMessage, res: ServerResponse, request: PortalRequest): void {
    const handler = this.handler;
    if (!handler) {
      req.socket.destroy();
      return;
    }
    let response: PortalResponse;
    try {
      response = handler(request);
    } catch (error) {
      // The device would log and answer 500; the twin says so on its console too.
      console.error("portal handler threw:", error);
      response = { status: 500, headers: [["Content-Type", "text/plain; charset=utf-8"]], body: "Internal error\n" };
    }
    this.send(req, res, request, response);
  }

  private send(req: IncomingMessage, res: ServerResponse, request: PortalRequest, response: PortalResponse): void {
    if (!this.handler || res.writableEnded) {
      req.socket.destroy();
      return;
    }
    const out = Buffer.from(response.body, "utf8");
    res.statusCode = response.status;
    for (const [name, value] of response.headers) {
      if (name.toLowerCase() !== "content-length") res.appendHeader(name, value);
    }
    res.setHeader("Content-Length", out.length);
    res.setHeader("Connection", "close");
    res.shouldKeepAlive = false;
    res.end(request.method.toUpperCase() === "HEAD" ? undefined : out);
  }
}

/** "::ffff:127.0.0.1" as "127.0.0.1". */
function ipv4(address: string | undefined): string | undefined {
  return address?.startsWith("::ffff:") ? address.slice(7) : address;
}

function portalRequest(req: IncomingMessage, body: string, boardAddress: ((local: string) => string) | undefined): PortalRequest {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const headers = new Map<string, string>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? req.rawHeaders[i + 1] : `${previous}, ${req.rawHeaders[i + 1]}`);
  }
  const request: PortalRequest = { method: req.method ?? "GET", path: q < 0 ? url : url.slice(0, q), query: q < 0 ? "" : url.slice(q + 1), headers, body };
  const remote = ipv4(req.socket.remoteAddress);
  const local = ipv4(req.socket.localAddress);
  if (remote !== undefined) request.remoteAddress = remote;
  if (local !== undefined) request.localAddress = boardAddress ? boardAddress(local) : local;
  return request;
}

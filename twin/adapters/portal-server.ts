// The portal's HTTP server on node:http: turns each request into a
// PortalRequest (body capped at the portal's MAX_FORM_BODY, Content-Length
// passed through so the portal can answer 413), calls the synchronous handler
// and writes the answer with an explicit Content-Length. Like the device's
// server, every response closes the connection. While the twin "reboots" there
// is no handler and connections are dropped, as an unreachable board would.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { PortalRequest } from "../../modules/core/ports";
import type { PortalHandler } from "../../modules/core/updater-api";
import { MAX_FORM_BODY } from "../../modules/core/portal/portal";

export class PortalServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** The running firmware's handler; undefined while the board restarts. */
  handler: PortalHandler | undefined;

  constructor() {
    this.server = createServer({ maxHeaderSize: 8 * 1024, requestTimeout: 30_000 }, (req, res) => this.serve(req, res));
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
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
    if (!this.handler) {
      req.socket.destroy();
      return;
    }
    const parts: Buffer[] = [];
    let length = 0;
    let answered = false;
    const answer = () => {
      if (answered) return;
      answered = true;
      this.respond(req, res, Buffer.concat(parts).toString("utf8"));
    };
    req.on("data", (chunk: Buffer) => {
      if (answered) return;
      // Keep one byte over the cap so the portal sees the body is too large, then answer at once.
      const room = MAX_FORM_BODY + 1 - length;
      parts.push(chunk.subarray(0, Math.max(0, room)));
      length += Math.min(chunk.length, Math.max(0, room));
      if (length > MAX_FORM_BODY) {
        res.shouldKeepAlive = false;
        answer();
      }
    });
    req.on("end", answer);
    req.on("error", () => req.socket.destroy());
  }

  private respond(req: IncomingMessage, res: ServerResponse, body: string): void {
    const handler = this.handler;
    if (!handler) {
      req.socket.destroy();
      return;
    }
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const headers = new Map<string, string>();
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i].toLowerCase();
      const previous = headers.get(name);
      headers.set(name, previous === undefined ? req.rawHeaders[i + 1] : `${previous}, ${req.rawHeaders[i + 1]}`);
    }
    const request: PortalRequest = { method: req.method ?? "GET", path: q < 0 ? url : url.slice(0, q), query: q < 0 ? "" : url.slice(q + 1), headers, body };
    let status = 500;
    let out: Buffer;
    let responseHeaders: Array<[string, string]> = [["Content-Type", "text/plain; charset=utf-8"]];
    try {
      const response = handler(request);
      status = response.status;
      responseHeaders = response.headers;
      out = Buffer.from(response.body, "utf8");
    } catch (error) {
      // The device would log and answer 500; the twin says so on its console too.
      console.error("portal handler threw:", error);
      out = Buffer.from("Internal error\n");
    }
    res.statusCode = status;
    for (const [name, value] of responseHeaders) {
      if (name.toLowerCase() !== "content-length") res.appendHeader(name, value);
    }
    res.setHeader("Content-Length", out.length);
    res.setHeader("Connection", "close");
    res.end(request.method.toUpperCase() === "HEAD" ? undefined : out);
  }
}

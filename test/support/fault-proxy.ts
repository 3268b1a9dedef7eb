// A fault-injecting TCP proxy on loopback, in front of the update server. It
// reads each connection's request line and, for requests whose path matches,
// tampers with the response body: flip one byte at an offset, cut the
// connection after a share of the body, or stall (stop forwarding, keep the
// socket open). Each fault fires a limited number of times (default once), so
// a Range resume after a cut goes through untouched.
import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

export interface Fault {
  /** Requests whose path matches are tampered with. Default: paths ending in ".bin". */
  match?: RegExp;
  /** XOR 0xFF into the body byte at this offset. */
  flipAt?: number;
  /** Close both sockets after this share of the body (0..1), e.g. 0.5. */
  cutAt?: number;
  /** Stop forwarding after this many body bytes; the connection stays open. */
  stallAt?: number;
  /** How many matching requests are tampered with. Default 1. */
  times?: number;
}

export interface ProxyStats {
  connections: number;
  requests: string[];
  flipped: number;
  cuts: number;
  stalls: number;
}

const HEAD_END = Buffer.from("\r\n\r\n");

export class FaultProxy {
  readonly stats: ProxyStats = { connections: 0, requests: [], flipped: 0, cuts: 0, stalls: 0 };
  private readonly sockets = new Set<Socket>();
  private remaining: number;
  port = 0;

  private constructor(
    private readonly server: Server,
    private readonly upstream: { host: string; port: number },
    private fault: Fault,
  ) {
    this.remaining = fault.times ?? 1;
  }

  static async start(upstreamPort: number, fault: Fault = {}, upstreamHost = "127.0.0.1"): Promise<FaultProxy> {
    const server = createServer();
    const proxy = new FaultProxy(server, { host: upstreamHost, port: upstreamPort }, fault);
    server.on("connection", (client) => proxy.handle(client));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    proxy.port = (server.address() as AddressInfo).port;
    return proxy;
  }

  /** Replaces the fault (and its count). */
  setFault(fault: Fault): void {
    this.fault = fault;
    this.remaining = fault.times ?? 1;
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  }

  private handle(client: Socket): void {
    this.stats.connections++;
    this.track(client);
    const server = connect(this.upstream.port, this.upstream.host);
    this.track(server);
    let requestHead = Buffer.alloc(0);
    let decided = false;
    let active: Fault | undefined;
    client.on("data", (data) => {
      server.write(data);
      if (decided) return;
      requestHead = Buffer.concat([requestHead, data]);
      const lineEnd = requestHead.indexOf("\r\n");
      if (lineEnd < 0) return;
      decided = true;
      const path = requestHead.subarray(0, lineEnd).toString("latin1").split(" ")[1] ?? "";
      this.stats.requests.push(path);
      const match = this.fault.match ?? /\.bin(\?|$)/;
      if (this.remaining > 0 && match.test(path) && (this.fault.flipAt !== undefined || this.fault.cutAt !== undefined || this.fault.stallAt !== undefined)) {
        this.remaining--;
        active = this.fault;
      }
    });
    client.on("end", () => server.end());
    client.on("close", () => server.destroy());

    let head = Buffer.alloc(0);
    let inBody = false;
    let bodyOffset = 0;
    let bodyLength = -1;
    let stalled = false;
    server.on("data", (data: Buffer) => {
      if (stalled) return;
      if (!inBody) {
        head = Buffer.concat([head, data]);
        const end = head.indexOf(HEAD_END);
        if (end < 0) return;
        inBody = true;
        const headText = head.subarray(0, end).toString("latin1");
        const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(headText)?.[1] ?? 0);
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(headText);
        bodyLength = length ? Number(length[1]) : -1;
        if (status !== 200 && status !== 206) active = undefined;
        client.write(head.subarray(0, end + 4));
        data = head.subarray(end + 4);
      }
      this.body(client, server, data, bodyOffset, bodyLength, active, () => (stalled = true));
      bodyOffset += data.length;
    });
    server.on("end", () => {
      if (!stalled) client.end();
    });
    server.on("close", () => {
      if (!stalled) client.destroy();
    });
  }

  private body(client: Socket, server: Socket, data: Buffer, offset: number, length: number, fault: Fault | undefined, stall: () => void): void {
    if (!fault || data.length === 0) {
      if (data.length > 0) client.write(data);
      return;
    }
    const out = Buffer.from(data);
    if (fault.flipAt !== undefined && fault.flipAt >= offset && fault.flipAt < offset + out.length) {
      out[fault.flipAt - offset] ^= 0xff;
      this.stats.flipped++;
    }
    const limit = fault.cutAt !== undefined && length > 0 ? Math.floor(length * fault.cutAt) : fault.stallAt;
    if (limit !== undefined && offset + out.length > limit) {
      client.write(out.subarray(0, Math.max(0, limit - offset)));
      if (fault.cutAt !== undefined) {
        this.stats.cuts++;
        client.destroy();
        server.destroy();
      } else {
        this.stats.stalls++;
        stall();
        server.pause();
      }
      return;
    }
    client.write(out);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// The captive DNS adapter (modules/moddable/captive-dns.ts) over a UDP socket with the
// SDK 8.2.3 ECMA-419 shape (modules/io/socket/lin/udp.c, lwip/udp.c): the constructor binds
// `port` (throws "bind failed"), onReadable(count) is called with `this` = the socket and
// the number of queued packets, read() returns one packet as an ArrayBuffer carrying
// `address` and `port`, write(bytes, address, port) sends (throws "sendto failed" /
// "UDP send failed"). Here that shape runs over node:dgram, so a real resolver (c-ares,
// Node's dns.Resolver) asks the questions and parses the answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { Resolver } from "node:dns/promises";
import { CaptiveDns, openCaptiveDns, type UdpPacket, type UdpSocket } from "../../modules/moddable/captive-dns";

/** embedded:io/socket/udp over node:dgram (bound to loopback; port 0 = any free port). */
class DgramUdp implements UdpSocket {
  static last: DgramUdp | undefined;
  private queue: UdpPacket[] = [];
  readonly socket = dgram.createSocket("udp4");
  readonly ready: Promise<number>;

  constructor(options: { port: number; onReadable: (count: number) => void }) {
    DgramUdp.last = this;
    this.socket.on("message", (message, rinfo) => {
      const packet = message.buffer.slice(message.byteOffset, message.byteOffset + message.byteLength) as UdpPacket;
      packet.address = rinfo.address;
      packet.port = rinfo.port;
      this.queue.push(packet);
      options.onReadable.call(this, this.queue.length);
    });
    this.ready = new Promise((resolve) => this.socket.bind(options.port, "127.0.0.1", () => resolve(this.socket.address().port)));
  }
  read(): UdpPacket | undefined {
    return this.queue.shift();
  }
  write(data: Uint8Array, address: string, port: number): void {
    this.socket.send(data, port, address);
  }
  close(): void {
    this.socket.close();
  }
}

async function withDns(run: (resolver: Resolver, dns: CaptiveDns) => Promise<void>) {
  const dns = new CaptiveDns(DgramUdp, () => "192.168.4.1", { port: 0, ttl: 30 });
  const port = await DgramUdp.last!.ready;
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  try {
    await run(resolver, dns);
  } finally {
    dns.close();
  }
}

test("a real resolver gets the access point address for any name, with the TTL given", async () => {
  await withDns(async (resolver) => {
    assert.deepEqual(await resolver.resolve4("connectivitycheck.gstatic.com", { ttl: true }), [{ address: "192.168.4.1", ttl: 30 }]);
    assert.deepEqual(await resolver.resolve4("captive.apple.com"), ["192.168.4.1"]);
  });
});

test("AAAA and MX are answered at once with no records (ENODATA), not left to time out", async () => {
  await withDns(async (resolver) => {
    const started = Date.now();
    await assert.rejects(resolver.resolve6("captive.apple.com"), { code: "ENODATA" });
    await assert.rejects(resolver.resolveMx("example.com"), { code: "ENODATA" });
    assert.ok(Date.now() - started < 1500, "well inside the 2 s timeout");
  });
});

test("a failing write and a burst of packets are handled inside onReadable; the responder keeps serving", () => {
  const sent: string[] = [];
  const queue: UdpPacket[] = [];
  let onReadable: (count: number) => void = () => undefined;
  let failNext = true;
  class ScriptedUdp implements UdpSocket {
    constructor(options: { port: number; onReadable: (count: number) => void }) {
      onReadable = options.onReadable;
    }
    read() {
      return queue.shift();
    }
    write(data: Uint8Array, address: string, port: number) {
      if (failNext) {
        failNext = false;
        throw new Error("sendto failed"); // modules/io/socket/lin/udp.c xs_udp_write
      }
      sent.push(`${address}:${port} ${data.length}`);
    }
    close() {}
  }
  const lines: string[] = [];
  new CaptiveDns(ScriptedUdp, () => "192.168.4.1", { log: (line) => lines.push(line) });
  const query = Buffer.from("82250100000100000000000011636f6e6e6563746976697479636865636b076773746174696303636f6d0000010001", "hex");
  const packet = (port: number) => Object.assign(query.buffer.slice(query.byteOffset, query.byteOffset + query.length), { address: "192.168.4.2", port }) as UdpPacket;
  queue.push(packet(5001), packet(5002), Object.assign(new ArrayBuffer(3), { address: "192.168.4.3", port: 9 }) as UdpPacket);
  assert.doesNotThrow(() => onReadable(3));
  assert.deepEqual(sent, [`192.168.4.2:5002 ${query.length + 16}`], "the short packet gets no answer");
  assert.deepEqual(lines, ["captive DNS: sendto failed\n"]);
});

test("a port that cannot be bound leaves the app without captive DNS, logged", () => {
  class Taken {
    constructor() {
      throw new Error("bind failed"); // udp.c
    }
  }
  const lines: string[] = [];
  assert.equal(openCaptiveDns(Taken as never, () => "192.168.4.1", { port: 53, log: (line) => lines.push(line) }), undefined);
  assert.match(lines[0], /captive DNS: cannot listen on UDP port 53 \(bind failed\)/);
});

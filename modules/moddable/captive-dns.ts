// Captive DNS over ECMA-419 `embedded:io/socket/udp` (modules/io/socket/lwip/udp.c on
// esp32, modules/io/socket/lin/udp.c in the simulator, which binds unicast ports):
// onReadable(count) reports queued packets; read() returns one as an ArrayBuffer
// carrying `address` and `port`; write(bytes, address, port) answers. What to answer is
// decided by modules/core/portal/dns-answer.ts: every A query gets the access point
// address, other types an empty answer, malformed queries FORMERR.
// The constructor throws when the port cannot be bound; platform code logs that.

import { dnsAnswer } from "../core/portal/dns-answer";
import type { Closeable } from "./platform-api";

export interface UdpPacket extends ArrayBuffer {
  address: string;
  port: number;
}
export interface UdpSocket {
  read(): UdpPacket | undefined;
  write(data: Uint8Array, address: string, port: number): void;
  close(): void;
}
export type UdpConstructor = new (options: { port: number; onReadable: (count: number) => void }) => UdpSocket;

export interface CaptiveDnsOptions {
  /** 53 on the board; the simulator uses an unprivileged port. */
  port?: number;
  /** Seconds an answer may be cached; short, so a phone that later joins a real network forgets it. */
  ttl?: number;
  log?: (line: string) => void;
}

export class CaptiveDns implements Closeable {
  #socket: UdpSocket | undefined;
  #address: () => string;
  #ttl: number;
  #log: (line: string) => void;
  #failures = 0;
  readonly port: number;

  constructor(UDP: UdpConstructor, address: () => string, options: CaptiveDnsOptions = {}) {
    this.#address = address;
    this.#ttl = options.ttl ?? 60;
    this.#log = options.log ?? (() => undefined);
    this.port = options.port ?? 53;
    this.#socket = new UDP({ port: this.port, onReadable: (count) => this.#readable(count) });
  }

  close(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close();
  }

  #readable(count: number): void {
    // Called from native code: nothing may escape (xsEndHost aborts on an exception).
    for (let i = 0; i < count; i++) {
      const socket = this.#socket;
      if (!socket) return;
      let packet: UdpPacket | undefined;
      try {
        packet = socket.read();
        if (!packet) return;
        const answer = dnsAnswer(new Uint8Array(packet), this.#address(), this.#ttl);
        if (answer) socket.write(answer, packet.address, packet.port);
      } catch (e) {
        // a write to a vanished client ("sendto failed"): log the first few, keep serving
        if (this.#failures++ < 3) this.#log(`captive DNS: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    }
  }
}

/** Starts the responder; a port that cannot be bound is logged and leaves the portal without captive DNS. */
export function openCaptiveDns(UDP: UdpConstructor, address: () => string, options: CaptiveDnsOptions & { log: (line: string) => void }): CaptiveDns | undefined {
  try {
    const dns = new CaptiveDns(UDP, address, options);
    options.log(`captive DNS on UDP port ${dns.port}\n`);
    return dns;
  } catch (e) {
    options.log(`captive DNS: cannot listen on UDP port ${options.port ?? 53} (${e instanceof Error ? e.message : String(e)}); phones must open the portal by address\n`);
    return undefined;
  }
}

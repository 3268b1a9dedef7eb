// Captive DNS over `dns/server` (modules/network/dns/dnsserver.js): every A
// query is answered with the access point address, so a phone's connectivity
// probe lands on the portal. The responder answers A queries only and copies
// the whole query (EDNS OPT record included) before the answer; phones'
// probes (plain A queries) are served correctly.

import DNSServer from "dns/server";
import type { Closeable } from "./platform-api";

export class CaptiveDns implements Closeable {
  #server: DNSServer;

  constructor(address: () => string) {
    this.#server = new DNSServer(() => address());
  }

  close(): void {
    this.#server.close();
  }
}

// `dns/server`: a UDP responder that answers A queries only.
// Source: Moddable-OpenSource/moddable modules/network/dns/dnsserver.js
// (class Server extends Socket; the callback is called as client(1, name) and
// its string result, a dotted IPv4 address, becomes the answer; no result = no reply).

declare module "dns/server" {
  export default class Server {
    constructor(callback: (message: 1, name: string) => string | undefined, options?: { port?: number; ttl?: number });
    close(): void;
    static readonly resolve: 1;
  }
}

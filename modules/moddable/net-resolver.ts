// The `dns.io` resolver the SDK's ECMA-419 HTTP client takes
// (examples/io/tcp/httpclient/httpclient.js: `new options.dns.io(options.dns).resolve({host,
// onResolved(host, address), onError(host)})`), over the platform's own resolver,
// `Net.resolve` (modules/network/net/esp/modResolve.c: lwIP dns_gethostbyname with the DNS
// servers DHCP gave the station link, IP literals answered at once; lin/modResolve.c:
// GResolver). The SDK's UDP resolver (examples/io/udp/dns/dns.js) needs a fixed server
// list, which a board on a LAN without Internet access cannot reach.
//
// Two things the client cannot do itself: it never closes its resolver, so a request
// aborted during the look-up would still open a socket when the answer comes (`live`
// stops that); and its errors carry no message (`onFailure` names the host for logs).
// The client sends `host: <options.host>` and resolves the same string, so our adapter
// passes "name:port" to get the port into the Host header; the port is dropped here.

export type ResolveFunction = (name: string, callback: (name: string, address?: string) => void) => void;

export interface ResolverOptions {
  /** False once the request is over: a late answer is dropped. */
  live?: () => boolean;
  /** Called before onError with a reason for logs. */
  onFailure?: (reason: string) => void;
}

export interface ResolveRequest {
  host: string;
  onResolved?: (host: string, address: string) => void;
  onError?: (host: string) => void;
}

export interface Resolver {
  resolve(request: ResolveRequest): void;
  close(): void;
}
export type ResolverConstructor = new (options?: ResolverOptions) => Resolver;

/** "name:port" -> "name"; a bare name or IPv4 literal is kept. */
export function hostName(host: string): string {
  const colon = host.lastIndexOf(":");
  return colon > 0 && /^[0-9]+$/.test(host.slice(colon + 1)) ? host.slice(0, colon) : host;
}

/** A resolver class over `resolve` (Net.resolve on the device; a scripted one in tests). */
export function netResolver(resolve: ResolveFunction, log: (line: string) => void = () => undefined): ResolverConstructor {
  return class NetResolver implements Resolver {
    #options: ResolverOptions;
    #closed = false;

    constructor(options: ResolverOptions = {}) {
      this.#options = options;
    }

    resolve(request: ResolveRequest): void {
      const name = hostName(request.host);
      resolve(name, (_name, address) => {
        if (this.#closed || (this.#options.live && !this.#options.live())) return;
        try {
          if (address) request.onResolved?.(request.host, address);
          else {
            this.#options.onFailure?.(`cannot resolve ${name}`);
            request.onError?.(request.host);
          }
        } catch (e) {
          // Net.resolve calls back from native code: nothing may escape (xsEndHost aborts).
          log(`resolver: ${e instanceof Error ? e.message : String(e)}\n`);
        }
      });
    }

    close(): void {
      this.#closed = true;
    }
  };
}

// The only file that touches the SDK's networking modules: ECMA-419 sockets
// (modules/io/socket/lin on the simulator, modules/io/socket/lwip on esp32), the
// SDK's HTTP client and server (examples/io/tcp/httpclient/httpclient.js,
// examples/io/listener/httpserver/httpserver.js) and the platform resolver
// (`net` Net.resolve). The adapters (http-client.ts, http-server.ts, captive-dns.ts)
// take these classes as arguments so tests can drive them with scripted ones.
// The casts go through unknown: mcconfig's tsc checks this file against the SDK's own
// typings (typings/embedded_io/socket/*.d.ts), ours against modules/types.

import HTTPClient from "embedded:network/http/client";
import HTTPServer from "embedded:network/http/server";
import Listener from "embedded:io/socket/listener";
import TCP from "embedded:io/socket/tcp";
import UDP from "embedded:io/socket/udp";
import Net from "net";
import type { UdpConstructor } from "./captive-dns";
import { guardListener, guardTcp, type ListenerConstructor, type TcpConstructor } from "./guarded-socket";
import type { ClientConstructor, ClientIO } from "./http-client";
import { SERVER_SOCKET, type ServerConstructor, type ServerIO } from "./http-server";
import { netResolver, type ResolveFunction } from "./net-resolver";

const log = (line: string) => trace(line);
const resolve: ResolveFunction = (name, callback) => Net.resolve(name, callback);

export const clientIO: ClientIO = {
  Client: HTTPClient as unknown as ClientConstructor,
  Socket: guardTcp(TCP as unknown as TcpConstructor, { log }),
  Resolver: netResolver(resolve, log),
};

// The peer of the socket accepted last: HTTPServer's listener callback reads it and calls
// onConnect at once (httpserver.js), where PortalServer takes it (the portal's back-off key,
// and the clue to AP or station: the SDK's TCP has no local address).
let acceptedPeer: string | undefined;
export const serverIO: ServerIO = {
  Server: HTTPServer as unknown as ServerConstructor,
  Listener: guardListener(Listener as unknown as ListenerConstructor, guardTcp(TCP as unknown as TcpConstructor, { log, ...SERVER_SOCKET }), {
    log,
    accepted: (peer) => {
      acceptedPeer = peer;
    },
  }),
  takePeer: () => {
    const peer = acceptedPeer;
    acceptedPeer = undefined;
    return peer;
  },
};

export const udp = UDP as unknown as UdpConstructor;
/** The plain socket, for port-probe.ts. */
export const tcp = TCP as unknown as TcpConstructor;

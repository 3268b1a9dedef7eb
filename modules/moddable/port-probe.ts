// Is something already listening on a TCP port? Asked before the simulator binds its
// portal: on lin a listener whose bind fails crashes the app. modules/io/socket/lin/tcp.c
// xs_listener_constructor calls xsRemember(listener->obj) on the freshly allocated record,
// then on "bind socket failed" frees the record without xsForget, so the machine's root
// list points into freed memory and the next xsRemember (any Timer.set) segfaults in
// fxForget (seen in the 8.2.3 simulator under gdb). The lwIP listener (esp32) binds
// before it allocates, so its failure is a plain exception.
//
// The probe connects to each address: an accepted connection (onWritable) means the port
// is taken; a refusal (lin tcp.c reports the failed connect as onError, its read of the
// refused socket fails in the same poll) or no answer within timeoutMs means free there.
// A listener bound only to an address not probed goes unseen.

import type { Clock } from "../core/ports";
import type { RawTcp, TcpConstructor } from "./guarded-socket";

export type PortProbe = (port: number, done: (inUse: boolean) => void) => void;

export function portProbe(TCP: TcpConstructor, addresses: () => string[], clock: Clock, timeoutMs = 1000): PortProbe {
  return (port, done) => {
    const list = addresses();
    const sockets: RawTcp[] = [];
    let pending = list.length;
    let finished = false;
    const finish = (inUse: boolean) => {
      if (finished) return;
      finished = true;
      clock.clearTimeout(timer);
      for (const socket of sockets) {
        try {
          socket.close();
        } catch {
          // already closed by the socket itself
        }
      }
      try {
        done(inUse);
      } catch {
        // done() runs from a socket callback: nothing may escape
      }
    };
    const free = () => {
      if (--pending <= 0) finish(false);
    };
    const timer = clock.setTimeout(() => finish(false), timeoutMs);
    if (pending === 0) return finish(false);
    for (const address of list) {
      let answered = false;
      try {
        sockets.push(
          new TCP({
            address,
            port,
            onWritable: () => finish(true),
            onError: () => {
              if (answered) return;
              answered = true;
              free();
            },
          }),
        );
      } catch {
        answered = true;
        free(); // an address the socket refuses cannot be listened on either
      }
    }
  };
}

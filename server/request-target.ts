// AutoConnect's HTTPUpdate asks for `GET bin/fw.bin HTTP/1.0` (no leading
// slash) and sends firmware names raw, DEL and UTF-8 bytes included; Node's
// HTTP parser answers 400 to both before any framework sees them. We fix the
// request line below the parser: hold each new connection until its method and
// whole request target have arrived, insert the missing "/", escape the bytes
// Node refuses in a target (controls, DEL, 0x80-0xFF) as %XX, and hand the
// socket to Node's own connection listener. request-path.ts undoes exactly
// those escapes when it looks the name up literally.
// Only the first request line of a connection is repaired: HTTPUpdate sends one
// request per connection (HTTP/1.0, Connection: close).
import type { Server } from "node:http";
import type { Socket } from "node:net";

/** Longest method we wait for before giving up on rewriting (RFC methods are short). */
const MAX_PEEK = 32;
/** Longest request target we wait for (Node's header limit is 8 KB anyway). */
const MAX_TARGET = 8192;

export interface RequestTargetFixOptions {
  /** A connection that has not sent its request line's start by then is dropped. */
  firstBytesTimeoutMs: number;
}

const HEX = "0123456789ABCDEF";
const needsEscape = (b: number) => b < 0x20 || b >= 0x7f;

/**
 * Returns the request head with a "/" inserted before an origin-form target
 * that lacks it and the target's unparseable bytes escaped, undefined when the
 * bytes need no change (or are not HTTP), or "need-more".
 */
export function repairRequestLine(head: Buffer): Buffer | undefined | "need-more" {
  const space = head.indexOf(0x20);
  if (space < 0) return head.length >= MAX_PEEK || head.includes(0x0a) ? undefined : "need-more";
  if (space === 0 || space > MAX_PEEK) return undefined;
  for (let i = 0; i < space; i++) {
    const c = head[i];
    if (c < 0x41 || c > 0x5a) return undefined; // methods are upper-case tokens
  }
  if (head.length === space + 1) return "need-more";
  const first = head[space + 1];
  // "*" asterisk form or an absolute URI ("http://"): leave alone.
  // A space or CR/LF where the target should start is malformed: let Node's parser refuse it.
  if (first === 0x2a || first === 0x20 || first === 0x0d || first === 0x0a) return undefined;
  let end = space + 1;
  while (end < head.length && head[end] !== 0x20 && head[end] !== 0x0d && head[end] !== 0x0a) end++;
  if (end === head.length) return end - space > MAX_TARGET ? undefined : "need-more";
  const target = head.subarray(space + 1, end);
  if (first !== 0x2f && looksAbsolute(head, space + 1)) return undefined;
  const slash = first !== 0x2f;
  if (!slash && !target.some(needsEscape)) return undefined;
  let fixed = slash ? "/" : "";
  for (const b of target) fixed += needsEscape(b) ? `%${HEX[b >> 4]}${HEX[b & 15]}` : String.fromCharCode(b);
  return Buffer.concat([head.subarray(0, space + 1), Buffer.from(fixed, "latin1"), head.subarray(end)]);
}

function looksAbsolute(head: Buffer, start: number): boolean {
  const end = Math.min(head.length, start + 16);
  const text = head.subarray(start, end).toString("latin1").toLowerCase();
  return text.startsWith("http://") || text.startsWith("https://");
}

/** Puts the repair in front of the HTTP server's own `connection` listeners. */
export function installRequestTargetFix(server: Server, options: RequestTargetFixOptions): { pending: Set<Socket> } {
  const listeners = server.listeners("connection") as ((socket: Socket) => void)[];
  server.removeAllListeners("connection");
  const pending = new Set<Socket>();

  const handOver = (socket: Socket, head: Buffer | undefined) => {
    pending.delete(socket);
    if (socket.destroyed) return;
    if (head && head.length > 0) socket.unshift(head);
    for (const listener of listeners) listener.call(server, socket);
    // The buffered head is delivered once the socket flows again; Node's
    // listener switched it to its parser, which consumes anything newer after.
    process.nextTick(() => socket.resume());
  };

  server.on("connection", (socket: Socket) => {
    pending.add(socket);
    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      pending.delete(socket);
      socket.destroy();
    }, options.firstBytesTimeoutMs);
    timer.unref();
    const finish = (bytes: Buffer | undefined) => {
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.removeListener("end", onEnd);
      socket.removeListener("error", onError);
      socket.removeListener("close", onClose);
      socket.pause();
      handOver(socket, bytes);
    };
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const repaired = repairRequestLine(head);
      if (repaired === "need-more") return;
      finish(repaired ?? head);
    };
    // A peer that closes before sending a method and target gets nothing.
    const onEnd = () => {
      clearTimeout(timer);
      pending.delete(socket);
      socket.destroy();
    };
    const onError = () => {
      clearTimeout(timer);
      pending.delete(socket);
      socket.destroy();
    };
    const onClose = () => {
      clearTimeout(timer);
      pending.delete(socket);
    };
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("close", onClose);
  });
  return { pending };
}

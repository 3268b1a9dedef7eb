// The portal server adapter driven the way modules/network/http/http.js
// drives the Server callback (SDK 8.2.3), with `this` = the connection:
// connection (1), status (2, path with query, method), header (3, lowercased
// name, value), headersComplete (4) -> body type, requestComplete (6, body),
// prepareResponse (8) -> {status, headers, body}, responseFragment (9, bytes
// writable) -> ArrayBuffer | undefined, responseComplete (10) or error (-1).
import { test } from "node:test";
import assert from "node:assert/strict";
import { PortalServer, type LegacyConnection, type LegacyServer } from "../../modules/moddable/http-server";
import type { PortalRequest, PortalResponse } from "../../modules/core/ports";

class ScriptedServer implements LegacyServer {
  callback: (this: LegacyConnection, message: number, value?: unknown, etc?: unknown) => unknown = () => undefined;
  closed = false;
  constructor(readonly port: number) {}
  close(): void {
    this.closed = true;
  }
  send(connection: LegacyConnection, message: number, value?: unknown, etc?: unknown): unknown {
    return this.callback.call(connection, message, value, etc);
  }
}

const traced: string[] = [];

const connection = (): LegacyConnection => ({ read: () => new ArrayBuffer(0) });

function setup(handler: (request: PortalRequest) => PortalResponse, maxBody?: number) {
  let server: ScriptedServer | undefined;
  const portal = new PortalServer(
    handler,
    ({ port }) => {
      server = new ScriptedServer(port);
      return server;
    },
    { port: 8080, maxBody, log: (line) => traced.push(line) },
  );
  return { portal, server: server! };
}

/** Runs one exchange through the callback; returns the response head and the streamed body. */
function exchange(server: ScriptedServer, target: string, method: string, headers: Array<[string, string]>, body?: string, writable = 700) {
  const c = connection();
  const bodyType: unknown[] = [];
  server.send(c, 1);
  server.send(c, 2, target, method);
  for (const [name, value] of headers) server.send(c, 3, name, value);
  bodyType.push(server.send(c, 4));
  if (body !== undefined) server.send(c, 6, body);
  const head = server.send(c, 8) as { status: number; headers: string[]; body: unknown };
  const pieces: Uint8Array[] = [];
  for (;;) {
    const piece = server.send(c, 9, writable) as ArrayBuffer | undefined;
    if (piece === undefined) break;
    assert.ok(piece.byteLength <= writable, "never more than the socket can take");
    pieces.push(new Uint8Array(piece));
  }
  server.send(c, 10);
  return { head, bytes: Buffer.concat(pieces), bodyType: bodyType[0] };
}

test("listens on the configured port and closes with its connections", () => {
  const { portal, server } = setup(() => ({ status: 200, headers: [], body: "" }));
  assert.equal(server.port, 8080);
  portal.close();
  assert.ok(server.closed);
});

test("a GET reaches the handler split into path and query, headers by lowercased name", () => {
  const seen: PortalRequest[] = [];
  const { server } = setup((request) => {
    seen.push(request);
    return { status: 200, headers: [["Content-Type", "application/json"]], body: "{}" };
  });
  const { head, bodyType } = exchange(server, "/api/catalog?x=1&y=2", "get", [["host", "192.168.4.1"], ["authorization", "Basic YWRtaW46cHc="]]);
  assert.equal(bodyType, undefined, "no body expected without Content-Length");
  assert.equal(seen.length, 1);
  assert.equal(seen[0].method, "GET");
  assert.equal(seen[0].path, "/api/catalog");
  assert.equal(seen[0].query, "x=1&y=2");
  assert.equal(seen[0].headers.get("authorization"), "Basic YWRtaW46cHc=");
  assert.equal(head.status, 200);
  assert.equal(head.body, true, "always streamed through responseFragment");
});

test("Content-Length counts UTF-8 bytes and the body streams in socket-sized pieces", () => {
  const page = "<p>Firmware ✓ « fw-é.bin » 固件</p>".repeat(120);
  const { server } = setup(() => ({ status: 200, headers: [["Content-Type", "text/html; charset=utf-8"], ["Content-Length", "1"]], body: page }));
  const { head, bytes } = exchange(server, "/", "GET", [], undefined, 700);
  const expected = Buffer.from(page, "utf8");
  assert.ok(expected.byteLength > page.length, "the page has multi-byte characters");
  const names = head.headers.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
  assert.equal(names.filter((n) => n === "content-length").length, 1, "the handler's own Content-Length is replaced");
  assert.equal(head.headers[head.headers.length - 1], String(expected.byteLength));
  assert.deepEqual(bytes, expected);
});

test("a form post is read as a string and handed over as the body", () => {
  const seen: PortalRequest[] = [];
  const { server } = setup((request) => {
    seen.push(request);
    return { status: 303, headers: [["Location", "/progress"]], body: "" };
  });
  const { head, bodyType, bytes } = exchange(server, "/update", "POST", [["content-length", "15"], ["content-type", "application/x-www-form-urlencoded"]], "fw=fw-0.2.0.bin");
  assert.equal(bodyType, String);
  assert.equal(seen[0].body, "fw=fw-0.2.0.bin");
  assert.equal(head.status, 303);
  assert.equal(bytes.byteLength, 0);
});

test("a body over maxBody is refused unread with 413 and never reaches the handler", () => {
  let calls = 0;
  const { server } = setup(() => {
    calls++;
    return { status: 200, headers: [], body: "" };
  }, 2048);
  const { head, bodyType, bytes } = exchange(server, "/wifi", "POST", [["content-length", "2049"]]);
  assert.equal(bodyType, false, "false tells http.js to discard the body");
  assert.equal(calls, 0);
  assert.equal(head.status, 413);
  assert.match(bytes.toString(), /too large/);
});

test("a throwing handler becomes a 500 and the connection is forgotten either way", () => {
  const { portal, server } = setup(() => {
    throw new Error("store full");
  });
  const { head, bytes } = exchange(server, "/", "GET", []);
  assert.equal(head.status, 500);
  assert.equal(bytes.toString(), "Internal error");
  assert.ok(traced.some((line) => line.includes("GET / failed: store full")), "logged for the developer");
  assert.equal(portal.active, 0);
  const c = connection();
  server.send(c, 1);
  server.send(c, 2, "/", "GET");
  assert.equal(portal.active, 1);
  server.send(c, -1);
  assert.equal(portal.active, 0);
});

test("zero writable bytes returns nothing rather than a piece", () => {
  const { server } = setup(() => ({ status: 200, headers: [], body: "hello" }));
  const c = connection();
  server.send(c, 1);
  server.send(c, 2, "/", "GET");
  server.send(c, 4);
  server.send(c, 8);
  assert.equal(server.send(c, 9, 0), undefined);
  assert.deepEqual(new Uint8Array(server.send(c, 9, 3) as ArrayBuffer), new Uint8Array(Buffer.from("hel")));
  assert.deepEqual(new Uint8Array(server.send(c, 9, 100) as ArrayBuffer), new Uint8Array(Buffer.from("lo")));
  assert.equal(server.send(c, 9, 100), undefined);
});

// The Moddable HttpClient adapter driven the way modules/network/http/http.js
// drives a Request callback (SDK 8.2.3): status (1, code), header (2, name
// already lowercased, value), headersComplete (3), responseFragment (4, bytes
// available) read with read(ArrayBuffer, n), responseComplete (5) or error (-2);
// http.js closes the Request itself after 5 and -2.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CHUNK, ModdableHttpClient, type LegacyRequest, type RequestOptions } from "../../modules/moddable/http-client";
import type { HttpHandlers, HttpResponseHead } from "../../modules/core/ports";

/** A Request whose socket holds `pending` bytes; records every read and close. */
class ScriptedRequest implements LegacyRequest {
  callback: (message: number, value?: unknown, etc?: unknown) => unknown = () => undefined;
  reads: number[] = [];
  closed = 0;
  private pending = new Uint8Array(0);

  constructor(readonly options: RequestOptions) {}

  /** Bytes arrive on the socket; http.js then reports how many with message 4. */
  arrive(bytes: Uint8Array): void {
    const next = new Uint8Array(this.pending.length + bytes.length);
    next.set(this.pending);
    next.set(bytes, this.pending.length);
    this.pending = next;
  }

  read(_type: typeof ArrayBuffer, limit?: number): ArrayBuffer {
    const n = Math.min(limit ?? this.pending.length, this.pending.length);
    this.reads.push(n);
    const out = this.pending.slice(0, n);
    this.pending = this.pending.slice(n);
    return out.buffer;
  }

  close(): void {
    this.closed++;
  }

  /** What http.js sends for a 200 with the given headers. */
  head(status: number, headers: Array<[string, string]>): void {
    this.callback(1, status);
    for (const [name, value] of headers) this.callback(2, name.toLowerCase(), value);
    this.callback(3);
  }
}

function record() {
  const events: string[] = [];
  const data: Uint8Array[] = [];
  let head: HttpResponseHead | undefined;
  const handlers: HttpHandlers = {
    onHead: (h) => {
      head = h;
      events.push(`head ${h.status}`);
    },
    onData: (chunk) => {
      data.push(chunk.slice());
      events.push(`data ${chunk.byteLength}`);
    },
    onEnd: () => events.push("end"),
    onError: (reason) => events.push(`error ${reason}`),
  };
  return { handlers, events, data, head: () => head };
}

function setup() {
  const made: ScriptedRequest[] = [];
  const client = new ModdableHttpClient((options) => {
    const request = new ScriptedRequest(options);
    made.push(request);
    return request;
  });
  return { client, made };
}

const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

test("request options: Host carries the port, extra headers are flattened, method defaults to GET", () => {
  const { client, made } = setup();
  client.request({ host: "192.168.4.2", port: 8000, path: "/_catalog?op=list&path=.", headers: [["User-Agent", "ESP32-http-Update"]] }, record().handlers);
  client.request({ host: "updates.local", port: 80, path: "/fw.bin", method: "HEAD" }, record().handlers);
  assert.deepEqual(made[0].options, { host: "192.168.4.2", port: 8000, path: "/_catalog?op=list&path=.", method: "GET", headers: ["Host", "192.168.4.2:8000", "User-Agent", "ESP32-http-Update"] });
  assert.deepEqual(made[1].options.headers, ["Host", "updates.local"]);
  assert.equal(made[1].options.method, "HEAD");
});

test("a 10000-byte fragment is read in pieces of at most 4096 and handed on in order", () => {
  const { client, made } = setup();
  const r = record();
  client.request({ host: "h", port: 8000, path: "/fw.bin" }, r.handlers);
  const request = made[0];
  request.head(200, [["Content-Length", "10000"], ["x-MD5", "0123456789abcdef0123456789abcdef"]]);
  const body = pattern(10000);
  request.arrive(body);
  request.callback(4, 10000);
  request.callback(5);
  assert.equal(CHUNK, 4096);
  assert.deepEqual(request.reads, [4096, 4096, 1808]);
  assert.deepEqual(r.events, ["head 200", "data 4096", "data 4096", "data 1808", "end"]);
  assert.deepEqual(Buffer.concat(r.data), Buffer.from(body));
  assert.equal(r.head()?.headers.get("x-md5"), "0123456789abcdef0123456789abcdef");
  assert.equal(r.head()?.headers.get("content-length"), "10000");
});

test("repeated headers are joined with a comma", () => {
  const { client, made } = setup();
  const r = record();
  client.request({ host: "h", port: 80, path: "/" }, r.handlers);
  made[0].head(200, [["Cache-Control", "no-cache"], ["cache-control", "no-store"]]);
  assert.equal(r.head()?.headers.get("cache-control"), "no-cache, no-store");
});

test("error -2 becomes onError, worded by whether a status line arrived", () => {
  const { client, made } = setup();
  const refused = record();
  client.request({ host: "127.0.0.1", port: 9, path: "/" }, refused.handlers);
  made[0].callback(-2);
  assert.deepEqual(refused.events, ["error cannot connect"]);

  const cut = record();
  client.request({ host: "h", port: 80, path: "/fw.bin" }, cut.handlers);
  made[1].head(200, [["content-length", "5000"]]);
  made[1].arrive(pattern(1000));
  made[1].callback(4, 1000);
  made[1].callback(-2);
  assert.deepEqual(cut.events, ["head 200", "data 1000", "error connection lost"]);
});

test("abort() inside onData stops reading, closes once, and silences later messages", () => {
  const { client, made } = setup();
  const events: string[] = [];
  const exchange = client.request({ host: "h", port: 80, path: "/fw.bin" }, {
    onHead: () => events.push("head"),
    onData: () => {
      events.push("data");
      exchange.abort();
    },
    onEnd: () => events.push("end"),
    onError: () => events.push("error"),
  });
  const request = made[0];
  request.head(200, [["content-length", "9000"]]);
  request.arrive(pattern(9000));
  request.callback(4, 9000);
  request.callback(4, 4904);
  request.callback(5);
  request.callback(-2);
  assert.deepEqual(events, ["head", "data"]);
  assert.deepEqual(request.reads, [4096]);
  assert.equal(request.closed, 1);
});

test("a consumer that throws closes the request and gets one onError", () => {
  const { client, made } = setup();
  const events: string[] = [];
  client.request({ host: "h", port: 80, path: "/fw.bin" }, {
    onHead: () => events.push("head"),
    onData: () => {
      throw new Error("flash write failed");
    },
    onEnd: () => events.push("end"),
    onError: (reason) => events.push(`error ${reason}`),
  });
  const request = made[0];
  request.head(200, [["content-length", "100"]]);
  request.arrive(pattern(100));
  request.callback(4, 100);
  request.callback(5);
  assert.deepEqual(events, ["head", "error flash write failed"]);
  assert.equal(request.closed, 1);
});

test("HEAD ends at headersComplete: http.js would wait for Content-Length bytes that never come", () => {
  const { client, made } = setup();
  const r = record();
  client.request({ host: "h", port: 80, path: "/fw.bin", method: "HEAD" }, r.handlers);
  made[0].head(200, [["content-length", "1048576"]]);
  made[0].callback(-2);
  assert.deepEqual(r.events, ["head 200", "end"]);
  assert.equal(made[0].closed, 1);
});

test("a body-less answer (304, connection closed) still gives onHead then onEnd", () => {
  const { client, made } = setup();
  const r = record();
  client.request({ host: "h", port: 80, path: "/update" }, r.handlers);
  made[0].callback(1, 304);
  made[0].callback(5);
  assert.deepEqual(r.events, ["head 304", "end"]);
});

// Shared by the server tests: a real server on 127.0.0.1 (port 0) over a temp
// catalog, raw HTTP over a socket (to send the exact bytes devices send), and
// the device header sets of shared/protocol.md section 2.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { buildServer, type OtaServer } from "../../server/app";
import type { ServerOptions } from "../../server/options";

// Copies of shared/fixtures (see fixtures/README.md).
export const FIXTURES = join(import.meta.dirname, "fixtures");

export interface Running extends OtaServer {
  port: number;
  dir: string;
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export async function tempDir(prefix = "ota-server-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Starts a server; `dir` defaults to a fresh temp catalog removed on close. */
export async function start(options: Partial<ServerOptions> & { dir?: string } = {}): Promise<Running> {
  const dir = options.dir ?? (await tempDir());
  const logs: Record<string, unknown>[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const server = await buildServer({ logLevel: "info", logStream, ...options, catalogDir: options.catalogDir ?? dir });
  await server.app.listen({ port: 0, host: "127.0.0.1" });
  const address = server.app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    ...server,
    port,
    dir,
    logs,
    async close() {
      await server.app.close();
      if (!options.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  status: number;
  reason: string;
  /** Header names as sent (case kept) with their values. */
  rawHeaders: [string, string][];
  headers: Record<string, string>;
  body: Buffer;
  head: string;
}

export function parseResponse(bytes: Buffer): RawResponse {
  const end = bytes.indexOf("\r\n\r\n");
  if (end < 0) throw new Error(`no complete response head in ${JSON.stringify(bytes.toString("latin1").slice(0, 200))}`);
  const head = bytes.subarray(0, end).toString("latin1");
  const [statusLine, ...lines] = head.split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine);
  if (!m) throw new Error(`bad status line ${statusLine}`);
  const rawHeaders = lines.map((l) => {
    const i = l.indexOf(":");
    return [l.slice(0, i), l.slice(i + 1).trim()] as [string, string];
  });
  const headers: Record<string, string> = {};
  for (const [k, v] of rawHeaders) headers[k.toLowerCase()] = v;
  return { status: Number(m[1]), reason: m[2], rawHeaders, headers, body: bytes.subarray(end + 4), head };
}

/**
 * Writes `request` as is and reads one response: up to its Content-Length
 * (then the socket is dropped), else until the server closes the connection.
 * `headOnly` stops after the head (HEAD requests, 304).
 */
export function rawRequest(port: number, request: string | Buffer, headOnly = false): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let bytes = Buffer.alloc(0);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      try {
        resolve(parseResponse(bytes));
      } catch (error) {
        reject(error as Error);
      }
    };
    socket.on("data", (c: Buffer) => {
      bytes = Buffer.concat([bytes, c]);
      const end = bytes.indexOf("\r\n\r\n");
      if (end < 0) return;
      const r = parseResponse(bytes);
      if (headOnly || r.status === 304 || r.status === 204) return finish();
      const length = r.headers["content-length"];
      if (length !== undefined && r.body.length >= Number(length)) finish();
    });
    socket.on("error", (e) => (done ? undefined : reject(e)));
    socket.on("close", finish);
    socket.write(request);
  });
}

/** A request line plus headers, HTTP/1.0 style (the server closes after answering). */
export function requestText(target: string, headers: Record<string, string>, method = "GET", version = "HTTP/1.0"): string {
  return `${method} ${target} ${version}\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("")}\r\n`;
}

/**
 * A capture from shared/fixtures with its request target and Host replaced
 * (the captures name 192.168.1.10; we only ever talk to 127.0.0.1).
 */
export async function fixtureRequest(name: string, target: string, port: number, edit?: (headers: string[]) => string[]): Promise<string> {
  const text = await readFile(join(FIXTURES, name), "latin1");
  const [requestLine, ...rest] = text.split("\r\n");
  const [method, , version] = requestLine.split(" ");
  let lines = rest.map((l) => (l.startsWith("Host:") ? `Host: 127.0.0.1:${port}` : l));
  if (edit) lines = edit(lines.filter((l) => l !== "")).concat("", "");
  return [`${method} ${target} ${version}`, ...lines].join("\r\n");
}

export const MAC_A = "DE:BA:7A:B1:E0:42"; // the MAC in the ESP8266 captures
export const MAC_B = "24:6F:28:AA:BB:01";
export const MAC_C = "24:6F:28:AA:BB:02";

/** ESP8266 core headers (shared/protocol.md section 2, as in the capture). */
export function esp8266Headers(extra: Record<string, string> = {}): Record<string, string> {
  return {
    Host: "127.0.0.1",
    "User-Agent": "ESP8266-http-Update",
    Connection: "close",
    "x-ESP8266-Chip-ID": "15602487",
    "x-ESP8266-STA-MAC": MAC_A,
    "x-ESP8266-AP-MAC": MAC_A,
    "x-ESP8266-free-space": "4194304",
    "x-ESP8266-sketch-size": "400000",
    "x-ESP8266-sketch-md5": "0123456789abcdef0123456789abcdef",
    "x-ESP8266-chip-size": "4194304",
    "x-ESP8266-sdk-version": "2.5.0",
    "x-ESP8266-mode": "sketch",
    "Content-Length": "0",
    ...extra,
  };
}

/** Current ESP32 core: BASE-MAC and upper-case sketch SHA-256, no Content-Length on GET. */
export function esp32Headers(extra: Record<string, string> = {}): Record<string, string> {
  return {
    Host: "127.0.0.1",
    "User-Agent": "ESP32-http-Update",
    Connection: "close",
    "Cache-Control": "no-cache",
    "x-ESP32-STA-MAC": MAC_B,
    "x-ESP32-AP-MAC": "24:6F:28:AA:BB:03",
    "x-ESP32-BASE-MAC": MAC_B,
    "x-ESP32-free-space": "1966080",
    "x-ESP32-sketch-size": "900000",
    "x-ESP32-sketch-md5": "00112233445566778899aabbccddeeff",
    "x-ESP32-sketch-sha256": "A".repeat(64),
    "x-ESP32-chip-size": "4194304",
    "x-ESP32-sdk-version": "v4.4.7",
    "x-ESP32-mode": "sketch",
    ...extra,
  };
}

/** ESP32 Arduino 2.0.x: no BASE-MAC, no SHA-256. */
export function esp32v2Headers(extra: Record<string, string> = {}): Record<string, string> {
  const h = esp32Headers(extra);
  delete h["x-ESP32-BASE-MAC"];
  delete h["x-ESP32-sketch-sha256"];
  return h;
}

export function without(headers: Record<string, string>, ...names: string[]): Record<string, string> {
  const h = { ...headers };
  for (const n of names) delete h[n];
  return h;
}

/**
 * An ESP8266 app image as esptool's elf2image writes it (v1 format): 8-byte
 * header (0xE9, segment count, SPI mode, size/freq, entry), then segments
 * (load address, length, data) with no ESP32 extended header.
 */
export function esp8266Image(size: number, seed = 1): Buffer {
  const image = Buffer.alloc(size);
  image[0] = 0xe9;
  image[1] = 1;
  image[2] = 0; // QIO
  image[3] = 0x40; // 4 MB, 40 MHz
  image.writeUInt32LE(0x40100000, 4);
  image.writeUInt32LE(0x40100000, 8); // first segment: IRAM
  image.writeUInt32LE(size - 16, 12);
  let x = seed;
  for (let i = 16; i < size; i++) image[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return image;
}

/**
 * Catalog paths that must be refused, against a tree with the catalog root at
 * base/fw, a sibling base/fw-old, base/outside, base/fw/inner, and a symlink
 * base/fw/escape -> base/outside.
 */
export const ESCAPING_PATHS: ReadonlyArray<readonly [label: string, path: string]> = [
  ["a sibling folder sharing the root's prefix", "../fw-old"],
  ["a parent segment", ".."],
  ["a parent segment in the middle", "inner/../../outside"],
  ["an absolute path", "/etc"],
  ["an absolute path inside the root", "/"],
  ["encoded dots", "%2e%2e"],
  ["encoded dots and slash", "%2e%2e%2ffw-old"],
  ["a symlink that leaves the root", "escape"],
];

// Gaps found with real clients (issue 10), each on the wire:
// - AutoConnect's device sends firmware names raw; updateserver.py serves
//   `100%.bin`, `%41.bin` (literally), `q?x=1.bin`, names with DEL;
// - our own device sends names literally too (modules/core/engine/paths.ts)
//   and a User-Agent on catalog requests (updateserver.py fails without one);
// - ESP8266 sends an empty sketch MD5 when it cannot compute it;
// - arduino-esp32 3.x sends STA/AP-MAC only on chips with Wi-Fi, sketch-md5
//   only when known, sketch-sha256 upper-case.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fetchCatalogFacts } from "../../modules/core/engine/catalog-facts";
import { fetchCatalog } from "../../modules/core/engine/catalog-client";
import { firmwarePath } from "../../modules/core/engine/paths";
import { buildImage } from "../../tools/esp-image";
import { NodeClock } from "../../twin/adapters/clock";
import { NodeHttpClient } from "../../twin/adapters/http-client";
import { esp32Headers, esp8266Headers, esp8266Image, rawRequest, requestText, start, without, type Running } from "./helpers";

const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");

/** A request whose target is raw bytes (as AutoConnect's device writes it), with the ESP32 headers. */
function rawTarget(target: Buffer, headers: Record<string, string> = esp32Headers()): Buffer {
  const text = requestText("X", headers);
  const i = text.indexOf("X");
  return Buffer.concat([Buffer.from(text.slice(0, i), "latin1"), target, Buffer.from(text.slice(i + 1), "latin1")]);
}

/** Raw names and what each file holds (a distinct image each, so a wrong pick shows). */
const NAMES = ["100%.bin", "%41.bin", "A.bin", "q?x=1.bin", "del\x7f.bin", "hash#1.bin", "a+b.bin", "fïrmwäre-€.bin", "[x]{y}|z.bin"];

describe("firmware names as devices send them", () => {
  let server: Running;
  const images = new Map<string, Buffer>();
  before(async () => {
    server = await start();
    await mkdir(join(server.dir, "bin"));
    for (const [i, name] of NAMES.entries()) {
      const image = Buffer.from(buildImage({ version: `1.0.${i}`, size: 20_000 + i }));
      images.set(name, image);
      await writeFile(join(server.dir, name), image);
      await writeFile(join(server.dir, "bin", name), image);
    }
  });
  after(() => server.close());

  for (const name of NAMES) {
    test(`AutoConnect's raw request line for ${JSON.stringify(name)} is served that very file, with and without the leading slash`, async () => {
      for (const target of [`/${name}`, `bin/${name}`]) {
        const r = await rawRequest(server.port, rawTarget(Buffer.from(target, "utf8")));
        assert.equal(r.status, 200, target);
        assert.ok(r.body.equals(images.get(name)!), `${target}: the file named so, not another`);
        assert.equal(r.headers["x-md5"], md5(r.body));
      }
    });
  }

  test("escaped targets (browsers, curl, our device for spaces and non-ASCII) reach the file too", async () => {
    await writeFile(join(server.dir, "my fw.bin"), images.get("A.bin")!);
    for (const target of ["/my%20fw.bin", "/f%C3%AFrmw%C3%A4re-%E2%82%AC.bin", "/del%7F.bin", "/100%25.bin", "/a%2Bb.bin"]) {
      const r = await rawRequest(server.port, requestText(target, esp32Headers()));
      assert.equal(r.status, 200, target);
    }
    // "%41" names the literal file first, as updateserver.py would serve it
    const literal = await rawRequest(server.port, requestText("/%41.bin", esp32Headers()));
    assert.ok(literal.body.equals(images.get("%41.bin")!));
  });

  test("a query string after a real name is ignored when no file is named with it", async () => {
    const r = await rawRequest(server.port, requestText("/A.bin?cachebust=1", esp32Headers()));
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(images.get("A.bin")!));
  });

  test("the lenient lookup stays contained: escaped or raw dot segments are refused, hidden names are not found", async () => {
    for (const target of ["/%2e%2e/x.bin", "/..%2Fx.bin", "/bin/../../x.bin", "/.env", "/bin/%2Egit/config"]) {
      const r = await rawRequest(server.port, requestText(target, esp32Headers()));
      assert.ok(r.status === 403 || r.status === 404, `${target}: ${r.status}`);
    }
  });

  test("our device's firmware paths (core firmwarePath over the twin's HTTP client) get each file", async () => {
    const http = new NodeHttpClient();
    for (const name of NAMES) {
      const path = firmwarePath("bin", name);
      const body = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Uint8Array[] = [];
        http.request(
          { host: "127.0.0.1", port: server.port, path, headers: Object.entries(esp32Headers()).filter(([k]) => k !== "Host" && k !== "Connection") },
          {
            onHead: (head) => (head.status === 200 ? undefined : reject(new Error(`${path}: ${head.status}`))),
            onData: (c) => void chunks.push(c.slice()),
            onEnd: () => resolve(Buffer.concat(chunks)),
            onError: (e) => reject(new Error(e)),
          },
        );
      });
      assert.ok(body.equals(images.get(name)!), path);
    }
  });
});

describe("our device's requests byte for byte (as updateserver.py would read them)", () => {
  let listener: Server;
  let port: number;
  const seen: string[] = [];
  before(async () => {
    listener = createServer((socket) => {
      let text = "";
      socket.on("data", (c: Buffer) => {
        text += c.toString("latin1");
        if (!text.includes("\r\n\r\n")) return;
        seen.push(text);
        socket.end("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
      });
    });
    await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
    port = (listener.address() as { port: number }).port;
  });
  after(() => new Promise<void>((r) => listener.close(() => r())));

  test("a download names the file literally: `GET /bin/a+b.bin`, `GET /hash#1.bin`, `GET /100%.bin`", async () => {
    const http = new NodeHttpClient();
    for (const [folder, name] of [["bin", "a+b.bin"], [".", "hash#1.bin"], [".", "100%.bin"], [".", "q?x=1.bin"]]) {
      seen.length = 0;
      await new Promise<void>((resolve) =>
        http.request({ host: "127.0.0.1", port, path: firmwarePath(folder, name) }, { onHead: () => undefined, onData: () => undefined, onEnd: resolve, onError: () => resolve() }),
      );
      const line = seen[0].split("\r\n")[0];
      assert.equal(line, `GET /${folder === "." ? "" : `${folder}/`}${name} HTTP/1.1`);
    }
  });

  test("the catalog and /api/catalog requests carry a User-Agent", async () => {
    const deps = { http: new NodeHttpClient(), clock: new NodeClock() };
    seen.length = 0;
    await new Promise<void>((resolve) => fetchCatalog(deps, { host: "127.0.0.1", port, path: "." }, { timeoutMs: 5000 }, () => resolve()));
    await new Promise<void>((resolve) => fetchCatalogFacts(deps, { host: "127.0.0.1", port, path: "." }, 5000, () => resolve()));
    assert.equal(seen.length, 2);
    for (const request of seen) assert.match(request, /\r\nUser-Agent: ESP32HTTPClient\r\n/i, request);
  });
});

describe("HTTPUpdate header sets", () => {
  let server: Running;
  const esp32 = Buffer.from(buildImage({ version: "3.0.0", size: 30_000 }));
  const esp8266 = esp8266Image(30_000);
  before(async () => {
    server = await start();
    await writeFile(join(server.dir, "esp32.bin"), esp32);
    await writeFile(join(server.dir, "esp8266.bin"), esp8266);
  });
  after(() => server.close());

  const get = (target: string, headers: Record<string, string>) => rawRequest(server.port, requestText(target, headers));

  test("ESP8266 with an empty sketch MD5 (getSketchMD5() failed) is served, not refused", async () => {
    const r = await get("/esp8266.bin", esp8266Headers({ "x-ESP8266-sketch-md5": "" }));
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(esp8266));
    const spaces = await get("/esp8266.bin", esp8266Headers({ "x-ESP8266-sketch-md5": "   " }));
    assert.equal(spaces.status, 200);
  });

  test("arduino-esp32 3.x on a chip without Wi-Fi (BASE-MAC only, no sketch MD5, upper-case SHA-256) is served", async () => {
    const p4 = without(esp32Headers({ "x-ESP32-sketch-sha256": "AB".repeat(32) }), "x-ESP32-STA-MAC", "x-ESP32-AP-MAC", "x-ESP32-sketch-md5");
    const r = await get("/esp32.bin", p4);
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(esp32));
  });

  test("every 3.x combination: with or without STA/AP-MAC, sketch-md5, sketch-sha256, version", async () => {
    const optional = ["x-ESP32-STA-MAC", "x-ESP32-AP-MAC", "x-ESP32-sketch-md5", "x-ESP32-sketch-sha256"] as const;
    for (let mask = 0; mask < 16; mask++) {
      const drop = optional.filter((_, i) => mask & (1 << i));
      for (const version of [undefined, "2.9.0"]) {
        const headers = without(esp32Headers(version ? { "x-ESP32-version": version } : {}), ...drop);
        const r = await get("/esp32.bin", headers);
        assert.equal(r.status, 200, `without ${drop.join(", ") || "nothing"}${version ? ", with version" : ""}`);
      }
    }
  });

  test("an ESP32 with no MAC at all is not taken for an HTTPUpdate client", async () => {
    const r = await get("/esp32.bin", without(esp32Headers(), "x-ESP32-STA-MAC", "x-ESP32-AP-MAC", "x-ESP32-BASE-MAC"));
    assert.equal(r.status, 403);
  });
});

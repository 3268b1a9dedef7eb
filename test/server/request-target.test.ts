// The connection-level repair of request targets without a leading slash
// (AutoConnect's `GET bin/fw.bin HTTP/1.0`, which Node's parser rejects).
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { repairRequestLine } from "../../server/request-target";
import { buildImage } from "../../tools/esp-image";
import { esp32Headers, parseResponse, rawRequest, requestText, start, type Running } from "./helpers";

describe("repairRequestLine", () => {
  const fix = (text: string) => {
    const r = repairRequestLine(Buffer.from(text, "latin1"));
    return typeof r === "object" ? r.toString("latin1") : r;
  };
  test("inserts the slash only where it is missing", () => {
    assert.equal(fix("GET bin/fw.bin HTTP/1.0\r\n"), "GET /bin/fw.bin HTTP/1.0\r\n");
    assert.equal(fix("HEAD fw.bin HTTP/1.1\r\n"), "HEAD /fw.bin HTTP/1.1\r\n");
    assert.equal(fix("GET /bin/fw.bin HTTP/1.0\r\n"), undefined);
    assert.equal(fix("OPTIONS * HTTP/1.1\r\n"), undefined);
    assert.equal(fix("GET http://h/x HTTP/1.1\r\n"), undefined);
  });
  test("escapes the bytes Node's parser refuses in a target (controls, DEL, 0x80-0xFF), nothing else", () => {
    assert.equal(fix("GET /a\x7fb.bin HTTP/1.0\r\n"), "GET /a%7Fb.bin HTTP/1.0\r\n");
    assert.equal(fix("GET bin/f\xc3\xafr.bin HTTP/1.0\r\n"), "GET /bin/f%C3%AFr.bin HTTP/1.0\r\n");
    assert.equal(fix("GET /100%.bin HTTP/1.0\r\n"), undefined, "a stray % is the router's business (app.ts)");
    assert.equal(fix("GET /q?x=1.bin HTTP/1.0\r\n"), undefined);
    assert.equal(fix("GET /a\x7f"), "need-more", "the whole target first");
  });

  test("waits for the method and first target byte, gives up on non-HTTP", () => {
    assert.equal(fix("GE"), "need-more");
    assert.equal(fix("GET "), "need-more");
    assert.equal(fix("get x HTTP/1.0"), undefined);
    assert.equal(fix("\x16\x03\x01\x02\x00"), "need-more");
    assert.equal(fix("\x16\x03\x01\x02\x00\n"), undefined);
    assert.equal(fix("A".repeat(40)), undefined);
  });
});

describe("request targets on the wire", () => {
  let server: Running;
  const data = Buffer.alloc(5000, 7);
  const app = Buffer.from(buildImage({ version: "1.0.0" }));
  before(async () => {
    server = await start({ open: true });
    data[0] = 0xe9;
    await writeFile(join(server.dir, "fw.bin"), data);
    await writeFile(join(server.dir, "app.bin"), app);
  });
  after(() => server.close());

  test("a request line split into single bytes is still repaired", async () => {
    const text = requestText("fw.bin", { Host: "127.0.0.1" });
    const r = await new Promise<Buffer>((resolve) => {
      const socket = connect(server.port, "127.0.0.1");
      const chunks: Buffer[] = [];
      socket.on("data", (c: Buffer) => chunks.push(c));
      socket.on("close", () => resolve(Buffer.concat(chunks)));
      socket.setNoDelay(true);
      let i = 0;
      const next = () => {
        if (i < 12) socket.write(text[i++], next);
        else socket.write(text.slice(i));
      };
      next();
    });
    const res = parseResponse(r);
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(data));
  });

  test("keep-alive: a second request on the same connection is parsed normally", async () => {
    const two = requestText("/fw.bin", { Host: "x" }, "HEAD", "HTTP/1.1") + requestText("/fw.bin", { Host: "x", Connection: "close" }, "HEAD", "HTTP/1.1");
    const raw = await new Promise<string>((resolve) => {
      const socket = connect(server.port, "127.0.0.1");
      let out = "";
      socket.on("data", (c: Buffer) => (out += c.toString("latin1")));
      socket.on("close", () => resolve(out));
      socket.write(two);
    });
    assert.equal(raw.match(/HTTP\/1\.1 200 OK/g)?.length, 2);
  });

  test("a request body after a repaired line arrives intact (POST is not routed: 404)", async () => {
    const r = await rawRequest(server.port, "POST fw.bin HTTP/1.0\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    assert.equal(r.status, 404);
  });

  test("garbage that is not HTTP gets Node's 400, not a hang", async () => {
    const r = await rawRequest(server.port, "\x16\x03\x01\x00\x05hello\r\n\r\n");
    assert.equal(r.status, 400);
  });

  test("the ESP32 header set on a slash-less target is served", async () => {
    const r = await rawRequest(server.port, requestText("app.bin", esp32Headers()));
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(app));
  });
});

// Slow-loris clients, oversized headers and graceful shutdown. No timing is
// asserted: each test waits for the event (a closed socket, a finished body)
// and the runner's timeout is the only clock.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseResponse, rawRequest, requestText, start, type Running } from "./helpers";

const PLAIN = { Host: "127.0.0.1", "User-Agent": "robustness-test" };

function closed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let out = "";
    socket.on("data", (c: Buffer) => (out += c.toString("latin1")));
    socket.on("error", () => undefined);
    socket.on("close", () => resolve(out));
  });
}

describe("slow clients and big headers", () => {
  let server: Running;
  before(async () => {
    server = await start({ open: true, headersTimeoutMs: 400, requestTimeoutMs: 800, timeoutCheckIntervalMs: 100, maxHeaderSize: 4096 });
    await writeFile(join(server.dir, "fw.bin"), Buffer.alloc(1000, 1));
  });
  after(() => server.close());

  test("a client that dribbles header lines forever is cut off, and others are served meanwhile", { timeout: 20_000 }, async () => {
    const loris = Array.from({ length: 20 }, () => connect(server.port, "127.0.0.1"));
    const ends = loris.map(closed);
    const timers = loris.map((s) => {
      s.write("GET /fw.bin HTTP/1.1\r\nHost: x\r\n");
      return setInterval(() => s.writable && s.write("X-Slow: 1\r\n"), 50);
    });
    const ok = await rawRequest(server.port, requestText("/fw.bin", PLAIN));
    assert.equal(ok.status, 200);
    const answers = await Promise.all(ends);
    timers.forEach(clearInterval);
    for (const a of answers) assert.ok(a === "" || a.startsWith("HTTP/1.1 408"), a.slice(0, 40));
  });

  test("a client that connects and sends nothing is dropped", { timeout: 20_000 }, async () => {
    const s = connect(server.port, "127.0.0.1");
    assert.equal(await closed(s), "");
  });

  test("a client that sends half a method and stops is dropped", { timeout: 20_000 }, async () => {
    const s = connect(server.port, "127.0.0.1");
    s.write("GE");
    assert.equal(await closed(s), "");
  });

  test("a header block over the limit is 431", async () => {
    const r = await rawRequest(server.port, requestText("/fw.bin", { ...PLAIN, "X-Big": "a".repeat(8000) }));
    assert.equal(r.status, 431);
  });
});

describe("graceful shutdown", () => {
  test("close() lets an in-flight download finish, refuses new connections", { timeout: 30_000 }, async () => {
    const server = await start({ open: true });
    const data = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4096) data[i] = i & 0xff;
    await writeFile(join(server.dir, "big.bin"), data);

    const socket = connect(server.port, "127.0.0.1");
    let bytes = Buffer.alloc(0);
    const headArrived = new Promise<void>((resolve) =>
      socket.on("data", function onData(c: Buffer) {
        bytes = Buffer.concat([bytes, c]);
        if (bytes.indexOf("\r\n\r\n") >= 0) {
          socket.pause(); // hold the transfer open while the server shuts down
          socket.removeListener("data", onData);
          resolve();
        }
      }),
    );
    socket.write(requestText("/big.bin", PLAIN));
    await headArrived;

    let closeDone = false;
    const closing = server.close().then(() => (closeDone = true));
    await new Promise((r) => setImmediate(r));
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(server.port, "127.0.0.1");
      s.on("error", () => resolve(true));
      s.on("connect", () => {
        s.destroy();
        resolve(false);
      });
    });
    assert.ok(refused, "no new connections once closing");
    assert.equal(closeDone, false, "close waits for the download");

    const body = await new Promise<Buffer>((resolve) => {
      socket.on("data", (c: Buffer) => (bytes = Buffer.concat([bytes, c])));
      socket.on("close", () => resolve(parseResponse(bytes).body));
      socket.on("end", () => socket.destroy());
      socket.resume();
    });
    const head = parseResponse(bytes);
    assert.equal(body.length, data.length);
    assert.equal(createHash("md5").update(body).digest("hex"), head.headers["x-md5"]);
    await closing;
    assert.ok(closeDone);
  });
});

// Hashes are computed once per file version, and x-MD5 always matches the
// bytes sent, even when the file is replaced while downloads are in flight.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { rename, writeFile, utimes, stat } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseResponse, rawRequest, requestText, start, type RawResponse, type Running } from "./helpers";

// Open server, plain client: these tests are about bytes and digests, not the
// device pre-flight (random test bytes are no valid ESP32 image).
const PLAIN = { Host: "127.0.0.1", "User-Agent": "replace-test" };
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");

function image(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i += 4) b.writeUInt32LE((x = (Math.imul(x, 1664525) + 1013904223) >>> 0), i);
  b[0] = 0xe9;
  return b;
}

interface Flight {
  head: RawResponse;
  /** Hangs up without reading on. */
  abort(): void;
  /** Reads the rest; `complete` says all Content-Length bytes arrived. */
  finish(): Promise<{ complete: boolean; body: Buffer }>;
}

/** Starts a download and stops reading once the head arrived (the socket is paused). */
function startDownload(port: number, target: string): Promise<Flight> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, "127.0.0.1");
    let bytes = Buffer.alloc(0);
    let closed = false;
    let onClose: (() => void) | undefined;
    socket.on("close", () => {
      closed = true;
      onClose?.();
    });
    socket.on("error", () => undefined); // a cut-short response shows as an incomplete body
    const onData = (c: Buffer) => {
      bytes = Buffer.concat([bytes, c]);
      if (bytes.indexOf("\r\n\r\n") < 0) return;
      socket.pause();
      socket.removeListener("data", onData);
      const head = parseResponse(bytes);
      resolve({
        head,
        abort: () => socket.destroy(),
        finish: () =>
          new Promise((done) => {
            const length = Number(head.headers["content-length"]);
            let body = head.body;
            const end = () => done({ complete: body.length === length, body });
            socket.on("data", (d: Buffer) => {
              body = Buffer.concat([body, d]);
              if (body.length >= length) socket.destroy();
            });
            onClose = end;
            if (closed) end();
            socket.resume();
          }),
      });
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.write(requestText(target, PLAIN));
  });
}

describe("digests and replacement", () => {
  let server: Running;
  before(async () => {
    server = await start({ open: true });
  });
  after(() => server.close());

  test("digests are computed once per file version and again when the file changes", async () => {
    const path = join(server.dir, "cache.bin");
    const v1 = image(300_000, 1);
    await writeFile(path, v1);
    const before = server.context.images.loads;
    const a = await rawRequest(server.port, requestText("/cache.bin", PLAIN));
    const b = await rawRequest(server.port, requestText("/cache.bin", PLAIN));
    assert.equal(a.headers["x-md5"], md5(v1));
    assert.equal(b.headers["x-md5"], md5(v1));
    assert.equal(server.context.images.loads, before + 1);
    // Same size, same mtime, new bytes written in place: ctime still tells.
    const st = await stat(path);
    const v2 = image(300_000, 2);
    await writeFile(path, v2);
    await utimes(path, st.atime, st.mtime);
    const c = await rawRequest(server.port, requestText("/cache.bin", PLAIN));
    assert.equal(c.headers["x-md5"], md5(v2));
    assert.ok(c.body.equals(v2));
    assert.equal(server.context.images.loads, before + 2);
  });

  test("an atomic replace during 20 in-flight downloads: each gets the version it started with", async () => {
    const path = join(server.dir, "live.bin");
    const v1 = image(2_000_000, 11);
    const v2 = image(2_100_000, 12);
    await writeFile(path, v1);
    const early = await Promise.all(Array.from({ length: 20 }, () => startDownload(server.port, "/live.bin")));
    await writeFile(join(server.dir, ".live.tmp"), v2);
    await rename(join(server.dir, ".live.tmp"), path);
    const late = await Promise.all(Array.from({ length: 5 }, () => startDownload(server.port, "/live.bin")));
    const results = await Promise.all([...early, ...late].map(async (f) => ({ head: f.head, ...(await f.finish()) })));
    for (const [i, r] of results.entries()) {
      assert.ok(r.complete, `download ${i} complete`);
      assert.equal(md5(r.body), r.head.headers["x-md5"], `download ${i}: x-MD5 matches the bytes`);
    }
    assert.ok(results.slice(0, 20).every((r) => r.head.headers["x-md5"] === md5(v1)));
    assert.ok(results.slice(20).every((r) => r.head.headers["x-md5"] === md5(v2)));
  });

  test("a rewrite in place during a download cuts it short rather than send bytes that miss x-MD5", async () => {
    const path = join(server.dir, "inplace.bin");
    const size = 24 * 1024 * 1024; // far more than loopback socket buffers hold
    const v1 = image(size, 21);
    await writeFile(path, v1);
    const flight = await startDownload(server.port, "/inplace.bin");
    assert.equal(flight.head.headers["x-md5"], md5(v1));
    await writeFile(path, image(size, 22)); // same inode, truncated and rewritten
    const r = await flight.finish();
    assert.equal(r.complete, false, "the transfer must not complete");
    assert.ok(server.logs.some((l) => l.msg === "download cut short" && /^file (changed|shrank) while it was sent$/.test(String(l.err))));
    // and the next request describes and sends the new version
    const next = await rawRequest(server.port, requestText("/inplace.bin", PLAIN));
    assert.equal(next.headers["x-md5"], md5(next.body));
  });
});

describe("download buffer pool", () => {
  test("more clients than pooled buffers, some hanging up mid-transfer: all bytes right, every buffer back", { timeout: 30_000 }, async () => {
    const server = await start({ open: true, poolBuffers: 2, chunkSize: 64 * 1024, poolWaitMs: 5, overflowChunkSize: 4096 });
    try {
      const data = image(3_000_000, 31);
      await writeFile(join(server.dir, "fw.bin"), data);
      const flights = await Promise.all(Array.from({ length: 12 }, () => startDownload(server.port, "/fw.bin")));
      // a third of the clients hang up with the transfer under way
      const results = await Promise.all(
        flights.map(async (f, i) => {
          if (i % 3 === 0) {
            f.abort();
            return undefined;
          }
          return f.finish();
        }),
      );
      for (const r of results.filter((x) => x !== undefined)) {
        assert.ok(r.complete);
        assert.ok(r.body.equals(data));
      }
      while (server.context.pool.out !== 0) await new Promise((r) => setTimeout(r, 20));
      assert.equal(server.context.pool.out, 0);
      const again = await rawRequest(server.port, requestText("/fw.bin", PLAIN));
      assert.ok(again.body.equals(data));
    } finally {
      await server.close();
    }
  });
});

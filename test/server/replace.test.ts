// x-MD5 always matches the bytes sent, and a later download never carries a
// stale digest, whatever happens to the file while downloads are in flight:
// renamed over, rewritten in place, truncated, rewritten at the same size with
// its mtime restored; for files held in memory and for files streamed from disk.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { open, readFile, rename, stat, truncate, utimes, writeFile } from "node:fs/promises";
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

type Style = readonly [label: string, replace: (path: string, next: Buffer, dir: string) => Promise<void>];

/** The ways a file gets replaced under a running server. */
const STYLES: Style[] = [
  ["rename over the name", async (path, next, dir) => {
    const tmp = join(dir, `.tmp-${Math.random()}`);
    await writeFile(tmp, next);
    await rename(tmp, path);
  }],
  ["rewrite in place", (path, next) => writeFile(path, next)],
  ["truncate", (path, next) => truncate(path, Math.floor(next.length / 3))],
  ["same size, mtime restored (cp -p, rsync --inplace -t)", async (path, next) => {
    const st = await stat(path);
    const fd = await open(path, "r+");
    await fd.write(next, 0, next.length, 0);
    await fd.close();
    await utimes(path, st.atime, st.mtime);
  }],
];

/** Whole-second times, so restoring them with utimes() is exact (ns mtimes are not). */
async function roundTimes(path: string): Promise<void> {
  const t = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  await utimes(path, t, t);
}

/** After the replacement: what the file holds now. */
async function current(path: string): Promise<Buffer> {
  return readFile(path);
}

for (const [mode, options] of [
  ["held in memory", {}],
  ["streamed from disk", { maxMemoryFileBytes: 64 * 1024 }],
] as const) {
  describe(`replacement while downloads run (${mode})`, () => {
    let server: Running;
    before(async () => {
      server = await start({ open: true, ...options });
    });
    after(() => server.close());

    for (const [i, [label, replace]] of STYLES.entries()) {
      test(`${label}: no complete body differs from its x-MD5, and the next download describes the new file`, async () => {
        const path = join(server.dir, `style-${i}.bin`);
        const size = 3_000_000;
        const v1 = image(size, 100 + i);
        await writeFile(path, v1);
        await roundTimes(path);
        const flights = await Promise.all(Array.from({ length: 8 }, () => startDownload(server.port, `/style-${i}.bin`)));
        for (const f of flights) assert.equal(f.head.headers["x-md5"], md5(v1));
        await replace(path, image(size, 200 + i), server.dir);
        const results = await Promise.all(flights.map((f) => f.finish()));
        for (const [n, r] of results.entries()) if (r.complete) assert.equal(md5(r.body), md5(v1), `download ${n}: a complete body is the version its head described`);
        const now = await current(path);
        const next = await rawRequest(server.port, requestText(`/style-${i}.bin`, PLAIN));
        assert.equal(next.status, 200);
        assert.ok(next.body.equals(now), "the next download sends the file as it is now");
        assert.equal(next.headers["x-md5"], md5(now), "with the digest of what it is now");
        assert.equal(next.headers["content-length"], String(now.length));
      });
    }

    test("a 20-client race against same-size rewrites that restore mtime: every complete body matches its x-MD5", { timeout: 30_000 }, async () => {
      const path = join(server.dir, "race.bin");
      const size = 400_000;
      const versions = Array.from({ length: 4 }, (_, k) => image(size, 300 + k));
      const digests = new Set(versions.map(md5));
      await writeFile(path, versions[0]);
      await roundTimes(path);
      const st = await stat(path);
      let writing = true;
      const writer = (async () => {
        for (let k = 1; writing; k++) {
          const fd = await open(path, "r+");
          // in two halves, so a reader can see half old, half new
          const v = versions[k % versions.length];
          await fd.write(v, 0, size / 2, 0);
          await fd.write(v, size / 2, size / 2, size / 2);
          await fd.close();
          await utimes(path, st.atime, st.mtime);
          await new Promise((r) => setTimeout(r, 30 + (k % 3) * 20)); // quiet spells, as between deploys
        }
      })();
      let complete = 0;
      let mismatched = 0;
      const client = async () => {
        for (let n = 0; n < 15; n++) {
          const r = await rawRequest(server.port, requestText("/race.bin", PLAIN)).catch(() => undefined);
          if (!r || r.status !== 200 || r.body.length !== size) continue;
          complete++;
          if (md5(r.body) !== r.headers["x-md5"] || !digests.has(r.headers["x-md5"])) mismatched++;
        }
      };
      await Promise.all(Array.from({ length: 20 }, client));
      writing = false;
      await writer;
      assert.ok(complete > 0, "some downloads completed");
      assert.equal(mismatched, 0, `${mismatched} of ${complete} complete bodies did not match their x-MD5 (or were a mix of versions)`);
      // and once the file is stable, downloads describe it
      const stable = await current(path);
      const r = await rawRequest(server.port, requestText("/race.bin", PLAIN));
      assert.equal(r.headers["x-md5"], md5(stable));
      assert.ok(r.body.equals(stable));
    });
  });
}

describe("digests and replacement", () => {
  let server: Running;
  before(async () => {
    server = await start({ open: true });
  });
  after(() => server.close());

  test("a version is read and hashed once; a same-size rewrite with mtime restored is a new version", async () => {
    const path = join(server.dir, "cache.bin");
    const v1 = image(300_000, 1);
    await writeFile(path, v1);
    await roundTimes(path);
    const before = server.context.images.loads;
    const a = await rawRequest(server.port, requestText("/cache.bin", PLAIN));
    const b = await rawRequest(server.port, requestText("/cache.bin", PLAIN));
    assert.equal(a.headers["x-md5"], md5(v1));
    assert.equal(b.headers["x-md5"], md5(v1));
    assert.equal(server.context.images.loads, before + 1);
    assert.ok(server.context.files.fastHits >= 1, "the second request was answered from memory after one stat");
    // Same size, same mtime, new bytes written in place: ctime still tells.
    const st = await stat(path);
    const v2 = image(300_000, 2);
    await writeFile(path, v2);
    await utimes(path, st.atime, st.mtime);
    assert.equal((await stat(path)).mtimeMs, st.mtimeMs, "mtime restored exactly");
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

  test("a file too large to hold, rewritten in place during a download, is cut short rather than sent unlike its x-MD5", async () => {
    const big = await start({ open: true, maxMemoryFileBytes: 1024 * 1024 });
    try {
      const path = join(big.dir, "inplace.bin");
      const size = 24 * 1024 * 1024; // far more than loopback socket buffers hold
      const v1 = image(size, 21);
      await writeFile(path, v1);
      const flight = await startDownload(big.port, "/inplace.bin");
      assert.equal(flight.head.headers["x-md5"], md5(v1));
      await writeFile(path, image(size, 22)); // same inode, truncated and rewritten
      const r = await flight.finish();
      assert.equal(r.complete, false, "the transfer must not complete");
      assert.ok(big.logs.some((l) => l.msg === "download cut short" && /^file (changed|shrank) while it was sent$/.test(String(l.err))));
      const next = await rawRequest(big.port, requestText("/inplace.bin", PLAIN));
      assert.equal(next.headers["x-md5"], md5(next.body));
    } finally {
      await big.close();
    }
  });

  test("a file written just before the request is read once it has settled, and served whole", async () => {
    const path = join(server.dir, "fresh.bin");
    const v = image(500_000, 41);
    await writeFile(path, v);
    const r = await rawRequest(server.port, requestText("/fresh.bin", PLAIN));
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(v));
    assert.equal(r.headers["x-md5"], md5(v));
  });
});

describe("download buffer pool (files streamed from disk)", () => {
  test("more clients than pooled buffers, some hanging up mid-transfer: all bytes right, every buffer back", { timeout: 30_000 }, async () => {
    const server = await start({ open: true, maxMemoryFileBytes: 1024 * 1024, poolBuffers: 2, chunkSize: 64 * 1024, poolWaitMs: 5, overflowChunkSize: 4096 });
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

// The fault-injecting proxy itself, in front of a plain loopback HTTP server:
// exactly one byte flipped, a cut at the asked share of the body, a stall that
// keeps the socket open, each only as many times as asked.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { FaultProxy } from "../support/fault-proxy";

const BODY = Buffer.from(new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff));

async function origin(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    res.setHeader("Content-Length", BODY.length);
    res.end(BODY);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** GET through the proxy; resolves with the body bytes received and how it ended. */
function get(port: number, path: string, waitMs = 0): Promise<{ body: Buffer; ended: "end" | "error" | "open" }> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const done = (ended: "end" | "error" | "open") => {
      if (timer) clearTimeout(timer);
      resolve({ body: Buffer.concat(parts), ended });
    };
    const req = request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => done("end"));
      res.on("error", () => done("error"));
      if (waitMs) timer = setTimeout(() => (req.destroy(), done("open")), waitMs);
    });
    req.on("error", () => done("error"));
    req.end();
  });
}

test("flip: exactly one byte differs, once; other paths untouched", async () => {
  const o = await origin();
  const proxy = await FaultProxy.start(o.port, { flipAt: 54_321 });
  try {
    const other = await get(proxy.port, "/_catalog");
    assert.ok(other.body.equals(BODY));
    const first = await get(proxy.port, "/fw.bin");
    assert.equal(first.ended, "end");
    const differing = [...first.body.keys()].filter((i) => first.body[i] !== BODY[i]);
    assert.deepEqual(differing, [54_321]);
    assert.equal(first.body[54_321], BODY[54_321] ^ 0xff);
    assert.ok((await get(proxy.port, "/fw.bin")).body.equals(BODY));
    assert.deepEqual(proxy.stats.requests, ["/_catalog", "/fw.bin", "/fw.bin"]);
    assert.equal(proxy.stats.flipped, 1);
  } finally {
    await proxy.close();
    await o.close();
  }
});

test("cut: the connection drops after the asked share of the body, once", async () => {
  const o = await origin();
  const proxy = await FaultProxy.start(o.port, { cutAt: 0.5 });
  try {
    const first = await get(proxy.port, "/fw.bin");
    assert.equal(first.ended, "error");
    assert.equal(first.body.length, 50_000);
    assert.ok(first.body.equals(BODY.subarray(0, 50_000)));
    assert.ok((await get(proxy.port, "/fw.bin")).body.equals(BODY));
    assert.equal(proxy.stats.cuts, 1);
  } finally {
    await proxy.close();
    await o.close();
  }
});

test("stall: bytes stop at the offset and the socket stays open", async () => {
  const o = await origin();
  const proxy = await FaultProxy.start(o.port, { stallAt: 30_000 });
  try {
    const first = await get(proxy.port, "/fw.bin", 300);
    assert.equal(first.ended, "open");
    assert.equal(first.body.length, 30_000);
    assert.equal(proxy.stats.stalls, 1);
  } finally {
    await proxy.close();
    await o.close();
  }
});

// The image store on its own (server/image-store.ts): one read per file
// version, a read that a write overlapped is done again, a file that never
// stops changing is "busy", and a read that starts too soon after the file's
// last change is not trusted.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { open, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileVersion, type FileVersion } from "../../server/file-version";
import { ImageStore, settled, type ImageStoreOptions } from "../../server/image-store";
import { tempDir } from "./helpers";

const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const MB = 1024 * 1024;

function bytes(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) b.writeUInt32LE((seed * 2654435761 + i * 40503) >>> 0, i);
  return b;
}

async function versionOf(path: string): Promise<FileVersion> {
  const fd = await open(path, "r");
  try {
    return fileVersion(await fd.stat({ bigint: true }));
  } finally {
    await fd.close();
  }
}

describe("image store", () => {
  let dir: string;
  before(async () => {
    dir = await tempDir("ota-images-");
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const store = (extra: Partial<ImageStoreOptions> = {}) => new ImageStore({ maxBytes: 64 * MB, maxFileBytes: 16 * MB, settleMs: 5, ...extra });

  /** Writes a file and backdates it, so it is settled at once. */
  async function file(name: string, content: Buffer): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, content);
    const t = new Date(Date.now() - 60_000);
    await utimes(path, t, t);
    return path;
  }

  async function load(s: ImageStore, path: string) {
    const fd = await open(path, "r");
    try {
      return await s.load(fd.fd, fileVersion(await fd.stat({ bigint: true })));
    } finally {
      await fd.close();
    }
  }

  test("settled(): a read starting within settleMs of the last change is not trusted; a far-off ctime (clock set back) is", () => {
    const v = { key: "k", size: 1, mtimeMs: 0, ctimeMs: 10_000 };
    assert.equal(settled(v, 10_010, 25), false);
    assert.equal(settled(v, 10_025, 25), false);
    assert.equal(settled(v, 10_026, 25), true);
    assert.equal(settled(v, 9_990, 25), false, "a change just after the clock reading");
    assert.equal(settled(v, 5_000, 25), true, "ctime far in the future: a new write would get another ctime");
  });

  test("one read per version: bytes, digests and facts of exactly what was read", async () => {
    const content = bytes(3 * MB + 5, 1);
    content[0] = 0xe9;
    const path = await file("a.bin", content);
    const s = store();
    const a = await load(s, path);
    const b = await load(s, path);
    assert.ok(a.ok && b.ok);
    assert.equal(s.loads, 1);
    assert.ok(a.entry.bytes?.equals(content));
    assert.equal(a.entry.digests.md5, md5(content));
    assert.equal(a.entry.digests.sha256, createHash("sha256").update(content).digest("hex"));
    assert.equal(a.entry.version.key, (await versionOf(path)).key);
    assert.equal(s.get(a.entry.version.key), a.entry);
  });

  test("a same-size write with mtime restored during the read: read again, the entry is the new file", async () => {
    const path = await file("b.bin", bytes(4 * MB, 2));
    const next = bytes(4 * MB, 3);
    const st = await stat(path);
    let staged = false;
    const s = store({
      beforeChunk: async (position) => {
        if (position !== MB || staged) return;
        staged = true; // half read: overwrite all of it, then put mtime back
        const fd = await open(path, "r+");
        await fd.write(next, 0, next.length, 0);
        await fd.close();
        await utimes(path, st.atime, st.mtime);
        await new Promise((r) => setTimeout(r, 10)); // past settleMs
      },
    });
    const r = await load(s, path);
    assert.ok(staged && r.ok);
    assert.ok(r.entry.bytes?.equals(next), "not half old, half new");
    assert.equal(r.entry.digests.md5, md5(next));
    assert.equal(r.entry.version.key, (await versionOf(path)).key);
  });

  test("a file that never stops changing is busy, not guessed at", async () => {
    const path = await file("c.bin", bytes(2 * MB, 4));
    let n = 0;
    const s = store({
      beforeChunk: async (position) => {
        if (position === 0) return;
        const fd = await open(path, "r+");
        await fd.write(bytes(16, n++), 0, 16, 0);
        await fd.close();
      },
    });
    const r = await load(s, path);
    assert.deepEqual(r, { ok: false, busy: true });
    assert.equal(s.loads, 0);
  });

  test("a file truncated during the read is read again at its new size", async () => {
    const path = await file("d.bin", bytes(3 * MB, 5));
    let staged = false;
    const s = store({
      beforeChunk: async (position) => {
        if (position !== MB || staged) return;
        staged = true;
        await writeFile(path, bytes(MB / 2, 6));
        await new Promise((r) => setTimeout(r, 10));
      },
    });
    const r = await load(s, path);
    assert.ok(r.ok);
    assert.ok(r.entry.bytes?.equals(await readFile(path)));
  });

  test("files over the per-file limit are hashed, not held; memory stays within its bound (least recently used out)", async () => {
    const big = await file("big.bin", bytes(3 * MB, 7));
    const s = store({ maxFileBytes: 2 * MB, maxBytes: 5 * MB });
    const r = await load(s, big);
    assert.ok(r.ok);
    assert.equal(r.entry.bytes, undefined);
    assert.equal(r.entry.digests.md5, md5(await readFile(big)));
    assert.equal(s.held, 0);
    const names = ["m1.bin", "m2.bin", "m3.bin"];
    for (const [i, n] of names.entries()) await load(s, await file(n, bytes(2 * MB, 10 + i)));
    assert.ok(s.held <= 5 * MB, `held ${s.held}`);
    assert.equal(s.get((await versionOf(join(dir, "m1.bin"))).key), undefined, "the oldest went");
    assert.ok(s.get((await versionOf(join(dir, "m3.bin"))).key)?.bytes);
  });
});

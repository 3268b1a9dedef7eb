// Files too large to hold in memory (image-store.ts): bytes [start, end] of
// the open file go to the response one positioned read at a time into a
// pooled buffer, reused once the write callback says the kernel has the bytes.
// Before the last bytes leave, the descriptor must still show the version
// whose digests went out in the headers, ctime included; on any change (an
// in-place rewrite, a truncate, even a rename over the name, which moves the
// old inode's ctime) the connection is cut instead, so no client ever receives
// a complete body that does not match x-MD5. The client sees a short body.
import { read } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import type { BufferPool } from "./buffer-pool";
import { fstatVersion, type FileVersion } from "./file-version";

function readAt(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buffer, 0, length, position, (error, n) => (error ? reject(error) : resolve(n))));
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

export class TransferCut extends Error {
  override name = "TransferCut";
}

/**
 * Sends the range and ends the response; on failure destroys the response
 * (the client sees a short body) and rethrows for the caller to log.
 * The handle is closed in every case.
 */
export async function sendFileRange(
  res: ServerResponse,
  handle: FileHandle,
  version: FileVersion,
  start: number,
  end: number,
  pool: BufferPool,
): Promise<void> {
  const pending = new Set<Buffer>(); // pooled buffers the socket still holds
  try {
    let position = start;
    while (position <= end) {
      if (res.destroyed) throw new TransferCut("client went away");
      const { buffer, pooled } = await pool.take();
      let n: number;
      try {
        n = await readAt(handle.fd, buffer, Math.min(buffer.length, end - position + 1), position);
      } catch (error) {
        if (pooled) pool.give(buffer);
        throw error;
      }
      if (n === 0) {
        if (pooled) pool.give(buffer);
        throw new TransferCut("file shrank while it was sent");
      }
      position += n;
      if (position > end && (await fstatVersion(handle.fd)).key !== version.key) {
        if (pooled) pool.give(buffer);
        throw new TransferCut("file changed while it was sent");
      }
      if (pooled) pending.add(buffer);
      const more = res.write(buffer.subarray(0, n), () => {
        if (pooled && pending.delete(buffer)) pool.give(buffer);
      });
      if (!more && !res.destroyed) await drained(res);
    }
    res.end();
  } catch (error) {
    res.destroy();
    throw error;
  } finally {
    await handle.close().catch(() => undefined);
    // Writes still pending once the response is gone may never call back:
    // those buffers leave the pool for good rather than risk reuse.
    const abandon = () => {
      for (const buffer of pending) {
        pending.delete(buffer);
        pool.forget();
      }
    };
    if (res.closed) abandon();
    else res.once("close", abandon);
  }
}

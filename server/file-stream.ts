// Streams bytes [start, end] of an open file. Before the last chunk leaves, it
// checks the descriptor still shows the version whose digests went out in the
// headers; if the file was rewritten in place meanwhile, the response is cut
// short instead, so a client never receives a complete body that does not
// match x-MD5. (An atomic replace, rename over the name, never affects an
// open descriptor: it keeps reading the old inode.)
import { read } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
import { fstatVersion, type FileVersion } from "./file-version";

const CHUNK = 64 * 1024;

export class VersionedFileStream extends Readable {
  private position: number;
  private readonly last: number;

  constructor(
    private readonly handle: FileHandle,
    private readonly version: FileVersion,
    start: number,
    end: number, // inclusive
  ) {
    super({ highWaterMark: CHUNK });
    this.position = start;
    this.last = end;
  }

  override _read(): void {
    const remaining = this.last - this.position + 1;
    if (remaining <= 0) {
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK, remaining));
    read(this.handle.fd, buffer, 0, buffer.length, this.position, (error, n) => {
      if (error) return this.destroy(error);
      if (n === 0) return this.destroy(new Error("file shrank while it was sent"));
      this.position += n;
      const chunk = n === buffer.length ? buffer : buffer.subarray(0, n);
      if (this.position <= this.last) {
        this.push(chunk);
        return;
      }
      fstatVersion(this.handle.fd).then(
        (now) => {
          if (now.contentKey !== this.version.contentKey) return this.destroy(new Error("file changed while it was sent"));
          this.push(chunk);
          this.push(null);
        },
        (statError: Error) => this.destroy(statError),
      );
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.handle.close().then(
      () => callback(error),
      () => callback(error),
    );
  }
}

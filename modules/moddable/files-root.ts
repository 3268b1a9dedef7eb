// The ECMA-419 files root directory of SDK 8.2.3: `export default` of
// modules/io/files/posix/files.js (lin; the manifest's config "files" folder,
// else $HOME) and of modules/io/files/littlefs/files.js (esp32). The SDK's
// typings declare the classes but not that default export, so it is read
// through the namespace, and only what this project uses is typed here
// (files-posix.js / files-posix.c: read and write are pread/pwrite at a position).
import * as storage from "embedded:storage/files";

export interface FileStatus {
  readonly size: number;
  isFile(): boolean;
}

export interface FileHandle {
  /** Reads into `buffer` at `position`; returns the bytes read. */
  read(buffer: Uint8Array, position: number): number;
  /** Writes the whole view (in place, no copy) at `position`. */
  write(buffer: Uint8Array, position: number): void;
  status(): FileStatus;
  close(): void;
}

export interface FilesRoot {
  /** mode "r" (default), "r+", "w" (create, truncate), "w+"; a read mode throws when there is no file. */
  openFile(options: { path: string; mode?: "r" | "r+" | "w" | "w+" }): FileHandle;
  /** Throws when there is no such path. */
  delete(path: string): void;
  /** Throws when there is no such path. */
  status(path: string): FileStatus;
}

export const files = (storage as unknown as { default: FilesRoot }).default;

// The signature file beside a firmware image or a mod (fw.bin -> fw.bin.sig,
// app.xsa -> app.xsa.sig; docs/signing.md, docs/mods.md), as downloads, /api/firmware and /api/catalog report it.
// Read with the same care as an image: the catalog's containment guards and
// hidden-file rule (catalog-root.ts: lexical, real path, O_NOFOLLOW |
// O_NONBLOCK open, the descriptor's real target, a regular file), never more
// than MAX_SIGNATURE_FILE bytes, and only when the file did not change while
// it was read. The server does not know any board's keys: it says whether a
// .sig is there and parses, and which key signed it, and sends its bytes
// (x-Firmware-Signature, base64) so the board can judge.
import type { FileHandle } from "node:fs/promises";
import type { CatalogRoot } from "./catalog-root";
import { fileVersion, fstatVersion, statVersionNow, type FileVersion } from "./file-version";
import { MAX_SIGNATURE_FILE, parseSignatureFile } from "../modules/core/signature/sig-file";
import { parseModSignatureFile } from "../modules/core/mods/mod-statement";

export const SIGNATURE_SUFFIX = ".sig";

export interface SignatureInfo {
  /** The file's bytes (at most MAX_SIGNATURE_FILE). */
  bytes: Buffer;
  /** What x-Firmware-Signature carries: the bytes, base64 on one line. */
  header: string;
  /** It parses as a moddable-ota signature file. */
  signed: boolean;
  /** The signing key's id (SHA-256 of its SPKI, hex), when it parses. */
  keyId?: string;
}

/** /api/catalog's `signer`: the first 16 hex digits of the key id (its fingerprint without spaces). */
export function signerOf(info: SignatureInfo | undefined): string | undefined {
  return info?.keyId?.slice(0, 16);
}

export function isSignatureName(name: string): boolean {
  return name.endsWith(SIGNATURE_SUFFIX);
}

/** Reads a .sig through an open, checked descriptor: its info, or undefined when it is too large to be one or changed while read. */
export async function readSignature(handle: FileHandle, version: FileVersion): Promise<SignatureInfo | undefined> {
  if (version.size > MAX_SIGNATURE_FILE) return undefined;
  const buffer = Buffer.alloc(version.size);
  let at = 0;
  while (at < buffer.length) {
    const { bytesRead } = await handle.read(buffer, at, buffer.length - at, at);
    if (bytesRead === 0) return undefined; // truncated under us
    at += bytesRead;
  }
  if ((await fstatVersion(handle.fd)).key !== version.key) return undefined;
  return describeSignature(buffer);
}

export function describeSignature(bytes: Buffer): SignatureInfo {
  const info: SignatureInfo = { bytes, header: bytes.toString("base64"), signed: false };
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  // An image's .sig or a mod's (its own statement, mod-statement.ts); whether it fits its file is the board's call.
  for (const parse of [parseSignatureFile, parseModSignatureFile]) {
    try {
      info.keyId = parse(view).keyId;
      info.signed = true;
      break;
    } catch {
      // present but not this kind of signature file: sent as it is (the board says why), not "signed"
    }
  }
  return info;
}

interface Known {
  key: string;
  info: SignatureInfo;
}

const KNOWN_MAX = 4096;

/** .sig files by the image path they sit beside; each answer costs one stat while the file is unchanged. */
export class SignatureFiles {
  private readonly known = new Map<string, Known>();
  /** Files read (tests use it to prove the cache works). */
  reads = 0;

  constructor(
    private readonly root: CatalogRoot,
    /** A version changed this recently is read again next time (the image store's settle time). */
    private readonly settleMs = 0,
  ) {}

  /**
   * The signature beside an image: `<path>.sig` for each catalog-relative path
   * given (the path as requested first, then the image's real path when a
   * symlink led elsewhere); undefined when there is none.
   */
  async beside(...imagePaths: string[]): Promise<SignatureInfo | undefined> {
    const tried = new Set<string>();
    for (const path of imagePaths) {
      if (tried.has(path) || isSignatureName(path)) continue;
      tried.add(path);
      const info = await this.find(`${path}${SIGNATURE_SUFFIX}`);
      if (info) return info;
    }
    return undefined;
  }

  private async find(relative: string): Promise<SignatureInfo | undefined> {
    const lexical = this.root.lexical(relative);
    if (!lexical.ok) return undefined;
    let now: FileVersion | undefined;
    try {
      now = statVersionNow(lexical.path);
    } catch {
      now = undefined; // ENOTDIR, EACCES: none to send
    }
    if (!now) {
      this.known.delete(lexical.path);
      return undefined;
    }
    const known = this.known.get(lexical.path);
    if (known?.key === now.key) return known.info;
    const resolved = await this.root.resolve(relative);
    if (!resolved.ok) return undefined;
    const opened = await this.root.openFile(resolved);
    if (!opened.ok) return undefined;
    try {
      const version = fileVersion(opened.stat);
      const info = await readSignature(opened.handle, version);
      this.reads++;
      if (!info) return undefined;
      if (Date.now() - version.ctimeMs > this.settleMs) this.remember(lexical.path, { key: version.key, info });
      return info;
    } finally {
      await opened.handle.close().catch(() => undefined);
    }
  }

  private remember(path: string, known: Known): void {
    this.known.delete(path);
    if (this.known.size >= KNOWN_MAX) this.known.delete(this.known.keys().next().value as string);
    this.known.set(path, known);
  }
}

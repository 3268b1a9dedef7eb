// An OtaWriter in memory for virtual boards: it keeps what a board needs to
// "boot" the image (its head, for the app descriptor, and its MD5), not the
// bytes, so fleets of hundreds cost little. It refuses what esp_ota_* refuses
// (no open session, wrong magic, past the declared size, short image).
import { createHash, type Hash } from "node:crypto";
import { APP_DESC_OFFSET, APP_DESC_SIZE, parseAppDescriptor } from "../../modules/core/image";
import type { OtaWriter } from "../../modules/core/ports";

const HEAD = APP_DESC_OFFSET + APP_DESC_SIZE;

export interface BoardImage {
  version: string;
  projectName: string;
  md5: string;
  size: number;
}

export function boardImageOf(bytes: Uint8Array): BoardImage {
  const app = parseAppDescriptor(bytes.subarray(0, HEAD));
  if (!app) throw new Error("not an ESP32 app image with an app descriptor");
  return { version: app.version, projectName: app.projectName, md5: createHash("md5").update(bytes).digest("hex"), size: bytes.length };
}

export class MemoryOtaWriter implements OtaWriter {
  private declared = 0;
  private written = 0;
  private head = new Uint8Array(HEAD);
  private md5: Hash | undefined;
  /** Set by complete(): the image the next boot will try. */
  committed: BoardImage | undefined;

  constructor(readonly capacity: number) {}

  begin(size: number): void {
    if (this.md5) throw new Error("esp_ota_begin: a session is already open");
    if (!Number.isInteger(size) || size <= 0 || size > this.capacity) throw new Error(`esp_ota_begin: ${size} bytes do not fit (${this.capacity})`);
    this.declared = size;
    this.written = 0;
    this.md5 = createHash("md5");
  }

  write(chunk: Uint8Array): void {
    if (!this.md5) throw new Error("esp_ota_write without a session");
    if (this.written === 0 && chunk.length > 0 && chunk[0] !== 0xe9) throw new Error("OTA image has invalid magic byte");
    if (this.written + chunk.length > this.declared) throw new Error("esp_ota_write past the declared size");
    if (this.written < HEAD) this.head.set(chunk.subarray(0, Math.min(chunk.length, HEAD - this.written)), this.written);
    this.md5.update(chunk);
    this.written += chunk.length;
  }

  complete(): void {
    const md5 = this.md5;
    this.md5 = undefined;
    if (!md5 || this.written !== this.declared) throw new Error("esp_ota_end: image incomplete");
    const app = parseAppDescriptor(this.head);
    if (!app) throw new Error("esp_ota_end: image does not verify (no app descriptor)");
    this.committed = { version: app.version, projectName: app.projectName, md5: md5.digest("hex"), size: this.written };
  }

  abort(): void {
    this.md5 = undefined;
  }
}

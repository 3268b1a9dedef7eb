// One update session: connect -> head -> pre-flight -> stream into the OTA
// slot with running digests -> verify -> commit, or abort with the running
// firmware and boot selection untouched. Drops and stalls mid-body resume with
// a Range request from the received offset. Every byte written also goes
// through the bootloader's image rules (esp-image-rules.ts ImageCheck): an
// image the board's bootloader would refuse to load is refused before commit,
// and the download must hold a whole image.
import type { Clock, Digest, DigestFactory, HttpClient, HttpExchange, HttpResponseHead, OtaWriter, TimerId } from "../ports";
import type { Progress, UpdatePhase, UpdateRecorder } from "../updater-api";
import { toHex } from "../bytes";
import { APP_DESC_OFFSET, APP_DESC_SIZE, IMAGE_HEADER_SIZE, parseAppDescriptor } from "../image";
import { ImageCheck } from "../esp-image-rules";
import { hostPort, percent, seconds, serverAnswered } from "../messages";
import { checkHead, checkImageHeader } from "./preflight";
import { RateMeter } from "./progress";

export interface SessionDeps {
  http: HttpClient;
  ota: OtaWriter;
  digest: DigestFactory;
  clock: Clock;
  /** Told when the slot is erased, before the boot switch and when an offered image fails. */
  boot: UpdateRecorder;
}

/** Bytes read before anything is erased: the image header and the app descriptor after it. */
export const HEAD_BYTES = APP_DESC_OFFSET + APP_DESC_SIZE;

export interface SessionOptions {
  /** Chip id of the running board. */
  chipId: number;
  /** The board's flash size in bytes: an image built for more is refused (flash-size.ts). */
  flashSize?: number;
  /** Its chip revision (major * 100 + minor), when known: images that do not support it are refused. */
  chipRevision?: number;
  /** No byte (or no answer) for this long = stalled. */
  stallMs: number;
  maxResumes: number;
  requireMd5: boolean;
  /** Pause before a resume request. */
  resumeDelayMs: number;
}

export interface SessionTarget {
  /** Shown as Progress.target. */
  name: string;
  host: string;
  port: number;
  path: string;
  headers?: ReadonlyArray<readonly [string, string]>;
  /** Advanced-updater check-in: 304 (and 204) mean "already current". */
  acceptNotModified?: boolean;
  /** The version the catalog gives, recorded for a failure before the image's own descriptor is read. */
  version?: string;
}

type Interruption = "stall" | "drop" | "short";

export class UpdateSession {
  private phase: UpdatePhase = "idle";
  private received = 0;
  private total = 0;
  private resumes = 0;
  private error: string | undefined;
  private md5Expected: string | undefined;
  private sha256Expected: string | undefined;
  private md5: Digest | undefined;
  private sha256: Digest | undefined;
  /** The image's first bytes, when they arrive split over chunks (the only copy the session makes). */
  private readonly head = new Uint8Array(HEAD_BYTES);
  /** esp_app_desc_t version of the image, once its first bytes are in. */
  private imageVersion: string | undefined;
  /** A 200 answer came: from here on a failure is a failed update, not just an unreachable server. */
  private offered = false;
  private otaOpen = false;
  private exchange: HttpExchange | undefined;
  private seq = 0;
  private requestedFrom = 0;
  private headSeen = false;
  private timer: TimerId | undefined;
  private readonly meter = new RateMeter();
  /** Follows the image's segments as they are written (one 8-byte segment header, a few counters). */
  private readonly layout: ImageCheck;

  constructor(
    private readonly deps: SessionDeps,
    private readonly target: SessionTarget,
    private readonly options: SessionOptions,
    private readonly onFinish: (progress: Progress) => void = () => {},
  ) {
    // As the bootloader loads it: esp_ota_end on the board does not run verify_load_addresses.
    this.layout = new ImageCheck({ chipId: options.chipId, chipRevision: options.chipRevision, bootloader: true });
  }

  start(): void {
    if (this.phase !== "idle") return;
    this.phase = "connecting";
    this.send(0);
  }

  cancel(): void {
    if (this.active()) this.end("cancelled", undefined);
  }

  /** Started and not yet finished. */
  active(): boolean {
    return this.phase !== "idle" && this.phase !== "done" && this.phase !== "failed" && this.phase !== "cancelled" && this.phase !== "current";
  }

  progress(): Progress {
    const p: Progress = {
      phase: this.phase,
      target: this.target.name,
      received: this.received,
      total: this.total,
      rate: this.phase === "downloading" ? this.meter.rate(this.deps.clock.now(), this.received) : 0,
      resumes: this.resumes,
    };
    if (this.error !== undefined) p.error = this.error;
    return p;
  }

  private where(): string {
    return hostPort(this.target.host, this.target.port);
  }

  private send(from: number): void {
    const seq = ++this.seq;
    this.requestedFrom = from;
    this.headSeen = false;
    const headers: Array<readonly [string, string]> = [...(this.target.headers ?? [])];
    if (from > 0) headers.push(["Range", `bytes=${from}-`]);
    this.arm();
    const live = () => seq === this.seq && this.active();
    this.exchange = this.deps.http.request(
      { host: this.target.host, port: this.target.port, path: this.target.path, headers },
      {
        onHead: (head) => {
          if (live()) this.onHead(head);
        },
        onData: (chunk) => {
          if (live()) this.onData(chunk);
        },
        onEnd: () => {
          if (!live()) return;
          this.exchange = undefined; // finished: nothing left to abort
          this.onEnd();
        },
        onError: () => {
          if (!live()) return;
          this.exchange = undefined;
          this.onError();
        },
      },
    );
  }

  private arm(): void {
    this.disarm();
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      this.onStall();
    }, this.options.stallMs);
  }

  private disarm(): void {
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private dropExchange(): void {
    this.seq++; // late callbacks from the old exchange are ignored
    const exchange = this.exchange;
    this.exchange = undefined;
    exchange?.abort();
  }

  private onHead(head: HttpResponseHead): void {
    this.headSeen = true;
    this.arm();
    if (this.requestedFrom > 0 && head.status === 206) return this.acceptResume(head);
    if (this.total === 0 && this.target.acceptNotModified && (head.status === 304 || head.status === 204)) return this.end("current", undefined);
    if (head.status !== 200) return this.fail(serverAnswered(head.status));
    this.offered = true;
    // A full body, first or in answer to a Range request: start over from byte 0.
    const accepted = checkHead(head, { capacity: this.deps.ota.capacity, requireMd5: this.options.requireMd5 });
    if ("error" in accepted) return this.fail(accepted.error);
    this.restartImage();
    this.total = accepted.size;
    this.md5Expected = accepted.md5;
    this.sha256Expected = accepted.sha256;
    this.md5 = this.deps.digest("MD5");
    this.sha256 = accepted.sha256 ? this.deps.digest("SHA256") : undefined;
    this.phase = "checking";
  }

  private acceptResume(head: HttpResponseHead): void {
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(head.headers.get("content-range")?.trim() ?? "");
    if (!range || Number(range[1]) !== this.received || Number(range[2]) !== this.total - 1 || Number(range[3]) !== this.total) {
      return this.fail("Server answered the resume with the wrong part of the image");
    }
    const md5 = head.headers.get("x-md5")?.trim().toLowerCase();
    if (md5 !== undefined && this.md5Expected !== undefined && md5 !== this.md5Expected) return this.fail("The image changed on the server during the download");
  }

  /** Forgets everything written so far: a 200 body replaces, never extends, a partial one. */
  private restartImage(): void {
    if (this.otaOpen) {
      this.otaOpen = false;
      this.deps.ota.abort();
    }
    this.received = 0;
    this.meter.reset();
  }

  private onData(chunk: Uint8Array): void {
    this.arm();
    if (this.received + chunk.length > this.total) return this.fail(`Server sent more than the ${this.total} bytes it announced`);
    let body = chunk;
    if (!this.otaOpen) {
      const headLength = Math.min(HEAD_BYTES, this.total);
      if (this.received === 0 && chunk.length >= headLength) {
        if (!this.preflight(chunk.subarray(0, headLength))) return;
      } else {
        // the chunk is only valid during this call: keep the first bytes until all are in
        const take = Math.min(headLength - this.received, chunk.length);
        this.head.set(chunk.subarray(0, take), this.received);
        this.received += take;
        if (this.received < headLength) return;
        const head = this.head.subarray(0, headLength);
        if (!this.preflight(head)) return;
        this.received = 0;
        if (!this.write(head)) return;
        body = chunk.subarray(take);
      }
    }
    if (body.length > 0) this.write(body);
  }

  /** Pre-flight on the image's first bytes (header, app descriptor), then open (erase) the slot. */
  private preflight(head: Uint8Array): boolean {
    this.imageVersion = parseAppDescriptor(head)?.version;
    const error = checkImageHeader(head.subarray(0, IMAGE_HEADER_SIZE), this.options.chipId, this.options.flashSize) ?? this.layout.start(head, { available: this.total, partitionSize: this.deps.ota.capacity });
    if (error) {
      this.fail(error);
      return false;
    }
    this.deps.boot.writing();
    try {
      this.deps.ota.begin(this.total);
    } catch (e) {
      this.fail(`Cannot prepare the update partition: ${reason(e)}`);
      return false;
    }
    this.otaOpen = true;
    this.phase = "downloading";
    this.meter.sample(this.deps.clock.now(), 0);
    return true;
  }

  private write(bytes: Uint8Array): boolean {
    const refused = this.layout.push(bytes);
    if (refused) {
      this.fail(refused);
      return false;
    }
    try {
      this.deps.ota.write(bytes);
    } catch (e) {
      this.fail(`Flash write failed at ${this.received} bytes: ${reason(e)}`);
      return false;
    }
    this.md5?.write(bytes);
    this.sha256?.write(bytes);
    this.received += bytes.length;
    this.meter.sample(this.deps.clock.now(), this.received);
    return true;
  }

  private onEnd(): void {
    if (this.total > 0 && this.received === this.total && this.otaOpen) return this.verify();
    if (!this.headSeen) return this.onError();
    this.interrupted("short");
  }

  private onError(): void {
    if (this.total === 0 && this.resumes === 0) return this.fail(`Cannot connect to ${this.where()}`);
    this.interrupted("drop");
  }

  private onStall(): void {
    if (this.total > 0 && this.received === this.total && this.otaOpen) {
      // every byte is in; the server just did not close
      this.dropExchange();
      return this.verify();
    }
    if (this.total === 0 && this.resumes === 0) return this.fail(`No answer from ${this.where()} within ${seconds(this.options.stallMs)}`);
    this.interrupted("stall");
  }

  private interrupted(kind: Interruption): void {
    this.dropExchange();
    this.disarm();
    if (this.total > 0 && this.resumes < this.options.maxResumes) {
      this.resumes++;
      this.timer = this.deps.clock.setTimeout(() => {
        this.timer = undefined;
        this.send(this.received);
      }, this.options.resumeDelayMs);
      return;
    }
    const at = percent(this.received, this.total);
    const gaveUp = this.options.maxResumes > 0 ? `; gave up after ${this.resumes} resume${this.resumes === 1 ? "" : "s"}` : "";
    if (kind === "stall") return this.fail(`Download stalled at ${at} %${gaveUp}`);
    if (kind === "drop") return this.fail(`Connection lost at ${at} %${gaveUp}`);
    this.fail(`Download ended early at ${at} % (${this.received} of ${this.total} bytes)${gaveUp}`);
  }

  private verify(): void {
    this.disarm();
    this.phase = "verifying";
    const md5 = this.md5 ? toHex(this.md5.close()) : undefined;
    const sha256 = this.sha256 ? toHex(this.sha256.close()) : undefined;
    if (this.md5Expected !== undefined && md5 !== this.md5Expected) return this.fail("MD5 mismatch: the download was corrupted");
    if (this.sha256Expected !== undefined && sha256 !== this.sha256Expected) return this.fail("SHA-256 mismatch: the download was corrupted");
    const incomplete = this.layout.finish(this.received);
    if (incomplete) return this.fail(incomplete);
    this.deps.boot.committing(this.version());
    try {
      this.deps.ota.complete();
    } catch (e) {
      return this.fail(`The new firmware was not accepted: ${reason(e)}`);
    }
    this.otaOpen = false;
    this.end("done", undefined);
  }

  private fail(message: string): void {
    this.end("failed", message);
  }

  private end(phase: UpdatePhase, error: string | undefined): void {
    this.disarm();
    this.dropExchange();
    if (this.otaOpen) {
      this.otaOpen = false;
      try {
        this.deps.ota.abort();
      } catch {
        // the slot is not bootable either way; the boot selection was never changed
      }
    }
    this.phase = phase;
    this.error = error;
    if (phase === "failed" && this.offered && error !== undefined) this.deps.boot.failed(this.version(), error);
    this.onFinish(this.progress());
  }

  /** What the records call this image: its own version, the catalog's, or its name. */
  private version(): string {
    return this.imageVersion ?? this.target.version ?? this.target.name;
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// One download session: connect -> head -> pre-flight -> stream into the OTA
// slot with running digests -> verify -> commit, or abort with the running
// firmware and boot selection untouched. Drops and stalls mid-body resume with
// a Range request from the received offset. The image side (pre-flight, the
// bootloader's image rules, digests, commit) is the ImageSink every update
// shares (image-sink.ts); this file is the HTTP side. A board that takes
// only signed images first asks for `<path>.sig` beside a catalog image (404:
// the image has no signature), so the sink can judge the signature on the
// image's head, before anything is erased; an x-Firmware-Signature header
// with the image (our server's, and a check-in's only source) takes its place.
// The bytes go to an UpdateSink: an ImageSink (firmware), a ModSink (an app
// mod from the catalog), or for a check-in on a board with mods the sink
// `choose` gives once the answer's head is in (engine/sniff-sink.ts).
import type { HttpClient, HttpExchange, HttpFailure, HttpResponseHead } from "../ports";
import type { Progress } from "../updater-api";
import { connectFailed, hostPort, isHttpStatus, notHttp, percent, seconds, serverAnswered } from "../messages";
import { checkHead } from "./preflight";
import { ImageSink, type SinkOptions } from "./image-sink";
import type { UpdateSink } from "../mods/mod-sink";
import { SessionBase, type SessionBaseDeps } from "./session-base";
import { SIGNATURE_HEADER_KEY } from "../signature/header";
import { fetchSignatureFile } from "./signature-fetch";
import type { SignatureInput } from "../signature/policy";

export { HEAD_BYTES } from "./image-sink";

export interface SessionDeps extends SessionBaseDeps {
  http: HttpClient;
}

export interface SessionOptions extends SinkOptions {
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
  /** Where the image's .sig file sits (`<path>.sig` of a catalog image), asked for first when signatures are required. */
  signaturePath?: string;
  /** A header made afresh for each request from the others (a check-in's credentials: checkin-auth.ts; a resend must not be a replay). */
  sign?: (headers: ReadonlyArray<readonly [string, string]>) => readonly [string, string] | undefined;
  /**
   * Work before the first request (a check-in's: learn the time its credentials
   * need, updater.ts): the session sends once it calls back, or after stallMs
   * without (the exchange is then aborted); never a failure.
   */
  prepare?: (done: () => void) => HttpExchange;
}

type Interruption = "stall" | "drop" | "short";

export class UpdateSession extends SessionBase {
  private exchange: HttpExchange | undefined;
  private seq = 0;
  private requestedFrom = 0;
  private headSeen = false;
  private md5Expected: string | undefined;
  /** The .sig fetched beside the image before it (undefined: none was asked for, or there is none). */
  private fetched: SignatureInput;

  constructor(
    protected override readonly deps: SessionDeps,
    private readonly target: SessionTarget,
    private readonly options: SessionOptions,
    onFinish: (progress: Progress) => void = () => {},
    sink: UpdateSink = new ImageSink(deps, options),
    /** A check-in's answer picks its sink from its head (before any byte): a sink, or why none takes it. */
    private readonly choose?: (head: HttpResponseHead) => UpdateSink | { error: string },
  ) {
    super(deps, sink, target.name, target.version, onFinish);
  }

  start(): void {
    if (this.phase !== "idle") return;
    this.phase = "connecting";
    const prepare = this.target.prepare;
    if (prepare) return this.prepareFirst(prepare);
    this.first();
  }

  private first(): void {
    const path = this.target.signaturePath;
    if (path !== undefined && this.sink.signaturesRequired) return this.fetchSignature(path);
    this.send(0);
  }

  private prepareFirst(prepare: (done: () => void) => HttpExchange): void {
    const seq = ++this.seq;
    const go = (timedOut: boolean) => {
      if (seq !== this.seq || !this.active()) return;
      const exchange = this.exchange;
      this.seq++; // whatever the preparation's exchange says later is ignored
      this.exchange = undefined;
      if (timedOut) exchange?.abort();
      this.first();
    };
    this.arm(this.options.stallMs, () => go(true));
    const exchange = prepare(() => go(false));
    if (seq === this.seq) this.exchange = exchange;
  }

  /** GET <path>.sig, then the image: the signature must be in before the image's first bytes. */
  private fetchSignature(path: string): void {
    const seq = ++this.seq;
    const live = () => seq === this.seq && this.active();
    this.arm(this.options.stallMs, () => this.fail(`No answer from ${this.where()} within ${seconds(this.options.stallMs)} for the image's signature`));
    this.exchange = fetchSignatureFile(this.deps.http, { host: this.target.host, port: this.target.port, path, headers: this.target.headers }, (outcome) => {
      if (!live()) return;
      this.exchange = undefined;
      if ("error" in outcome) return this.fail(outcome.error);
      this.fetched = "unreadable" in outcome ? { unreadable: outcome.unreadable } : outcome.file;
      this.send(0);
    });
  }

  private where(): string {
    return hostPort(this.target.host, this.target.port);
  }

  private send(from: number): void {
    const seq = ++this.seq;
    this.requestedFrom = from;
    this.headSeen = false;
    const headers: Array<readonly [string, string]> = [...(this.target.headers ?? [])];
    const signed = this.target.sign?.(headers);
    if (signed) headers.push(signed);
    if (from > 0) headers.push(["Range", `bytes=${from}-`]);
    this.armStall();
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
        onError: (_reason, failure) => {
          if (!live()) return;
          this.exchange = undefined;
          this.onError(failure);
        },
      },
    );
  }

  private armStall(): void {
    this.arm(this.options.stallMs, () => this.onStall());
  }

  protected override release(): void {
    this.seq++; // late callbacks from the old exchange are ignored
    const exchange = this.exchange;
    this.exchange = undefined;
    exchange?.abort();
  }

  private onHead(head: HttpResponseHead): void {
    this.headSeen = true;
    if (!isHttpStatus(head.status)) return this.fail(notHttp(this.where()));
    this.armStall();
    if (this.requestedFrom > 0 && head.status === 206) return this.acceptResume(head);
    if (this.sink.total === 0 && this.target.acceptNotModified && (head.status === 304 || head.status === 204)) return this.settle("current", undefined);
    if (head.status !== 200) return this.fail(serverAnswered(head.status));
    this.offered = true;
    if (this.choose) {
      const chosen = this.choose(head);
      if ("error" in chosen) return this.fail(chosen.error);
      if (chosen !== this.sink) {
        this.sink.discard();
        this.sink = chosen;
      }
    }
    // A full body, first or in answer to a Range request: start over from byte 0.
    const accepted = checkHead(head, { capacity: this.sink.capacity, requireMd5: this.options.requireMd5, kind: this.sink.kind });
    if ("error" in accepted) return this.fail(accepted.error);
    this.sink.begin(accepted);
    const signature = head.headers.get(SIGNATURE_HEADER_KEY);
    if (signature !== undefined) this.sink.takeSignatureHeader(signature);
    else this.sink.takeSignature(this.fetched);
    this.meter.reset();
    this.md5Expected = accepted.md5;
    this.phase = "checking";
  }

  private acceptResume(head: HttpResponseHead): void {
    const { received, total } = this.sink;
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(head.headers.get("content-range")?.trim() ?? "");
    if (!range || Number(range[1]) !== received || Number(range[2]) !== total - 1 || Number(range[3]) !== total) {
      return this.fail("Server answered the resume with the wrong part of the image");
    }
    const md5 = head.headers.get("x-md5")?.trim().toLowerCase();
    if (md5 !== undefined && this.md5Expected !== undefined && md5 !== this.md5Expected) return this.fail("The image changed on the server during the download");
  }

  private onData(chunk: Uint8Array): void {
    this.armStall();
    if (this.sink.received + chunk.length > this.sink.total) return this.fail(`Server sent more than the ${this.sink.total} bytes it announced`);
    this.take(chunk);
  }

  private complete(): boolean {
    return this.sink.total > 0 && this.sink.received === this.sink.total && this.sink.writing;
  }

  private onEnd(): void {
    if (this.complete()) return this.finishImage("download");
    if (!this.headSeen) return this.onError({ kind: "lost" });
    this.interrupted("short");
  }

  private onError(failure: HttpFailure): void {
    if (this.sink.total === 0 && this.resumes === 0) return this.fail(connectFailed(this.where(), failure));
    this.interrupted("drop");
  }

  private onStall(): void {
    if (this.complete()) {
      // every byte is in; the server just did not close
      this.release();
      return this.finishImage("download");
    }
    if (this.sink.total === 0 && this.resumes === 0) return this.fail(`No answer from ${this.where()} within ${seconds(this.options.stallMs)}`);
    this.interrupted("stall");
  }

  private interrupted(kind: Interruption): void {
    this.release();
    this.disarm();
    const { received, total } = this.sink;
    if (total > 0 && this.resumes < this.options.maxResumes) {
      this.resumes++;
      this.arm(this.options.resumeDelayMs, () => this.send(this.sink.received));
      return;
    }
    const at = percent(received, total);
    const gaveUp = this.options.maxResumes > 0 ? `; gave up after ${this.resumes} resume${this.resumes === 1 ? "" : "s"}` : "";
    if (kind === "stall") return this.fail(`Download stalled at ${at} %${gaveUp}`);
    if (kind === "drop") return this.fail(`Connection lost at ${at} %${gaveUp}`);
    this.fail(`Download ended early at ${at} % (${received} of ${total} bytes)${gaveUp}`);
  }
}

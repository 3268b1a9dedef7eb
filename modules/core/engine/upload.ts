// An update whose bytes a phone sends to the portal (POST /update/upload):
// the same image pipeline as a download (image-sink.ts: pre-flight before
// anything is erased, 4 KB pieces into the slot, running MD5 and SHA-256, the
// bootloader's image rules, verify, commit), fed by the HTTP server adapter
// piece by piece. A client that stops sending fails it after the stall time;
// one that goes away fails it at once; either way the slot is discarded and
// the boot selection is untouched. A board that takes only signed images
// judges the x-Firmware-Signature header sent with the body on the image's
// head, before anything is erased, and its bytes at the commit. An app mod
// (POST /update/mod) is the same session over a ModSink.
import type { Progress } from "../updater-api";
import { percent, seconds } from "../messages";
import { ImageSink, type Announced, type SinkOptions } from "./image-sink";
import type { UpdateSink } from "../mods/mod-sink";
import { SessionBase, type SessionBaseDeps } from "./session-base";

export interface UploadOptions extends SinkOptions {
  /** No piece for this long = the client stopped sending. */
  stallMs: number;
}

export class UploadSession extends SessionBase {
  private stallListener: ((error: string) => void) | undefined;

  constructor(
    deps: SessionBaseDeps,
    private readonly options: UploadOptions,
    announced: Announced,
    name: string,
    onFinish: (progress: Progress) => void = () => {},
    /** The x-Firmware-Signature header sent with the body, if any. */
    signature?: string,
    sink: UpdateSink = new ImageSink(deps, options),
  ) {
    super(deps, sink, name, undefined, onFinish);
    this.offered = true;
    this.sink.begin(announced);
    if (signature !== undefined) this.sink.takeSignatureHeader(signature);
    this.phase = "checking";
    this.armStall();
  }

  /** The next piece of the body (valid only during the call). */
  write(chunk: Uint8Array): void {
    if (!this.active()) return;
    this.armStall();
    if (this.sink.received + chunk.length > this.sink.total) return this.fail(`The upload sent more than the ${this.sink.total} bytes it announced`);
    this.take(chunk);
  }

  /** The body is complete: verify and commit on the next turn, so the server can answer first. */
  end(): void {
    if (!this.active()) return;
    this.disarm();
    const { received, total } = this.sink;
    if (received !== total || !this.sink.writing) return this.fail(`The upload ended early at ${percent(received, total)} % (${received} of ${total} bytes)`);
    this.phase = "verifying";
    this.arm(0, () => this.finishImage("upload"));
  }

  /** The connection broke off. */
  abort(why: string): void {
    if (this.active()) this.fail(`The upload broke off at ${percent(this.sink.received, this.sink.total)} % (${why})`);
  }

  /** The server adapter hears of a stall, so it can answer the silent client (408) and close. */
  onStall(listener: (error: string) => void): void {
    this.stallListener = listener;
  }

  private armStall(): void {
    this.arm(this.options.stallMs, () => {
      const error = `The upload stalled at ${percent(this.sink.received, this.sink.total)} %: nothing arrived for ${seconds(this.options.stallMs)}`;
      this.fail(error);
      const listener = this.stallListener;
      this.stallListener = undefined;
      listener?.(error);
    });
  }

  protected override release(): void {
    // the server adapter owns the connection; it drops it when the body sink fails
  }
}

// What every update session shares, whatever brings the bytes (a download,
// a phone's upload): the phase and its Progress, the image sink, the rate
// meter, the stall timer, and one way to end: the slot discarded unless
// committed, the outcome recorded for the boot policy, the updater told.
import type { Clock, TimerId } from "../ports";
import type { Progress, UpdatePhase, UpdateRecorder } from "../updater-api";
import { ImageSink, type SinkDeps, type SinkOptions } from "./image-sink";
import { RateMeter } from "./progress";

export interface SessionBaseDeps extends SinkDeps {
  clock: Clock;
  boot: UpdateRecorder;
}

export abstract class SessionBase {
  protected phase: UpdatePhase = "idle";
  protected error: string | undefined;
  protected resumes = 0;
  protected readonly sink: ImageSink;
  protected readonly meter = new RateMeter();
  /** An image was offered (a 200, an upload): from here a failure is a failed update, not an unreachable server. */
  protected offered = false;
  private timer: TimerId | undefined;

  constructor(
    protected readonly deps: SessionBaseDeps,
    sinkOptions: SinkOptions,
    /** Progress.target. */
    protected readonly name: string,
    /** The version a catalog gives, recorded for a failure before the image's own descriptor is read. */
    private readonly knownVersion: string | undefined,
    private readonly onFinish: (progress: Progress) => void,
  ) {
    this.sink = new ImageSink(deps, sinkOptions);
  }

  /** Started and not yet finished. */
  active(): boolean {
    return this.phase !== "idle" && this.phase !== "done" && this.phase !== "failed" && this.phase !== "cancelled" && this.phase !== "current";
  }

  cancel(): void {
    if (this.active()) this.settle("cancelled", undefined);
  }

  progress(): Progress {
    const p: Progress = {
      phase: this.phase,
      target: this.name,
      received: this.sink.received,
      total: this.sink.total,
      rate: this.phase === "downloading" ? this.meter.rate(this.deps.clock.now(), this.sink.received) : 0,
      resumes: this.resumes,
    };
    if (this.error !== undefined) p.error = this.error;
    return p;
  }

  /** (Re)starts the stall timer. */
  protected arm(ms: number, onStall: () => void): void {
    this.disarm();
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      onStall();
    }, ms);
  }

  protected disarm(): void {
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Hands a piece to the sink; false when the session ended on it. */
  protected take(chunk: Uint8Array): boolean {
    const wasWriting = this.sink.writing;
    const refused = this.sink.push(chunk);
    if (refused) {
      this.fail(refused);
      return false;
    }
    if (this.sink.writing && !wasWriting) {
      this.phase = "downloading";
      this.meter.sample(this.deps.clock.now(), 0);
    }
    this.meter.sample(this.deps.clock.now(), this.sink.received);
    return true;
  }

  /** Every byte is in: verify and commit, then "done", or fail with why. */
  protected finishImage(what: "download" | "upload"): void {
    this.disarm();
    this.phase = "verifying";
    const refused = this.sink.commit(what);
    if (refused) return this.fail(refused);
    this.settle("done", undefined);
  }

  protected fail(message: string): void {
    this.settle("failed", message);
  }

  /** Stops the transport: nothing more may arrive from it. */
  protected abstract release(): void;

  protected settle(phase: UpdatePhase, error: string | undefined): void {
    this.disarm();
    this.release();
    this.sink.discard();
    this.phase = phase;
    this.error = error;
    if (phase === "failed" && this.offered && error !== undefined) this.deps.boot.failed(this.sink.version ?? this.knownVersion ?? this.name, error);
    this.onFinish(this.progress());
  }
}

// What every update session shares, whatever brings the bytes (a download,
// a phone's upload) and whatever they are (a firmware image through an
// ImageSink, an app mod through a ModSink: the `UpdateSink` shape): the phase
// and its Progress, the sink, the rate meter, the stall timer, and one way to
// end: the slot discarded unless committed, the outcome recorded (the boot
// policy's journal for firmware, the mod state for a mod), the updater told.
import type { Clock, TimerId } from "../ports";
import type { Progress, UpdatePhase, UpdateRecorder } from "../updater-api";
import type { SinkDeps } from "./image-sink";
import type { UpdateSink } from "../mods/mod-sink";
import { RateMeter } from "./progress";

export interface SessionBaseDeps extends SinkDeps {
  clock: Clock;
  boot: UpdateRecorder;
  /** Where a failed mod install is recorded (ModManager.failed). */
  mods?: { failed(name: string, version: string, reason: string): void };
}

export abstract class SessionBase {
  protected phase: UpdatePhase = "idle";
  protected error: string | undefined;
  protected resumes = 0;
  protected readonly meter = new RateMeter();
  /** An image was offered (a 200, an upload): from here a failure is a failed update, not an unreachable server. */
  protected offered = false;
  private timer: TimerId | undefined;

  constructor(
    protected readonly deps: SessionBaseDeps,
    /** Where the bytes go; a check-in may choose another once the answer's head is in (before any byte). */
    protected sink: UpdateSink,
    /** Progress.target. */
    protected readonly name: string,
    /** The version a catalog gives, recorded for a failure before the image's own descriptor is read. */
    private readonly knownVersion: string | undefined,
    private readonly onFinish: (progress: Progress) => void,
  ) {}

  /** Started and not yet finished. */
  active(): boolean {
    return this.phase !== "idle" && this.phase !== "done" && this.phase !== "failed" && this.phase !== "cancelled" && this.phase !== "current";
  }

  /** What this session installs (known from the start, or once a check-in's answer says). */
  kind(): UpdateSink["kind"] {
    return this.sink.kind;
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
    if (this.sink.kind === "mod") {
      p.kind = "mod";
      if (!/\bapp mod\b/.test(p.target)) p.target = `${p.target} (app mod)`;
    }
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
    if (phase === "failed" && this.offered && error !== undefined) this.record(error);
    this.onFinish(this.progress());
  }

  /** A failed update, where the next boot and the next check-in look for it. */
  private record(error: string): void {
    if (this.sink.kind === "mod") {
      const id = this.sink.identity;
      this.deps.mods?.failed(id?.name ?? this.name, id?.version ?? this.knownVersion ?? "", error);
      return;
    }
    this.deps.boot.failed(this.sink.version ?? this.knownVersion ?? this.name, error);
  }
}

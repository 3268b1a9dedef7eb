// Progress bookkeeping: a download rate over a short recent window, kept in
// fixed-size arrays so memory stays flat however long the download runs.
import type { Progress } from "../updater-api";

const SLOTS = 8;
const SPACING_MS = 500; // window ~ SLOTS * SPACING_MS = 4 s

export class RateMeter {
  private readonly times = new Float64Array(SLOTS);
  private readonly counts = new Float64Array(SLOTS);
  private head = 0;
  private size = 0;

  reset(): void {
    this.head = 0;
    this.size = 0;
  }

  /** Records the byte count at a time; samples closer than the spacing are skipped. */
  sample(now: number, received: number): void {
    if (this.size > 0) {
      const last = (this.head + SLOTS - 1) % SLOTS;
      if (now - this.times[last] < SPACING_MS) return;
    }
    this.times[this.head] = now;
    this.counts[this.head] = received;
    this.head = (this.head + 1) % SLOTS;
    if (this.size < SLOTS) this.size++;
  }

  /** Bytes per second from the oldest sample in the window to `now`; 0 until measurable. */
  rate(now: number, received: number): number {
    if (this.size === 0) return 0;
    const oldest = (this.head + SLOTS - this.size) % SLOTS;
    const elapsed = now - this.times[oldest];
    if (elapsed <= 0) return 0;
    return Math.max(0, Math.round(((received - this.counts[oldest]) * 1000) / elapsed));
  }
}

export const IDLE_PROGRESS: Progress = Object.freeze({ phase: "idle", target: "", received: 0, total: 0, rate: 0, resumes: 0 }) as Progress;

/** True once a session can no longer change. */
export function isFinal(progress: Progress): boolean {
  return progress.phase === "done" || progress.phase === "failed" || progress.phase === "cancelled" || progress.phase === "current";
}

/** AutoConnect's progress reply: "#p,<amount>:<size>" while running, "#e" when finished. */
export function autoConnectProgress(progress: Progress): string {
  return isFinal(progress) || progress.phase === "idle" ? "#e" : `#p,${progress.received}:${progress.total}`;
}

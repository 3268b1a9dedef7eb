// Clock over Node timers. One instance per boot of the twin: dispose() clears
// every timer it still holds, the way a reset discards the old firmware's timers.
import type { Clock, TimerId } from "../../modules/core/ports";

export class NodeClock implements Clock {
  private readonly live = new Map<TimerId, NodeJS.Timeout>();
  private disposed = false;

  now(): number {
    return performance.now();
  }

  setTimeout(callback: () => void, ms: number): TimerId {
    const id: TimerId = { timer: Symbol("timer") };
    if (this.disposed) return id;
    const handle = setTimeout(() => {
      this.live.delete(id);
      callback();
    }, Math.max(0, ms));
    this.live.set(id, handle);
    return id;
  }

  clearTimeout(id: TimerId): void {
    const handle = this.live.get(id);
    if (handle !== undefined) clearTimeout(handle);
    this.live.delete(id);
  }

  /** Timers still pending. */
  get pending(): number {
    return this.live.size;
  }

  dispose(): void {
    this.disposed = true;
    for (const handle of this.live.values()) clearTimeout(handle);
    this.live.clear();
  }
}

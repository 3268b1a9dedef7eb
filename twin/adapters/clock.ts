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

/**
 * The system clock of a board nothing has set: an ESP32's gettimeofday()
 * counts from 1970-01-01 at boot until SNTP sets it. A twin's board takes it
 * as its `hostTime`, so its credentials need what the core learns from the
 * server (modules/core/engine/wall-clock.ts).
 */
export function unsetSystemClock(clock: NodeClock): () => number {
  const boot = clock.now();
  return () => Math.floor(clock.now() - boot);
}

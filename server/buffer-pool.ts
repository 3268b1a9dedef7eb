// Read buffers for downloads, reused instead of allocated per chunk: less GC,
// and at most `capacity` reads queue for the I/O threads at once, however many
// clients there are. A download waits briefly for a buffer; if none comes back
// in `waitMs` (clients that stopped reading hold theirs until the idle
// timeout) it gets a small one-off buffer, so stalled clients cannot starve
// others and a crowd of waiters cannot balloon memory.

interface Waiter {
  resolve(lease: Lease): void;
  timer: NodeJS.Timeout;
}

export interface Lease {
  buffer: Buffer;
  pooled: boolean;
}

export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly waiters: Waiter[] = [];
  /** Pooled buffers handed out and not yet back (tests read it). */
  out = 0;
  /** One-off buffers handed out because none came back in time. */
  overflows = 0;

  constructor(
    readonly chunkSize: number,
    readonly capacity: number,
    readonly waitMs: number,
    readonly overflowSize: number,
  ) {}

  take(): Promise<Lease> {
    if (this.out < this.capacity) {
      this.out++;
      return Promise.resolve({ buffer: this.free.pop() ?? Buffer.allocUnsafeSlow(this.chunkSize), pooled: true });
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          this.overflows++;
          resolve({ buffer: Buffer.allocUnsafe(this.overflowSize), pooled: false });
        }, this.waitMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Back to the pool (or straight to a waiter) once no socket write refers to it. */
  give(buffer: Buffer): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve({ buffer, pooled: true });
      return;
    }
    this.out--;
    this.free.push(buffer);
  }

  /** A pooled buffer whose fate is unknown: count it back but never reuse it. */
  forget(): void {
    this.out--;
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      this.out++;
      waiter.resolve({ buffer: Buffer.allocUnsafeSlow(this.chunkSize), pooled: true });
    }
  }
}

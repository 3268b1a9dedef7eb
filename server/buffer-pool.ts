// Read buffers for downloads, reused instead of allocated per chunk: less GC
// and a memory ceiling that does not grow with the number of clients. When
// every pooled buffer is out (many slow readers), a download gets a small
// one-off buffer instead of waiting, so stalled clients cannot starve others.

export class BufferPool {
  private readonly free: Buffer[] = [];
  /** Buffers handed out and not yet back (tests and the bench read it). */
  out = 0;

  constructor(
    readonly chunkSize: number,
    readonly capacity: number,
    readonly overflowSize: number,
  ) {}

  /** A pooled buffer, or a one-off overflow buffer when the pool is drained. */
  take(): { buffer: Buffer; pooled: boolean } {
    if (this.out < this.capacity) {
      this.out++;
      return { buffer: this.free.pop() ?? Buffer.allocUnsafeSlow(this.chunkSize), pooled: true };
    }
    return { buffer: Buffer.allocUnsafe(this.overflowSize), pooled: false };
  }

  /** Back to the pool, once nothing (no pending socket write) refers to it. */
  give(buffer: Buffer): void {
    this.out--;
    this.free.push(buffer);
  }

  /** A pooled buffer whose fate is unknown: count it back but never reuse it. */
  forget(): void {
    this.out--;
  }
}

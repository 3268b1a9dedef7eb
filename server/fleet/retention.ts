// Bounded history: check-in and download rows older than `historyDays`, and a
// board's check-in rows beyond `historyPerBoard` (its newest kept), are deleted
// on a timer in small batches, each its own statement, with a turn of the event
// loop between them, so check-ins never wait long behind a prune. Batches take
// the oldest rows by id (the order they were written), so no pass scans the
// whole table. The registry's device rows, rollouts and their outcomes stay.
import type { Db } from "./db";

export interface RetentionOptions {
  /** Keep this many days of check-ins and downloads; 0 or absent: keep all. */
  historyDays?: number;
  /** Keep at most this many check-in rows per board; 0 or absent: no cap. */
  historyPerBoard?: number;
  /** How often a prune runs, ms. Default 60 000. */
  pruneEveryMs?: number;
  /** Rows (or boards, for the cap) per statement. Default 500. */
  pruneBatch?: number;
}

export interface PruneResult {
  checkins: number;
  downloads: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PruneResult> | undefined;
  readonly days: number;
  readonly perBoard: number;
  private readonly batch: number;

  constructor(
    private readonly db: Db,
    private readonly now: () => number,
    options: RetentionOptions = {},
  ) {
    Retention.check(options);
    this.days = options.historyDays ?? 0;
    this.perBoard = options.historyPerBoard ?? 0;
    this.batch = options.pruneBatch ?? 500;
  }

  /** Throws on settings that are not whole numbers (a batch of at least 1). */
  static check(options: RetentionOptions): void {
    for (const [name, value, min] of [["historyDays", options.historyDays ?? 0, 0], ["historyPerBoard", options.historyPerBoard ?? 0, 0], ["pruneBatch", options.pruneBatch ?? 500, 1]] as const)
      if (!Number.isInteger(value) || value < min) throw new Error(`${name}: a whole number, ${min} or more`);
  }

  get enabled(): boolean {
    return this.days > 0 || this.perBoard > 0;
  }

  describe(): string {
    if (!this.enabled) return "kept for ever (--history-days, --history-per-board)";
    return [this.days > 0 ? `${this.days} days` : "no age limit", this.perBoard > 0 ? `at most ${this.perBoard} check-ins per board` : "no per-board cap"].join(", ");
  }

  /** Starts the timer; `onError` hears a failed prune (the next one tries again). */
  start(everyMs: number, onError: (error: Error) => void): void {
    if (!this.enabled || this.timer) return;
    this.timer = setInterval(() => void this.prune().catch(onError), everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One whole prune (one at a time: a call during one joins it). */
  prune(): Promise<PruneResult> {
    this.running ??= this.pruneAll().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pruneAll(): Promise<PruneResult> {
    const result: PruneResult = { checkins: 0, downloads: 0 };
    if (this.days > 0) {
      const before = this.now() - this.days * DAY_MS;
      result.checkins += await this.pruneOld("checkins", before);
      result.downloads += await this.pruneOld("downloads", before);
    }
    if (this.perBoard > 0) result.checkins += await this.pruneBoards();
    return result;
  }

  /** Deletes `table`'s rows older than `before`, oldest first, a batch at a time. */
  private async pruneOld(table: "checkins" | "downloads", before: number): Promise<number> {
    let total = 0;
    for (;;) {
      // The oldest rows by id; stops once a batch holds newer rows (ids follow time).
      const n = await this.db.run(`DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} ORDER BY id LIMIT ?) AND at < ?`, [this.batch, before]);
      total += n;
      if (n < this.batch) return total;
      await yieldToLoop();
    }
  }

  /** Boards over the cap (by their row count, kept on the device row) lose their oldest check-ins. */
  private async pruneBoards(): Promise<number> {
    let total = 0;
    for (;;) {
      const over = await this.db.all<{ mac: string }>("SELECT mac FROM devices WHERE history_rows > ? LIMIT ?", [this.perBoard, this.batch]);
      for (const { mac } of over) {
        total += await this.db.run(
          `DELETE FROM checkins WHERE mac = ? AND id < (SELECT id FROM checkins WHERE mac = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
          [mac, mac, this.perBoard - 1],
        );
        await this.db.run("UPDATE devices SET history_rows = (SELECT count(*) FROM checkins WHERE checkins.mac = devices.mac) WHERE mac = ?", [mac]);
        await yieldToLoop();
      }
      if (over.length < this.batch) return total;
    }
  }
}

// Slows down guessing of the portal password, per client address: a few wrong
// passwords are free, then each one makes that address wait, the wait doubling
// up to a cap; the right password forgets the address. Other addresses are not
// affected, so an attacker cannot lock the owner's other devices out.
//
// The table is bounded (RAM on the board): when it is full, the address whose
// last failure is oldest makes room, and the newcomer takes over its count, so
// flooding the table from many addresses does not reset anyone's back-off.
import type { ThrottleOptions } from "../updater-api";

export const THROTTLE_DEFAULTS: Readonly<Required<ThrottleOptions>> = { freeFailures: 3, baseMs: 1000, maxMs: 300_000, capacity: 16 };

/** The wait after an address's `failures`-th wrong password in a row: 0 while free, then base, 2 x base, ... up to max. */
export function backoffMs(failures: number, options: Readonly<Required<ThrottleOptions>> = THROTTLE_DEFAULTS): number {
  const over = failures - options.freeFailures;
  if (over <= 0) return 0;
  // 2^30 ms is 12 days: any sane cap is reached long before the shift overflows.
  return Math.min(options.maxMs, options.baseMs * 2 ** Math.min(over - 1, 30));
}

interface Entry {
  address: string;
  failures: number;
  /** Clock time before which this address's passwords are not checked. */
  until: number;
  /** Clock time of its last failure (eviction order). */
  last: number;
}

export class LoginThrottle {
  readonly options: Readonly<Required<ThrottleOptions>>;
  #entries: Entry[] = [];

  constructor(
    private readonly clock: { now(): number },
    options: ThrottleOptions = {},
  ) {
    this.options = { ...THROTTLE_DEFAULTS, ...options };
  }

  /** Addresses remembered now (never more than capacity). */
  get size(): number {
    return this.#entries.length;
  }

  /** How long `address` must still wait before a password it sends is checked; 0: now. */
  waitMs(address: string): number {
    const entry = this.#find(address);
    return entry ? Math.max(0, entry.until - this.clock.now()) : 0;
  }

  /** Records a wrong password from `address`; answers the wait it now faces. */
  failed(address: string): number {
    const now = this.clock.now();
    let entry = this.#find(address);
    if (!entry) {
      let inherited = 0;
      if (this.#entries.length >= this.options.capacity) inherited = this.#evict().failures;
      entry = { address, failures: inherited, until: now, last: now };
      this.#entries.push(entry);
    }
    entry.failures++;
    entry.last = now;
    const wait = backoffMs(entry.failures, this.options);
    entry.until = now + wait;
    return wait;
  }

  /** The right password: the address starts afresh. */
  succeeded(address: string): void {
    this.#entries = this.#entries.filter((e) => e.address !== address);
  }

  #find(address: string): Entry | undefined {
    return this.#entries.find((e) => e.address === address);
  }

  /** Drops the entry whose last failure is oldest, and returns it. */
  #evict(): Entry {
    let oldest = 0;
    for (let i = 1; i < this.#entries.length; i++) if (this.#entries[i].last < this.#entries[oldest].last) oldest = i;
    return this.#entries.splice(oldest, 1)[0];
  }
}

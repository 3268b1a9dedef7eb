// Sessions signed out before they expire. A dashboard cookie is only a signed
// sign-in time (auth.ts), so without this a copied cookie kept working for up
// to SESSION_MAX_AGE_S after "Sign out". Bounded: an entry goes once its cookie
// would have expired anyway, and when `capacity` live entries are reached the
// set collapses into a floor (every session issued at or before the newest
// revoked one is refused): more sign-outs than that can only sign out more
// sessions, never fewer. In memory: a restart of the server forgets it.
export class RevokedSessions {
  private readonly revoked = new Map<string, number>();
  /** Sessions issued at or before this time (ms) are refused; -1: none. */
  private floor = -1;

  constructor(
    private readonly maxAgeMs: number,
    private readonly capacity = 1024,
  ) {}

  get size(): number {
    return this.revoked.size;
  }

  /** Refuses the session `issued` at that time with that signature from now on. */
  revoke(issued: number, signature: string, now: number): void {
    if (issued <= this.floor) return;
    for (const [key, at] of this.revoked) if (now - at > this.maxAgeMs) this.revoked.delete(key);
    if (this.revoked.size >= this.capacity) {
      this.floor = Math.max(issued, ...this.revoked.values());
      this.revoked.clear();
      return;
    }
    this.revoked.set(signature, issued);
  }

  has(issued: number, signature: string): boolean {
    return issued <= this.floor || this.revoked.has(signature);
  }
}

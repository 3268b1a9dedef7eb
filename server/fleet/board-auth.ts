// Board credentials on check-ins (the board's half: modules/core/engine/checkin-auth.ts).
// With a fleet secret, a check-in's `x-Ota-Auth: v1 <ms> <hmac>` is checked
// against the HMAC-SHA256 of its own device headers and time, in constant
// time; the time must be within the window of the server's clock and after the
// last one accepted from that board (kept in the registry, one row per board,
// so servers sharing a database refuse a replay alike). What a check-in
// without valid credentials is allowed is decided in fleet.ts.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { AUTH_HEADER, AUTH_VERSION, authPieces } from "../../modules/core/engine/checkin-auth";
import type { Queryable } from "./db";

export const SECRET_ENV = "OTA_FLEET_SECRET";
export const MIN_SECRET_LENGTH = 16;
/** How far a board's clock may be from the server's. */
export const DEFAULT_WINDOW_MS = 5 * 60 * 1000;

export type BoardAuthOutcome = { ok: true; at: number } | { ok: false; reason: string };

const HEADER = AUTH_HEADER.toLowerCase();

export class BoardAuth {
  constructor(
    private readonly secret: string,
    readonly required: boolean,
    private readonly windowMs = DEFAULT_WINDOW_MS,
  ) {
    if (secret.length < MIN_SECRET_LENGTH) throw new Error(`the fleet secret must be at least ${MIN_SECRET_LENGTH} characters (e.g. openssl rand -hex 16)`);
  }

  /** The signature and the window, without the replay check (no I/O). */
  verify(headers: IncomingHttpHeaders, now: number): BoardAuthOutcome {
    const value = headers[HEADER];
    if (typeof value !== "string") return { ok: false, reason: "no credentials" };
    const m = /^v1 (\d{1,15}) ([0-9a-f]{64})$/.exec(value.trim());
    if (!m || AUTH_VERSION !== "v1") return { ok: false, reason: "unreadable credentials" };
    const at = Number(m[1]);
    const signed: Array<readonly [string, string]> = [];
    for (const [name, v] of Object.entries(headers)) if (typeof v === "string") signed.push([name, v]);
    const mac = createHmac("sha256", this.secret);
    for (const piece of authPieces(signed, at)) mac.update(piece, "utf8");
    if (!timingSafeEqual(mac.digest(), Buffer.from(m[2], "hex"))) return { ok: false, reason: "wrong credentials" };
    if (Math.abs(now - at) > this.windowMs) return { ok: false, reason: "credentials outside the time window" };
    return { ok: true, at };
  }

  /** Verified, and later than the board's last accepted time (which it then becomes): a replay is refused. */
  async check(db: Queryable, headers: IncomingHttpHeaders, mac: string, now: number): Promise<BoardAuthOutcome> {
    const verified = this.verify(headers, now);
    if (!verified.ok) return verified;
    const changed = await db.run(
      `INSERT INTO board_auth (mac, last_at) VALUES (?, ?)
       ON CONFLICT (mac) DO UPDATE SET last_at = excluded.last_at WHERE board_auth.last_at < excluded.last_at`,
      [mac, verified.at],
    );
    return changed === 1 ? verified : { ok: false, reason: "replayed credentials" };
  }
}

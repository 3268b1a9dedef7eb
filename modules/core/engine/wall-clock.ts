// The board's wall clock, for check-in credentials (checkin-auth.ts): an
// ESP32 has no calendar time until something sets it, and the update server
// refuses credentials whose time is more than 5 minutes from its own. So the
// clock learns the time from the update server's own answers (the `Date`
// header every HTTP/1.1 origin server sends, RFC 7231 7.1.1.2) and keeps it
// with the monotonic Clock port; the host's clock wins whenever it is plausibly
// set (SNTP on the board: modules/moddable/sntp-time.ts; the simulator's
// system time). Memory: two numbers.
import type { Clock, HttpClient, HttpExchange, HttpHandlers, HttpRequest } from "../ports";

/** 2024-01-01T00:00:00Z: a clock before it has not been set (an ESP32 counts from 1970 at boot). */
export const PLAUSIBLE_AFTER = 1_704_067_200_000;
/** 2100-01-01T00:00:00Z: a time after it is garbage too. */
export const PLAUSIBLE_BEFORE = 4_102_444_800_000;
/** A Date header is whole seconds: the answer was made somewhere in that second, its middle is the best guess. */
export const DATE_HALF_SECOND = 500;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/;

export function plausibleWallTime(ms: number): boolean {
  return Number.isFinite(ms) && ms >= PLAUSIBLE_AFTER && ms < PLAUSIBLE_BEFORE;
}

/**
 * An HTTP-date in RFC 7231's IMF-fixdate form ("Sun, 06 Nov 1994 08:49:37 GMT",
 * the only one senders may generate) as ms since the epoch; undefined for
 * anything else: the obsolete RFC 850 and asctime forms, a day the month does
 * not have, a weekday that is not that date's, hours past 23.
 */
export function parseHttpDate(text: string | undefined): number | undefined {
  const m = IMF_FIXDATE.exec(text?.trim() ?? "");
  if (!m) return undefined;
  const [day, month, year, hour, minute, second] = [Number(m[2]), MONTHS.indexOf(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7])];
  if (day < 1 || hour > 23 || minute > 59 || second > 60) return undefined; // 60: a leap second
  const ms = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  const date = new Date(ms);
  if (date.getUTCDate() !== day || DAYS[date.getUTCDay()] !== m[1]) return undefined;
  return ms;
}

export type WallTimeSource = "host" | "server";

export class WallClock {
  /** Wall-clock ms learnt from the server, and the monotonic ms it was learnt at. */
  private learnt: number | undefined;
  private learntAt = 0;

  constructor(
    private readonly clock: Pick<Clock, "now">,
    /** The host's own clock (Date.now()): used whenever it is plausibly set. */
    private readonly hostTime?: () => number,
  ) {}

  private host(): number | undefined {
    const t = this.hostTime?.();
    return t !== undefined && plausibleWallTime(t) ? t : undefined;
  }

  /** Wall-clock ms now, or undefined while nothing has told the time. */
  now(): number | undefined {
    const host = this.host();
    if (host !== undefined) return host;
    return this.learnt === undefined ? undefined : this.learnt + (this.clock.now() - this.learntAt);
  }

  known(): boolean {
    return this.now() !== undefined;
  }

  /** Where now() comes from. */
  source(): WallTimeSource | undefined {
    if (this.host() !== undefined) return "host";
    return this.learnt === undefined ? undefined : "server";
  }

  /** Takes `ms` as the wall-clock time now; false (and nothing learnt) when it is not plausible. */
  learn(ms: number): boolean {
    if (!plausibleWallTime(ms)) return false;
    this.learnt = ms;
    this.learntAt = this.clock.now();
    return true;
  }

  /** Learns from an answer's Date header; false when there is none or it is garbage. */
  learnFromDate(header: string | undefined): boolean {
    const ms = parseHttpDate(header);
    return ms !== undefined && this.learn(ms + DATE_HALF_SECOND);
  }
}

/** `http` with every answer's Date header shown to `wall` before the caller sees the head. */
export function learningHttp(http: HttpClient, wall: WallClock): HttpClient {
  return {
    request(request: HttpRequest, handlers: HttpHandlers): HttpExchange {
      return http.request(request, {
        onHead: (head) => {
          wall.learnFromDate(head.headers.get("date"));
          handlers.onHead(head);
        },
        onData: (chunk) => handlers.onData(chunk),
        onEnd: () => handlers.onEnd(),
        onError: (reason, failure) => handlers.onError(reason, failure),
      });
    },
  };
}

/**
 * The request that asks a server the time: HEAD /_catalog with no query on the
 * check-in server. Our server answers it 403 from the query alone (no folder
 * is read) and the fleet records nothing for it (not the updater route, no
 * file sent), where a HEAD of the check-in URL runs the updater route and is
 * recorded as a refused check-in. Any other server answers something, and every
 * answer carries its Date.
 */
export const TIME_PATH = "/_catalog";

/** Sends that HEAD through `http` (a learningHttp: its head teaches the time); `done` once it has ended either way. */
export function askTime(http: HttpClient, where: { host: string; port: number }, done: () => void): HttpExchange {
  return http.request(
    { host: where.host, port: where.port, path: TIME_PATH, method: "HEAD" },
    { onHead: () => {}, onData: () => {}, onEnd: done, onError: () => done() },
  );
}

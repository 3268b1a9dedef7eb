// Keeps the station on a stored network (docs/access-point.md "The station
// rejoins"). ESP-IDF never reconnects by itself and Moddable's xs6wifi.c
// retries only a join under way (MODDEF_WIFI_ESP32_CONNECT_RETRIES, zeroed once
// connected), so after a router restart a board would stay off its network
// until someone pressed Connect or restarted it. This joins the most recently
// used stored network at boot, and while the station has no link tries the
// stored networks in turn, waiting firstRetryMs, then twice as long each time
// up to maxRetryMs; a join resets the wait.
//
// Not while an update is under way (a join scans every channel, and the AP
// follows the station's channel: a phone's upload over the AP would stall):
// the attempt waits for the next turn. The portal's own Connect resets the wait.
import type { Clock, KeyValueStore, StationEvent, TimerId, WifiControl } from "../ports";
import { loadCredentials } from "../portal/wifi-credentials";

export const DEFAULT_REJOIN_S = 15;
export const MAX_REJOIN_S = 300;

export interface StationRejoinOptions {
  /** The first wait after the link went (0: never rejoin by itself). */
  firstRetryMs: number;
  /** The longest wait between two attempts. */
  maxRetryMs: number;
}

export interface StationRejoinDeps {
  wifi: WifiControl;
  clock: Clock;
  store: KeyValueStore;
  /** True while a join must wait (an update under way). */
  busy?: () => boolean;
  log?: (line: string) => void;
}

/** config.wifiRejoin (seconds, the first wait; 0 turns rejoining off); a bad value falls back to the default, with the reason in `problem`. */
export function readRejoinConfig(value: unknown): { options: StationRejoinOptions; problem?: string } {
  const options = { firstRetryMs: DEFAULT_REJOIN_S * 1000, maxRetryMs: MAX_REJOIN_S * 1000 };
  if (value === undefined || value === "") return { options };
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) return { options, problem: `config.wifiRejoin "${String(value)}" is not a number of seconds: using ${DEFAULT_REJOIN_S}` };
  return { options: { firstRetryMs: n * 1000, maxRetryMs: Math.max(n * 1000, options.maxRetryMs) } };
}

export class StationRejoin {
  #started = false;
  #timer: TimerId | undefined;
  /** When the planned attempt is due (clock ms). */
  #due = 0;
  #waitMs: number;
  /** The next stored network to try (0: the most recently used). */
  #next = 0;

  constructor(
    private readonly deps: StationRejoinDeps,
    private readonly options: StationRejoinOptions,
  ) {
    this.#waitMs = options.firstRetryMs;
  }

  /**
   * Listens to the station and joins the most recently used stored network now, whatever
   * the station reads (the simulator's Net reports an address before any join).
   */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.deps.wifi.onStation((event) => this.#station(event));
    this.#attempt("joining");
  }

  /** The portal stored, used or forgot a network: its own Connect goes first, the wait starts over. */
  networksChanged(): void {
    if (!this.#started) return;
    this.#reset();
    if (!this.deps.wifi.status().connected) this.#arm();
  }

  /** Seconds until the next attempt; null when none is planned (joined, nothing stored, or rejoining off). */
  nextInS(): number | null {
    return this.#timer === undefined ? null : Math.max(0, Math.ceil((this.#due - this.deps.clock.now()) / 1000));
  }

  #station(event: StationEvent): void {
    if (event === "joined") this.#reset();
    else if (this.#timer === undefined) this.#arm();
  }

  #arm(): void {
    if (this.options.firstRetryMs <= 0 || loadCredentials(this.deps.store).length === 0) return;
    const wait = this.#waitMs;
    this.#waitMs = Math.min(this.#waitMs * 2, this.options.maxRetryMs);
    this.#due = this.deps.clock.now() + wait;
    this.#timer = this.deps.clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.deps.wifi.status().connected) return;
      if (this.deps.busy?.()) {
        this.#log(`wifi: rejoin waits: an update is under way`);
        return this.#arm();
      }
      this.#attempt("rejoining");
    }, wait);
  }

  /** Tries the next stored network, then plans the one after (a join that never reports must not stop the turns). */
  #attempt(verb: string): void {
    const list = loadCredentials(this.deps.store);
    if (list.length === 0) return;
    const network = list[this.#next % list.length];
    this.#next = (this.#next + 1) % list.length;
    this.#log(`wifi: ${verb} "${network.ssid}"`);
    try {
      this.deps.wifi.connect(network.ssid, network.password);
    } catch (e) {
      this.#log(`wifi: cannot join "${network.ssid}": ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!this.deps.wifi.status().connected && this.#timer === undefined) this.#arm();
  }

  /** Drops the planned attempt; the next wait is the first one again, from the first stored network. */
  #reset(): void {
    if (this.#timer !== undefined) this.deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waitMs = this.options.firstRetryMs;
    this.#next = 0;
  }

  #log(line: string): void {
    this.deps.log?.(line);
  }
}

// When the board's access point is up (docs/access-point.md). Driven by the
// station's link events and a Clock; takes the AP up and down through the
// WifiControl port, keeping the station (the portal stays reachable on the
// station's address).
//   fallback: up while no network is stored, and when the station has been
//             unable to join for fallbackAfterMs; down lingerMs after it joined.
//   always:   up from boot, never closed (bench boards).
//   setup:    up until the first join ever (kept in the store), down lingerMs
//             after it, and never again unless every stored network is forgotten.
import type { Clock, KeyValueStore, StationEvent, TimerId, WifiControl } from "../ports";
import type { ApMode, ApStatus, ApView } from "../updater-api";
import { loadCredentials } from "../portal/wifi-credentials";

export const AP_MODES: readonly ApMode[] = ["fallback", "always", "setup"];
export const DEFAULT_FALLBACK_AFTER_S = 60;
export const DEFAULT_LINGER_S = 300;
/** Store key (NVS: <= 15 chars): "joined" once the station joined in setup mode; removed when no network is left. */
export const AP_SETUP_KEY = "ap.setup";

export interface ApLifecycleOptions {
  mode: ApMode;
  /** fallback: how long the station may fail to join before the AP comes back. */
  fallbackAfterMs: number;
  /** fallback and setup: how long the AP stays up after the station joined (the phone on it sees the result). */
  lingerMs: number;
}

export interface ApLifecycleDeps {
  wifi: WifiControl;
  clock: Clock;
  store: KeyValueStore;
  log?: (line: string) => void;
}

/** The manifest's config keys, as mcconfig passes them (numbers or strings). */
export interface ApConfig {
  apMode?: unknown;
  apFallbackAfter?: unknown;
  apLinger?: unknown;
}

/** Reads config.apMode / apFallbackAfter / apLinger (seconds); a bad value falls back to its default, with the reason in `problems`. */
export function readApConfig(config: ApConfig): { options: ApLifecycleOptions; problems: string[] } {
  const problems: string[] = [];
  let mode: ApMode = "fallback";
  if (config.apMode !== undefined && config.apMode !== "") {
    const found = AP_MODES.find((m) => m === config.apMode);
    if (found) mode = found;
    else problems.push(`config.apMode "${String(config.apMode)}" is not one of ${AP_MODES.join(", ")}: using fallback`);
  }
  const seconds = (name: string, value: unknown, fallback: number): number => {
    if (value === undefined || value === "") return fallback;
    const n = Number(value);
    if (Number.isFinite(n) && n >= 0) return n;
    problems.push(`config.${name} "${String(value)}" is not a number of seconds: using ${fallback}`);
    return fallback;
  };
  const fallbackAfterS = seconds("apFallbackAfter", config.apFallbackAfter, DEFAULT_FALLBACK_AFTER_S);
  const lingerS = seconds("apLinger", config.apLinger, DEFAULT_LINGER_S);
  return { options: { mode, fallbackAfterMs: fallbackAfterS * 1000, lingerMs: lingerS * 1000 }, problems };
}

export class ApLifecycle implements ApView {
  #joined = false;
  #up = false;
  #started = false;
  #fallback: TimerId | undefined;
  #linger: TimerId | undefined;
  #closesAt = 0;
  #problem: string | undefined;
  /** setup mode: joined this boot even if the store refused to keep it. */
  #setupDoneThisBoot = false;

  constructor(
    private readonly deps: ApLifecycleDeps,
    private readonly options: ApLifecycleOptions,
  ) {}

  /** Reads the station and AP as they are, listens to the station, and brings the AP up or keeps it down. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const w = this.deps.wifi.status();
    this.#joined = w.connected;
    this.#up = w.apUp;
    this.deps.wifi.onStation((event) => this.#station(event));
    this.#decide();
  }

  status(): ApStatus {
    const closesInS = this.#linger === undefined ? null : Math.max(0, Math.ceil((this.#closesAt - this.deps.clock.now()) / 1000));
    return { mode: this.options.mode, up: this.#up, closesInS };
  }

  /** Why the AP could not be started or stopped, the last time it was tried; undefined when it went as asked. */
  problem(): string | undefined {
    return this.#problem;
  }

  /** A network was stored or forgotten (the portal's Wi-Fi page). */
  networksChanged(): void {
    if (this.#started) this.#decide();
  }

  #station(event: StationEvent): void {
    this.#joined = event === "joined";
    this.#decide();
  }

  #decide(): void {
    const mode = this.options.mode;
    if (mode === "always") return this.#open("always mode");
    if (loadCredentials(this.deps.store).length === 0) {
      // Nothing to join: the AP is the only way in.
      this.#cancelFallback();
      this.#cancelLinger();
      this.#setupDoneThisBoot = false;
      if (this.deps.store.get(AP_SETUP_KEY) !== undefined) this.deps.store.delete(AP_SETUP_KEY);
      return this.#open("no network stored");
    }
    if (mode === "setup") return this.#decideSetup();
    if (this.#joined) {
      this.#cancelFallback();
      if (this.#up) this.#lingerThenClose();
      return;
    }
    // The station lost its link or cannot join: the AP stays as it is, and comes back if this lasts.
    this.#cancelLinger();
    if (!this.#up && this.#fallback === undefined) {
      this.#fallback = this.deps.clock.setTimeout(() => {
        this.#fallback = undefined;
        this.#open(`the station could not join for ${Math.round(this.options.fallbackAfterMs / 1000)} s`);
      }, this.options.fallbackAfterMs);
    }
  }

  #decideSetup(): void {
    if (this.#joined && this.deps.store.get(AP_SETUP_KEY) === undefined) {
      try {
        this.deps.store.set(AP_SETUP_KEY, "joined");
      } catch (e) {
        // Kept for this boot only: the AP would open again at the next one.
        this.#log(`access point: cannot record the first join: ${message(e)}`);
      }
      this.#setupDoneThisBoot = true;
    }
    if (!this.#setupDone()) return this.#open("setup mode: no join yet");
    // Set up: the AP closes after the linger whatever the station does, and stays down.
    if (this.#up) this.#lingerThenClose();
  }

  #setupDone(): boolean {
    return this.#setupDoneThisBoot || this.deps.store.get(AP_SETUP_KEY) !== undefined;
  }

  #lingerThenClose(): void {
    if (this.#linger !== undefined) return;
    this.#closesAt = this.deps.clock.now() + this.options.lingerMs;
    this.#linger = this.deps.clock.setTimeout(() => {
      this.#linger = undefined;
      // A network forgotten without the portal telling us keeps the AP up.
      if (loadCredentials(this.deps.store).length === 0) return this.#decide();
      this.#close();
    }, this.options.lingerMs);
  }

  #cancelFallback(): void {
    if (this.#fallback !== undefined) this.deps.clock.clearTimeout(this.#fallback);
    this.#fallback = undefined;
  }

  #cancelLinger(): void {
    if (this.#linger !== undefined) this.deps.clock.clearTimeout(this.#linger);
    this.#linger = undefined;
  }

  #open(why: string): void {
    if (this.#up) return;
    try {
      this.deps.wifi.startAccessPoint();
      this.#up = true;
      this.#problem = undefined;
      this.#log(`access point up (${why})`);
    } catch (e) {
      this.#problem = `the access point could not start: ${message(e)}`;
      this.#log(this.#problem);
    }
  }

  #close(): void {
    if (!this.#up) return;
    try {
      this.deps.wifi.stopAccessPoint();
      this.#up = false;
      this.#problem = undefined;
      this.#log(`access point down (${this.options.mode} mode, ${Math.round(this.options.lingerMs / 1000)} s after the station joined); the portal stays on the station's address`);
    } catch (e) {
      this.#problem = `the access point could not stop: ${message(e)}`;
      this.#log(this.#problem);
    }
  }

  #log(line: string): void {
    this.deps.log?.(line);
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

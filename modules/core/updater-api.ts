// The seam between the update engine and the portal: the portal (and main.ts,
// and the twin) drive updates only through this facade. Implemented by
// modules/core/updater.ts.

export interface ServerSettings {
  host: string;
  port: number;
  /** Catalog folder on the update server, as AutoConnect's `path` ("." = root). */
  path: string;
}

/** One offerable firmware from the catalog (`type: "bin"` rows only). */
export interface CatalogEntry {
  name: string;
  /** Display annotations from the server, e.g. "11/22/26" and "10:55:15". */
  date: string;
  time: string;
  size: number;
  /** App version from the image, when the server tells it (our server's /api/catalog). */
  version?: string;
  /** Set when the entry cannot be installed here, with the reason shown to the user. */
  disabled?: string;
}

export type CatalogState =
  | { state: "idle" }
  | { state: "loading" }
  | { state: "ready"; entries: CatalogEntry[] }
  | { state: "error"; error: string };

export type UpdatePhase =
  | "idle"
  | "connecting"
  | "checking" // headers in, pre-flight of the image header
  | "downloading"
  | "verifying"
  | "done" // boot partition switched; restart pending
  | "failed"
  | "cancelled"
  | "current"; // advanced-updater check-in answered 304

/** Serializable progress, served as JSON to the portal's progress page. */
export interface Progress {
  phase: UpdatePhase;
  /** Firmware name (catalog entry or check-in URL). */
  target: string;
  received: number;
  /** Content-Length of the image, 0 until known. */
  total: number;
  /** Bytes per second over the recent window. */
  rate: number;
  /** How many times the download resumed with a Range request. */
  resumes: number;
  /** User-facing error text when phase is "failed". */
  error?: string;
}

export interface Updater {
  settings(): ServerSettings;
  /** Validates and stores the settings; returns an error text or undefined. */
  saveSettings(settings: ServerSettings): string | undefined;
  /** Starts fetching the catalog (replacing any earlier result). */
  loadCatalog(): void;
  catalog(): CatalogState;
  /** Starts an update session for a catalog entry; returns an error text if one cannot start. */
  start(name: string): string | undefined;
  /** Advanced-updater check-in against a URL (http://host:port/path). */
  checkIn(url: string): string | undefined;
  progress(): Progress;
  cancel(): void;
}

import type { Clock, DeviceInfo, DigestFactory, HttpClient, KeyValueStore, OtaWriter, PortalRequest, PortalResponse, SystemControl, WifiControl } from "./ports";

export interface UpdaterOptions {
  /** A download with no byte for this long is treated as stalled (then resumed). Default 8000. */
  stallMs?: number;
  /** Range resumes allowed per session. Default 3. */
  maxResumes?: number;
  /** Refuse images without x-MD5. Default true. */
  requireMd5?: boolean;
  /** Delay between a committed update and system.restart(), so the page sees "done". Default 3000. */
  restartDelayMs?: number;
  /** Advanced-updater check-in on a schedule. */
  checkIn?: { url: string; intervalMs: number };
}

/** What createUpdater (modules/core/updater.ts) needs. */
export interface UpdaterDeps {
  http: HttpClient;
  ota: OtaWriter;
  digest: DigestFactory;
  clock: Clock;
  store: KeyValueStore;
  device: DeviceInfo;
  system: SystemControl;
  /** Update server used until the user stores other settings. */
  defaults: ServerSettings;
  options?: UpdaterOptions;
}

/** What createPortal (modules/core/portal.ts) needs; it returns a request handler. */
export interface PortalDeps {
  updater: Updater;
  device: DeviceInfo;
  wifi: WifiControl;
  store: KeyValueStore;
  system: SystemControl;
  clock: Clock;
  /** Host name or address the captive portal redirects foreign hosts to (the AP address). */
  portalHost: string;
}

export type PortalHandler = (request: PortalRequest) => PortalResponse;

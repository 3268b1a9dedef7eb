// The seam between the update engine and the portal: the portal (and main.ts,
// and the twin) drive updates only through this facade. Implemented by
// modules/core/updater.ts.

export interface ServerSettings {
  host: string;
  port: number;
  /** Catalog folder on the update server, as AutoConnect's `path` ("." = root). */
  path: string;
}

/** What an update installs: a firmware image (an OTA slot) or an app mod (an XS archive in a mod slot). */
export type UpdateKind = "firmware" | "mod";

/**
 * One offerable update from the catalog: a firmware (`type: "bin"` rows) or,
 * on a board that hosts mods, an app mod (`type: "file"` rows named `*.xsa`,
 * or our server's `/api/catalog` rows with `kind: "mod"`).
 */
export interface CatalogEntry {
  name: string;
  /** "mod" for an app mod; absent (or "firmware") for a firmware image. */
  kind?: UpdateKind;
  /** Display annotations from the server, e.g. "11/22/26" and "10:55:15". */
  date: string;
  time: string;
  /** Bytes; absent for a mod row of AutoConnect's listing (a plain file row names no size) until our server's /api/catalog says it. */
  size?: number;
  /** App version from the image (or the mod's ota-mod.json), when the server tells it (our server's /api/catalog). */
  version?: string;
  /** esp_app_desc_t project_name, when our server tells it. */
  projectName?: string;
  /** MD5 of the file (lowercase hex), when our server has it. */
  md5?: string;
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
  /** "mod" while (or after) an app mod is installed; absent for firmware. */
  kind?: "mod";
}

/** An image the portal receives as a request body (POST /update/upload). */
export interface UploadRequest {
  /** Content-Length. */
  size: number;
  /** x-MD5, lowercase hex, when sent. */
  md5?: string;
  /** Shown as Progress.target. */
  name: string;
  /** x-Firmware-Signature: the image's .sig file, base64 (checked at the commit when the board takes only signed images). */
  signature?: string;
  /** "mod": an app mod (POST /update/mod); default a firmware image (POST /update/upload). */
  kind?: UpdateKind;
}

/** Where the server adapter puts the body: pieces of at most 4096 bytes, then end() or abort(). */
export interface UploadTarget {
  write(chunk: Uint8Array): void;
  end(): void;
  abort(reason: string): void;
  /** Called once with the error when the update fails because the client stopped sending (the stall time passed). */
  onStall(listener: (error: string) => void): void;
}

export type UploadStart = { ok: true; upload: UploadTarget } | { ok: false; status: number; error: string };

export interface Updater {
  settings(): ServerSettings;
  /** Validates and stores the settings; returns an error text or undefined. */
  saveSettings(settings: ServerSettings): string | undefined;
  /** Starts fetching the catalog (replacing any earlier result). */
  loadCatalog(): void;
  catalog(): CatalogState;
  /** Starts an update session for a catalog entry (a firmware or an app mod, by the entry's kind); returns an error text if one cannot start. */
  start(name: string): string | undefined;
  /** Advanced-updater check-in against a URL (http://host:port/path). */
  checkIn(url: string): string | undefined;
  /** Starts an update from an uploaded body, or says why not (409 busy, 413 too large, 400 malformed, 404 a mod on a board without mods). */
  upload(request: UploadRequest): UploadStart;
  progress(): Progress;
  cancel(): void;
}

import type { LastUpdate } from "./boot/journal";
import type { ModManager, ModStatus } from "./mods/mod-boot";
import type { BootStatus } from "./boot/policy";
import type { SignatureCheck, SignaturePolicy } from "./signature/policy";
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
  /**
   * Board credentials (engine/checkin-auth.ts): the fleet secret from the
   * board's config signs every check-in with the board's wall-clock time
   * (engine/wall-clock.ts): `hostTime` (the host's Date.now(), SNTP on the
   * board) while it is plausibly set (after 2024), else what the update
   * server's Date headers told; a check-in with neither first asks the
   * server (one HEAD), and goes unsigned if that did not tell either.
   */
  boardAuth?: { secret: string; hostTime?: () => number };
}

/**
 * What the update engine tells the boot policy (modules/core/boot/policy.ts)
 * and asks it: updates wait while the running image awaits its verdict
 * (esp_ota_begin refuses them then: ESP_ERR_OTA_ROLLBACK_INVALID_STATE), and
 * each commit or failure is recorded so the next boot can tell what happened.
 */
export interface UpdateRecorder {
  /** Why no update may start now, or undefined. */
  blocked(): string | undefined;
  /** The update slot is about to be erased: what it held is gone. */
  writing(): void;
  /** Just before the boot switch to the new image `version`. */
  committing(version: string): void;
  /** An offered image was refused or did not arrive whole. */
  failed(version: string, reason: string): void;
  /** The last update's outcome, told to update servers. */
  lastUpdate(): LastUpdate | undefined;
}

/** What createUpdater (modules/core/engine/updater.ts) needs. */
export interface UpdaterDeps {
  http: HttpClient;
  ota: OtaWriter;
  digest: DigestFactory;
  clock: Clock;
  store: KeyValueStore;
  device: DeviceInfo;
  system: SystemControl;
  boot: UpdateRecorder;
  /** Update server used until the user stores other settings. */
  defaults: ServerSettings;
  options?: UpdaterOptions;
  /** The board's signing keys (manifest config signingKeys) and a P-256 verifier; with a key, only signed images are committed. */
  signatures?: SignatureCheck;
  /** The device log (trace on the board): one line per finished update, with its error. */
  log?: (line: string) => void;
  /**
   * The board hosts app mods: catalog `.xsa` rows and `kind: "mod"` rows are
   * offered, POST /update/mod takes uploads, check-ins say which mod runs and
   * may answer one. Without it nothing about updates changes.
   */
  mods?: ModManager;
}

/** What the portal reads of the boot policy (modules/core/boot/policy.ts) and asks of it. */
export interface BootView {
  status(): BootStatus;
  /** Restarts into the other slot's image; an error text when it cannot. */
  goBack(): string | undefined;
}

/** What the portal reads of the mods (ModManager, modules/core/mods/mod-boot.ts) and asks of them. */
export interface ModView {
  status(): ModStatus;
  /** The running mod's own status line (the host API's status(text)), bounded; undefined when it set none. */
  statusText(): string | undefined;
  /** Switches back to the previous mod and restarts shortly; an error text when it cannot. */
  goBack(): string | undefined;
  /** Removes the running mod and restarts shortly; an error text when it cannot. */
  remove(): string | undefined;
}

/** The access point's lifecycle (wifi/ap-lifecycle.ts): which mode is on, whether the AP is up, when it closes. */
export type ApMode = "fallback" | "always" | "setup";
export interface ApStatus { mode: ApMode; up: boolean; closesInS: number | null }
export interface ApView { status(): ApStatus }

/** What guards the portal (manifest config; docs/production.md). */
export interface PortalSecurity {
  /**
   * Routes that change what the board runs answer 403 until a portal password
   * is set, and Wi-Fi set-up and the password page answer on the access point
   * only (config.requirePassword). Default true; false is for bench boards,
   * and the home page then says the board is open.
   */
  requirePassword?: boolean;
  /** The access point has a WPA2 password (config.apPassword is not empty). Default false. */
  apHasPassword?: boolean;
  /** The wrong-password back-off (portal/login-throttle.ts); the board's defaults when absent. */
  throttle?: ThrottleOptions;
  /**
   * A client on loopback (127.x, ::1) counts as one on the access point while the AP is up.
   * Only the lin simulator sets it (Platform.loopbackIsAp): its clients are on the same
   * machine, and its AP and station both report the machine's address, so without it a fresh
   * simulator could never have its password or Wi-Fi set. Default false; never on a board.
   */
  loopbackIsAp?: boolean;
}

/** Wrong portal passwords per client address: free tries, then a wait that doubles up to a cap (portal/login-throttle.ts). */
export interface ThrottleOptions {
  /** Wrong passwords an address may send before it waits. Default 3. */
  freeFailures?: number;
  /** The first wait. Default 1000 ms. */
  baseMs?: number;
  /** The longest wait. Default 300000 ms (5 min). */
  maxMs?: number;
  /** Addresses remembered at once. Default 16. */
  capacity?: number;
}

/** What createPortal (modules/core/portal/portal.ts) needs; it returns a request handler. */
export interface PortalDeps {
  updater: Updater;
  boot: BootView;
  device: DeviceInfo;
  wifi: WifiControl;
  store: KeyValueStore;
  system: SystemControl;
  clock: Clock;
  /** Host name or address the captive portal redirects foreign hosts to (the AP address). */
  portalHost: string;
  /** This boot's id (/api/status "boot"), shared with the portal start-up check; made here when absent. */
  bootId?: string;
  /** The board's signature policy: the pages show "Signed updates only" and the keys' fingerprints when it requires signatures. */
  signing?: SignaturePolicy;
  /** The board hosts app mods (the same ModManager the updater has): the pages show the running mod and offer Remove and Go back. */
  mods?: ModView;
  /** The access point's lifecycle: the home page and /api/status say its mode and when it closes. Without it the AP counts as always up. */
  ap?: ApView;
  /** Told after the portal stored or forgot a network (the AP lifecycle decides again: setup mode reopens the AP when none is left). */
  networksChanged?: () => void;
  /** The station's rejoin (modules/core/wifi/station-rejoin.ts): /api/status and the home page say when it tries again. */
  rejoin?: { nextInS(): number | null };
  /** Password rules and what the status reports; the board's defaults (a password required) when absent. */
  security?: PortalSecurity;
}

export type PortalHandler = (request: PortalRequest) => PortalResponse;

// The ports of the engine-neutral core: everything it needs from the world.
// Moddable adapters (modules/moddable), Node adapters (twin/adapters) and test
// fakes (test/fakes) implement these. Keep them small and synchronous where the
// device is synchronous; no Node, DOM or Moddable types may appear here.

/** Monotonic clock and one-shot timers, in milliseconds. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}
export type TimerId = { readonly timer: unknown };

/** An HTTP/1.x GET or HEAD to host:port, body delivered in bounded chunks. */
export interface HttpRequest {
  host: string;
  port: number;
  /** Request target, starting with "/", query included, already encoded. */
  path: string;
  method?: "GET" | "HEAD";
  /** Extra request headers as name/value pairs (Host and Connection are the adapter's). */
  headers?: ReadonlyArray<readonly [string, string]>;
}

export interface HttpResponseHead {
  status: number;
  /** Header names lowercased; repeated headers joined with ", ". */
  headers: ReadonlyMap<string, string>;
}

/**
 * Callbacks of one exchange, called in order: onHead once, onData zero or more
 * times, then exactly one of onEnd or onError. Nothing is called after abort().
 * Back-pressure: the adapter delivers the next chunk only after onData returns,
 * so a synchronous consumer (flash write, digest) paces the download.
 */
export interface HttpHandlers {
  onHead(head: HttpResponseHead): void;
  /** A chunk of at most 4096 bytes, valid only during the call (adapters may reuse it). */
  onData(chunk: Uint8Array): void;
  onEnd(): void;
  /**
   * Transport failure: DNS, connect refused, a peer that does not speak HTTP, reset.
   * `reason` is for logs; the core words the user message from `failure`.
   */
  onError(reason: string, failure: HttpFailure): void;
}

/**
 * What went wrong, as far as the adapter can tell:
 * - "resolve": the host name has no address;
 * - "refused": no connection was made (refused; where the adapter cannot tell them apart, unreachable);
 * - "not-http": the peer sent something that is not an HTTP response head (its first bytes in `got`),
 *   or a status line without a status code 100-599;
 * - "lost": the connection was made, then closed or reset before the answer ended;
 * - "other": anything else (the exchange could not start, a consumer threw).
 */
export type HttpFailureKind = "resolve" | "refused" | "not-http" | "lost" | "other";

export interface HttpFailure {
  kind: HttpFailureKind;
  /** "not-http": the peer's first bytes as Latin-1 text, at most 64; the core cuts and cleans them for display. */
  got?: string;
}

export interface HttpExchange {
  abort(): void;
}

export interface HttpClient {
  request(request: HttpRequest, handlers: HttpHandlers): HttpExchange;
}

/**
 * Writes an image into the next OTA slot (the one not running).
 * begin() prepares (erases) the slot for `size` bytes; write() appends;
 * complete() validates the image end and switches the boot partition;
 * abort() discards the slot. Until complete() succeeds the running firmware
 * and the boot selection are untouched. Each call throws on failure.
 */
export interface OtaWriter {
  /** Bytes available in the next OTA slot. */
  readonly capacity: number;
  begin(size: number): void;
  write(chunk: Uint8Array): void;
  complete(): void;
  abort(): void;
}

export type DigestAlgorithm = "MD5" | "SHA256";

/** A running digest: Moddable crypt Digest, node:crypto Hash, or a JS fake. */
export interface Digest {
  write(chunk: Uint8Array): void;
  /** Finishes and returns the raw digest (16 bytes for MD5, 32 for SHA256). */
  close(): Uint8Array;
}
export type DigestFactory = (algorithm: DigestAlgorithm) => Digest;

/**
 * ECDSA P-256 with SHA-256, the firmware signature scheme (docs/signing.md):
 * Moddable's native `ecdsa` on the device, node:crypto on Node, @noble/curves
 * in XS under test. The core checks the key (on the curve) and the signature's
 * range (r, s in 1..n-1) itself before it asks.
 */
export interface SignatureVerifier {
  /**
   * True when `signature` (r || s, 64 bytes, big-endian) signs SHA-256(`message`)
   * under `publicKey` (uncompressed point 0x04 || X || Y, 65 bytes); false, not a
   * throw, when it does not. High-S signatures are valid (OpenSSL makes them).
   */
  verifyP256(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean;
}

/** Small persistent settings (NVS on the ESP32: keys <= 15 chars, values <= 4000 bytes). */
export interface KeyValueStore {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  delete(key: string): void;
}

/** Facts about the running device and firmware. */
export interface DeviceInfo {
  appName: string;
  appVersion: string;
  /** Chip id as in the image header (0x0000 ESP32, 0x0009 ESP32-S3, ...). */
  chipId: number;
  /** Chip revision, major * 100 + minor (efuse_hal_chip_revision), when the host knows it: updates are checked against it. */
  chipRevision?: number;
  /** Label of the running app partition, e.g. "ota_0". */
  runningPartition: string;
  flashSize: number;
  /** Size and MD5 (lowercase hex) of the running image, when known. */
  sketchSize?: number;
  sketchMd5?: string;
  macs: { sta: string; ap: string; base: string };
  sdkVersion: string;
}

export interface WifiNetwork {
  ssid: string;
  rssi: number;
  secure: boolean;
}

export interface WifiStatus {
  apSsid: string;
  apAddress: string;
  /** The access point is up (started, and not taken down by stopAccessPoint). */
  apUp: boolean;
  /** Station link, when joined. */
  stationSsid?: string;
  stationAddress?: string;
  connected: boolean;
}

export interface WifiControl {
  status(): WifiStatus;
  scan(done: (networks: WifiNetwork[]) => void): void;
  /** Joins a network (the adapter also stores nothing: the core stores credentials). */
  connect(ssid: string, password: string): void;
  /** Brings the access point up (with the settings the host gave the adapter), keeping the station and its link. Throws when the radio refuses. */
  startAccessPoint(): void;
  /** Takes the access point down, keeping the station and its link. */
  stopAccessPoint(): void;
  /** Adds a listener of the station link: "joined" once it has an address, "lost" when it dropped or a join attempt failed. */
  onStation(listener: (event: StationEvent) => void): void;
}

/** A station link change, as WifiControl.onStation reports it. */
export type StationEvent = "joined" | "lost";

/** esp_ota_img_states_t (ESP-IDF esp_ota_ops.h / esp_flash_partitions.h) in kebab case; "undefined" also when a slot has no otadata entry. */
export type OtaImageState = "new" | "pending-verify" | "valid" | "invalid" | "aborted" | "undefined";

/** What esp_app_desc_t says about the image in a slot. */
export interface SlotApp {
  version: string;
  projectName: string;
  secureVersion: number;
}

/** One OTA app slot as the bootloader and esp_ota_ops see it. */
export interface SlotInfo {
  /** Partition label, e.g. "ota_0". */
  partition: string;
  /** The slot's app descriptor; undefined when it holds no image. */
  app?: SlotApp;
  /** Its otadata state (esp_ota_get_state_partition). */
  state: OtaImageState;
  /** The bootloader would start it: the image verifies and its otadata entry is not invalid or aborted. */
  bootable: boolean;
}

/**
 * The boot side of ESP-IDF's OTA support (esp_ota_ops.c with
 * CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE): which image runs and in what state,
 * the other slot, and the calls that confirm, reject or leave the running image.
 */
export interface BootControl {
  /** The running image (esp_ota_get_running_partition, esp_app_get_description, its otadata state). */
  running(): SlotInfo;
  /** The other app slot: where updates are written and what "go back" boots. Reads flash: call it rarely. */
  other(): SlotInfo;
  /** esp_ota_mark_app_valid_cancel_rollback(). Throws on failure. */
  markValid(): void;
  /** esp_ota_mark_app_invalid_rollback_and_reboot(): never returns on a board; throws when no other image can boot. */
  markInvalidAndRestart(): void;
  /** esp_ota_set_boot_partition(other): the next boot starts it (the caller restarts); throws when it does not verify. */
  bootOther(): void;
}

export interface SystemControl {
  /** Reboots into the boot partition. Never returns on a device. */
  restart(): void;
}

/** One request to the portal, as the HTTP server adapter saw it. */
export interface PortalRequest {
  method: string;
  /** Path without the query, percent-decoded is NOT applied. */
  path: string;
  /** Raw query string without "?" ("" when none). */
  query: string;
  /** Header names lowercased. */
  headers: ReadonlyMap<string, string>;
  /** Request body as text (form posts), already size-limited by the adapter. */
  body: string;
  /**
   * The client's IP address as the server adapter saw it (the TCP peer): the
   * key of the wrong-password back-off, and on the board the only clue to the
   * interface (a peer in the access point's subnet came over the AP). Absent
   * when the adapter cannot tell.
   */
  remoteAddress?: string;
  /**
   * The board's own address the request arrived at (the AP's or the station's).
   * The twin's server knows it; Moddable 8.2.3's TCP socket has no local
   * address (modules/io/socket/lwip/tcp.c has remoteAddress only), so on the
   * board it is absent and remoteAddress decides.
   */
  localAddress?: string;
}

export interface PortalResponse {
  status: number;
  headers: Array<[string, string]>;
  body: string;
}

/**
 * A request body taken as a stream rather than as a form string (a firmware
 * upload): the server adapter hands it over piece by piece, never whole.
 */
export interface PortalBodySink {
  /** The next piece, at most 4096 bytes, valid only during the call; the next one is read after this returns. */
  write(chunk: Uint8Array): void;
  /** The whole body has arrived: the response to send. */
  end(): PortalResponse;
  /** The body broke off (client gone, connection error, idle too long): no response can be sent. */
  abort(reason: string): void;
  /**
   * Given by the server once it streams the body: the sink calls `answer` when it gives up on a
   * body that stopped coming (an upload's stall: 408); the server sends that response at once
   * and closes the connection, and no longer calls write, end or abort.
   */
  watch?(answer: (response: PortalResponse) => void): void;
}

/**
 * Decides from the request head alone (body "") how its body is taken:
 * `stream` hands it to a sink; `respond` answers at once without reading it
 * (401, 409, 413...); undefined leaves it to the ordinary form handling
 * (string body capped at MAX_FORM_BODY, then the PortalHandler).
 */
export type PortalBodyRouter = (head: PortalRequest) => { stream: PortalBodySink } | { respond: PortalResponse } | undefined;

/**
 * One flash data partition, read and written in place: esp_partition_* (the SDK's
 * Flash) on the board, a file in the simulator, the emulated NOR flash on the twin.
 * NOR rules: erase sets whole blocks to 0xFF; write only clears bits. Each call
 * throws on failure; a power cut can stop any erase or write half done.
 */
export interface FlashArea {
  /** Partition label ("xs", "xs_a", ...). */
  readonly label: string;
  readonly size: number;
  /** Erase unit: 4096 on the ESP32. */
  readonly blockSize: number;
  /** Erases [offset, offset + length): both multiples of blockSize. */
  erase(offset: number, length: number): void;
  write(offset: number, bytes: Uint8Array): void;
  /** Fills `into` from offset. */
  read(offset: number, into: Uint8Array): void;
}

/**
 * Where mods live (docs/architecture.md, "Mods"): `active` is the partition the
 * host's XS maps at VM creation (type 0x40, subtype 1, "xs") and rewrites in
 * place; `slots` keep two mods byte for byte as they arrived (the new one and
 * the last good one), so a mod can always be copied back whole.
 */
export interface ModFlash {
  active: FlashArea;
  slots: readonly [FlashArea, FlashArea];
}

/**
 * What the host firmware does with a mod (Moddable's `Modules`). The core never
 * imports a mod itself: the host runs it when the mod boot policy says so.
 */
export interface ModHost {
  /** The XS version the host was built with: a mod's VERS must match its major and minor. */
  readonly xs: { major: number; minor: number; patch: number };
  /** XS mapped an archive at this VM's creation (Modules.archive is not null). */
  mapped(): boolean;
  /** Imports `check`, then the mod's entry module; the error's text when either throws. */
  start(): string | undefined;
}

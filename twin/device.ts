// The device twin: the same core portal, update engine and boot policy as the
// board, on Node adapters over the emulated flash. Each boot runs the
// bootloader's slot choice (with rollback: ABORTED for an image still pending,
// PENDING_VERIFY for a new one), reads the running app's descriptor into
// DeviceInfo, builds a fresh updater, boot policy and portal, and joins the
// stored network as main.ts does. restart() drops the old boot's timers,
// downloads and connections, stays unreachable for a moment, then boots again;
// cutPower() does the same at an arbitrary flash operation.
// Mods (docs/architecture.md, "Mods"): at each boot, VM creation maps `xs`
// (TwinModHost.createVm: fxMapArchive with the firmware's XS), then the
// ModManager settles `xs` and starts the mod, before the updater and portal
// exist: its "restart" restarts the twin, and a mod that crashes it ends the
// boot there. The updater and portal get the manager (UpdaterDeps/PortalDeps `mods`).
// The access point has the board's lifecycle (core wifi/ap-lifecycle.ts, TwinOptions.ap):
// a twin joined to TwinLAN at boot keeps it down in fallback mode, and its portal
// is served on loopback, which stands for the station's address as for the AP's.
import { basename, dirname, join } from "node:path";
import { mkdirSync, rmSync } from "node:fs";
import type { DeviceInfo, SystemControl } from "../modules/core/ports";
import { CHIP_IDS, chipRules } from "../modules/core/esp-image-rules";
import type { ServerSettings, Updater, UpdaterOptions } from "../modules/core/updater-api";
import { createUpdater } from "../modules/core/engine/updater";
import { createPortal, newBootId } from "../modules/core/portal/portal";
import { SETTINGS_KEYS } from "../modules/core/engine/settings";
import { rememberCredential } from "../modules/core/portal/wifi-credentials";
import { isActivePhase } from "../modules/core/portal/page-progress";
import { BootPolicy, type BootPolicyOptions } from "../modules/core/boot/policy";
import { accessPointCheck, portalCheck, stationCheck, type StartupCheck } from "../modules/core/boot/checks";
import { ModManager, type ModManagerOptions } from "../modules/core/mods/mod-boot";
import type { XsVersion } from "../modules/core/mods/archive";
import type { SignatureCheck } from "../modules/core/signature/policy";
import { XS_8_2_3 } from "../tools/xs-archive";
import { DeviceFlash } from "./flash/device-flash";
import { boot, type BootResult } from "./flash/bootloader";
import { EspOta } from "./flash/esp-ota";
import { PowerLoss, type PowerCut } from "./flash/flash-file";
import { behaves, firmwareXs } from "./flash/app-image";
import { ModReset, TwinModHost, firmwareSeed } from "./adapters/mod-host";
import { FlashOtaWriter } from "./flash/ota-writer";
import { TwinBootControl } from "./adapters/boot-control";
import { NodeClock, unsetSystemClock } from "./adapters/clock";
import { nodeDigest } from "./adapters/digest";
import { NodeHttpClient } from "./adapters/http-client";
import { JsonFileStore } from "./adapters/store";
import { SimulatedWifi } from "./adapters/wifi";
import { PortalServer } from "./adapters/portal-server";
import { demoFirmwares, demoImage } from "./demo-catalog";
import { signaturePolicy } from "../modules/core/signature/policy";
import { nodeVerifier } from "../server/signing";
import { announceTxt } from "../modules/core/announce";
import { seedPassword, setPassword, storedPassword } from "../modules/core/portal/basic-auth";
import { TwinAnnouncer } from "./adapters/mdns";
import { ApLifecycle, DEFAULT_FALLBACK_AFTER_S, DEFAULT_LINGER_S } from "../modules/core/wifi/ap-lifecycle";
import { DEFAULT_REJOIN_S, MAX_REJOIN_S, StationRejoin, type StationRejoinOptions } from "../modules/core/wifi/station-rejoin";
import type { ApMode } from "../modules/core/updater-api";

export interface TwinOptions {
  /** Flash image file (4 MB); created with 1.0.0 in ota_0 when missing or `fresh`. */
  flashPath: string;
  fresh?: boolean;
  /** App written into ota_0 of a new flash file. Default: the demo catalog's 1.0.0. */
  firstApp?: () => Uint8Array;
  /** Update server the portal uses until the user stores another. */
  server: ServerSettings;
  /** Portal port on 127.0.0.1; 0 picks a free one. */
  portalPort?: number;
  /** The portal closes a connection with no traffic for this long, as the board's server does. Default 30 s. */
  portalIdleMs?: number;
  /** Download speed of the simulated board, bytes/s (0 = unlimited). */
  bytesPerSecond?: number;
  /** How long the board is unreachable while it restarts. Default 1500 ms. */
  bootDelayMs?: number;
  /** Chip the twin emulates (image header chip id). Default 0x0000, ESP32. */
  chipId?: number;
  /**
   * Its revision, major * 100 + minor, as efuse_hal_chip_revision() reads it;
   * the bootloader and esp_ota_end check images against it. Default: v3.0 (300)
   * on an ESP32 (the ECO3 chips boards ship with), else the lowest revision a
   * default ESP-IDF build of that chip supports.
   */
  chipRevision?: number;
  /** Bootloader and app built with CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE (this project's sdkconfig). Default true. */
  rollback?: boolean;
  /** Start-up check window and poll period (default 60 s, 1 s). */
  boot?: BootPolicyOptions;
  /** Extra start-up checks, as an app would add (made afresh at each boot). */
  checks?: () => StartupCheck[];
  /** How long the station takes to join after boot. Default 200 ms. */
  joinMs?: number;
  /** The station's rejoin after a lost link, as manifest config wifiRejoin: the first wait (default 15 s; 0 off), doubling to maxRetryMs (default 300 s). */
  rejoin?: Partial<StationRejoinOptions>;
  /** The access point's lifecycle, as manifest config apMode / apFallbackAfter / apLinger (default fallback, 60 s, 300 s). */
  ap?: { mode?: ApMode; fallbackAfterMs?: number; lingerMs?: number };
  updater?: UpdaterOptions;
  /** Also store `server` in NVS, replacing settings saved in the portal earlier (the demo's --server). */
  storeServer?: boolean;
  /** Hosts the twin may download from; default loopback only. */
  allowHost?: (host: string) => boolean;
  /**
   * On a LAN: the portal also answers on this IPv4 address (it listens on all
   * addresses; the address is the station's, so the portal takes requests
   * naming it), and the twin announces itself over mDNS on that interface as
   * a board does (_moddable-ota._tcp, twin/adapters/mdns.ts).
   */
  lan?: { address: string };
  /**
   * As manifest config.requirePassword: no update until a portal password is
   * set, and Wi-Fi set-up and the password page on the access point only
   * (the twin's loopback plays the AP). Default true, the board's; tests of
   * an open portal say false.
   */
  requirePassword?: boolean;
  /** As config.portalPassword: seeds the portal password once, as main.ts does. */
  portalPassword?: string;
  /** Stores this portal password at start, replacing one set earlier (the demo's --password). */
  storePassword?: string;
  /** As config.apPassword: the simulated access point has a WPA2 password (/api/status security.apOpen). */
  apPassword?: string;
  /** The board's signing keys, as manifest config.signingKeys: any key makes it take only images signed with one. */
  signingKeys?: string[];
  /** XS version of the emulated firmware when its image names none (TWIN-BEHAVIOUR "xs=16.7.0"). Default Moddable 8.2.3's, 17.7.0. */
  xs?: XsVersion;
  /** A new mod's start-up window and timing (default the board's: 60 s, polled each second). */
  mods?: ModManagerOptions;
  /** Start-up checks the firmware adds for a new mod (made afresh at each boot). */
  modChecks?: () => StartupCheck[];
  log?: (line: string) => void;
  /** Told when the portal has taken an upload's body whole (path, bytes, ms from first to last byte): benches. */
  onUpload?: (path: string, bytes: number, ms: number) => void;
}

function mac(last: number): string {
  return ["24", "0A", "C4", "5E", "71", last.toString(16).toUpperCase().padStart(2, "0")].join(":");
}

/** TwinOptions.chipRevision's default. */
export function defaultChipRevision(chipId: number): number {
  return chipId === CHIP_IDS.ESP32 ? 300 : (chipRules(chipId)?.build.minRev ?? 0);
}

export function deviceInfo(result: BootResult, flashSize: number, chipRevision?: number): DeviceInfo {
  const { descriptor, header, size, md5 } = result.app;
  return {
    appName: descriptor.projectName,
    appVersion: descriptor.version,
    chipId: header.chipId,
    ...(chipRevision === undefined ? {} : { chipRevision }),
    runningPartition: result.partition.label,
    flashSize,
    sketchSize: size,
    sketchMd5: md5,
    macs: { base: mac(0x10), sta: mac(0x10), ap: mac(0x11) },
    sdkVersion: descriptor.idfVersion,
  };
}

interface BootSession {
  result: BootResult;
  device: DeviceInfo;
  clock: NodeClock;
  http: NodeHttpClient;
  writer: FlashOtaWriter;
  policy: BootPolicy;
  wifi: SimulatedWifi;
  ap: ApLifecycle;
  /** Absent on a flash whose partition table has no mod partitions. */
  mods?: { manager: ModManager; host: TwinModHost };
  /** Set once the mod has started (the boot came up). */
  updater?: Updater;
}

/** The network a new twin was set up on (stored like the portal stores one). */
export const TWIN_NETWORK = { ssid: "TwinLAN", password: "twinlan-2026" };

export class Twin {
  readonly flash: DeviceFlash;
  readonly store: JsonFileStore;
  private readonly portal: PortalServer;
  private session: BootSession | undefined;
  private bootCount = 0;
  private bootWaiters: Array<{ count: number; resolve: () => void }> = [];
  private restarting: NodeJS.Timeout | undefined;
  private stopped = false;
  private announcer: TwinAnnouncer | undefined;
  /** Networks off the air: the twin's surroundings, so they stay off across its reboots. */
  private readonly networksDown = new Set<string>();
  port = 0;

  private constructor(private readonly options: TwinOptions) {
    this.portal = new PortalServer({ idleMs: options.portalIdleMs });
    mkdirSync(dirname(options.flashPath), { recursive: true });
    const first = options.firstApp ?? (() => demoImage(demoFirmwares()[0]));
    const nvsPath = join(dirname(options.flashPath), `${basename(options.flashPath)}.nvs.json`);
    if (options.fresh) rmSync(nvsPath, { force: true }); // NVS is flash too
    let provisioned = false;
    this.flash = DeviceFlash.open(options.flashPath, { fresh: options.fresh, firstApp: () => ((provisioned = true), first()) });
    this.store = new JsonFileStore(nvsPath);
    // A new board was set up on the twin's LAN, as its owner would from the Wi-Fi page.
    if (provisioned) rememberCredential(this.store, TWIN_NETWORK);
    const seedProblem = seedPassword(this.store, options.portalPassword ?? "");
    if (seedProblem) options.log?.(`twin: portalPassword ignored: ${seedProblem}`);
    if (options.storePassword !== undefined) {
      const problem = setPassword(this.store, options.storePassword);
      if (problem) throw new Error(`the portal password: ${problem}`);
    }
    if (options.storeServer) {
      this.store.set(SETTINGS_KEYS.host, options.server.host);
      this.store.set(SETTINGS_KEYS.port, String(options.server.port));
      this.store.set(SETTINGS_KEYS.path, options.server.path);
    }
  }

  static async start(options: TwinOptions): Promise<Twin> {
    const twin = new Twin(options);
    twin.portal.onStreamed = options.onUpload;
    twin.port = await twin.portal.listen(options.portalPort ?? 0, options.lan ? "0.0.0.0" : "127.0.0.1");
    if (options.lan) twin.announcer = new TwinAnnouncer({ interface: options.lan.address, log: (line) => options.log?.(`twin: ${line}`) });
    twin.powerOn();
    return twin;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  /** The running firmware's facts (changes at each boot). */
  get device(): DeviceInfo {
    if (!this.session) throw new Error("the twin is restarting");
    return this.session.device;
  }

  get boots(): number {
    return this.bootCount;
  }

  /** This boot's mod manager; undefined while restarting or when the flash has no mod partitions. */
  get mods(): ModManager | undefined {
    return this.session?.mods?.manager;
  }

  /** This boot's mod host (XS version, what it mapped, the mod's status line). */
  get modHost(): TwinModHost | undefined {
    return this.session?.mods?.host;
  }

  /** The twin is up: booted, its mod started, its portal served. */
  get up(): boolean {
    return this.session?.updater !== undefined;
  }

  /** This boot's radio (AP and station). */
  get wifi(): SimulatedWifi {
    if (!this.session) throw new Error("the twin is restarting");
    return this.session.wifi;
  }

  /** This boot's access point lifecycle. */
  get ap(): ApLifecycle {
    if (!this.session) throw new Error("the twin is restarting");
    return this.session.ap;
  }

  /** A network goes off the air (its router is off): the station on it loses its link, and joins fail until restoreNetwork(). */
  dropNetwork(ssid: string): void {
    this.networksDown.add(ssid);
    this.session?.wifi.dropNetwork(ssid);
  }

  /** The network is on the air again; the station still has to be told to join it (the Wi-Fi page's Connect, or a reboot). */
  restoreNetwork(ssid: string): void {
    this.networksDown.delete(ssid);
    this.session?.wifi.restoreNetwork(ssid);
  }

  /** The running boot's validation policy (state of the start-up checks). */
  get policy(): BootPolicy {
    if (!this.session) throw new Error("the twin is restarting");
    return this.session.policy;
  }

  /** Resolves once the twin has booted `count` times in all. */
  booted(count: number): Promise<void> {
    if (this.bootCount >= count) return Promise.resolve();
    return new Promise((resolve) => this.bootWaiters.push({ count, resolve }));
  }

  private powerOn(): void {
    const chipId = this.options.chipId ?? 0;
    const chipRevision = this.options.chipRevision ?? defaultChipRevision(chipId);
    const rollback = this.options.rollback ?? true;
    const log = (line: string) => this.options.log?.(`twin: ${line}`);
    // Powered again after a cut; a cut armed for a later operation survives an orderly restart.
    if (this.flash.chip.dead) this.flash.chip.powerRestored();
    this.store.reload();
    let result: BootResult;
    try {
      result = boot(this.flash, { chipId, chipRevision, rollback });
    } catch (error) {
      // The power went during the bootloader's own otadata write (ABORTED or PENDING_VERIFY): the twin is resetting already.
      if (error instanceof PowerLoss) return;
      throw error;
    }
    const device = deviceInfo(result, this.flash.chip.size, chipRevision);
    const clock = new NodeClock();
    const http = new NodeHttpClient({ bytesPerSecond: this.options.bytesPerSecond, allowHost: this.options.allowHost });
    const ota = new EspOta(this.flash, result.slot, { chipId, chipRevision, rollback });
    const writer = new FlashOtaWriter(this.flash, ota);
    const wifi = new SimulatedWifi(clock, { down: this.networksDown, ...(this.options.lan ? { stationAddress: this.options.lan.address } : {}) });
    const apOptions = this.options.ap ?? {};
    const ap = new ApLifecycle({ wifi, clock, store: this.store, log }, { mode: apOptions.mode ?? "fallback", fallbackAfterMs: apOptions.fallbackAfterMs ?? DEFAULT_FALLBACK_AFTER_S * 1000, lingerMs: apOptions.lingerMs ?? DEFAULT_LINGER_S * 1000 });
    const system: SystemControl = { restart: () => this.restart() };
    const policy = new BootPolicy({ boot: new TwinBootControl(this.flash, ota, result.app, () => this.restart()), store: this.store, clock, system, log }, { keepSecureVersion: (this.options.signingKeys?.length ?? 0) > 0, ...this.options.boot });
    // As main.ts: the running image's own project name and secure_version are what an update must match.
    const { projectName, secureVersion } = result.app.descriptor;
    const signing = signaturePolicy(this.options.signingKeys ?? [], { chipId: device.chipId, projectName, secureVersion }, nodeDigest);
    const signatures: SignatureCheck = { policy: signing, verifier: nodeVerifier };
    const session: BootSession = { result, device, clock, http, writer, policy, wifi, ap };
    this.session = session;
    try {
      this.startMods(session, system, signatures, log);
    } catch (error) {
      // The power went during VM creation or the mod switch, or the mod crashed the board: the twin is resetting already.
      if (error instanceof PowerLoss || error instanceof ModReset) return;
      throw error;
    }
    if (this.session !== session) return; // the mod manager restarted the twin
    const mods = session.mods?.manager;
    const bootId = newBootId(clock.now());
    const portalHost = `127.0.0.1:${this.port}`;
    ap.start();
    for (const check of [accessPointCheck(wifi, ap), portalCheck(http, clock, { host: "127.0.0.1", port: this.port, bootId }), stationCheck(wifi, this.store), ...(this.options.checks?.() ?? [])]) policy.addCheck(check);
    // Board credentials on a board whose clock nothing has set (unless the caller gives one): the core learns the time.
    const auth = this.options.updater?.boardAuth;
    const updaterOptions = auth ? { ...this.options.updater, boardAuth: { ...auth, hostTime: auth.hostTime ?? unsetSystemClock(clock) } } : this.options.updater;
    const updater = createUpdater({ http, ota: writer, digest: nodeDigest, clock, store: this.store, device, system, boot: policy, defaults: this.options.server, options: updaterOptions, signatures, log, ...(mods ? { mods } : {}) });
    const security = { requirePassword: this.options.requirePassword ?? true, apHasPassword: (this.options.apPassword ?? "") !== "" };
    // Loopback is where the user is: the board's access point while it is up, else its station; the LAN address (options.lan) is the station.
    this.portal.boardAddress = (local) => {
      if (local === this.options.lan?.address) return local;
      const w = wifi.status();
      return ap.status().up ? w.apAddress : (w.stationAddress ?? local);
    };
    const rejoin = new StationRejoin({ wifi, clock, store: this.store, busy: () => isActivePhase(updater.progress().phase), log }, { firstRetryMs: DEFAULT_REJOIN_S * 1000, maxRetryMs: MAX_REJOIN_S * 1000, ...this.options.rejoin });
    const networksChanged = () => {
      ap.networksChanged();
      rejoin.networksChanged();
    };
    this.portal.handler = createPortal({ updater, boot: policy, device, wifi, store: this.store, system, clock, portalHost, bootId, signing, ap, networksChanged, rejoin, security, ...(mods ? { mods } : {}) });
    session.updater = updater;
    this.bootCount++;
    log(`booted ${result.partition.label}: ${device.appName} ${device.appVersion} (${policy.status().otaState})${result.rejected.length ? ` (rejected ${result.rejected.map((r) => r.slot).join(", ")})` : ""}`);
    policy.start();
    this.announcer?.announce(wifi.status().apSsid, this.port, announceTxt(device, storedPassword(this.store) !== undefined));
    this.runFirmware(result, clock, rejoin);
    const ready = this.bootWaiters.filter((w) => w.count <= this.bootCount);
    this.bootWaiters = this.bootWaiters.filter((w) => w.count > this.bootCount);
    for (const w of ready) w.resolve();
  }

  /**
   * VM creation and the mod: XS maps `xs` with this firmware's XS version and
   * symbol numbering, then the ModManager settles `xs` and starts the mod
   * (or restarts the twin). Throws PowerLoss or ModReset when the boot ends here.
   */
  private startMods(session: BootSession, system: SystemControl, signatures: SignatureCheck, log: (line: string) => void): void {
    const { result, clock, policy } = session;
    const flash = this.flash.mods;
    if (!flash) {
      log("this flash's partition table has no mod partitions (xs, xs_a, xs_b): no mods (start with a fresh flash to use them)");
      return;
    }
    const xs = firmwareXs(result.app) ?? this.options.xs ?? XS_8_2_3;
    const host = new TwinModHost(flash.active, { xs, seed: firmwareSeed(result.app.md5), reset: (why) => this.reset(why), log });
    const manager = new ModManager({ flash, host, store: this.store, clock, system, digest: nodeDigest, signatures, firmwareBlocked: () => policy.blocked(), log }, this.options.mods);
    host.addCheck = (check) => manager.addCheck(check);
    host.onStatus = (text) => manager.setStatusText(text);
    session.mods = { manager, host };
    host.createVm();
    for (const check of this.options.modChecks?.() ?? []) manager.addCheck(check);
    const decision = manager.start();
    if (decision === "run" && host.statusLine !== undefined) log(`mod ${host.started}: ${host.statusLine}`);
  }

  /**
   * What the booted firmware does: join the stored network and keep joining it as
   * main.ts does, unless its behaviour tag says otherwise ("no-wifi" never brings
   * the station up; "crash" resets the board a moment after boot).
   */
  private runFirmware(result: BootResult, clock: NodeClock, rejoin: StationRejoin): void {
    if (behaves(result.app, "crash")) {
      clock.setTimeout(() => this.reset("crash"), 300);
      return;
    }
    if (behaves(result.app, "no-wifi")) return;
    clock.setTimeout(() => rejoin.start(), this.options.joinMs ?? 200);
  }

  /** Arms a power cut at a later flash operation (the twin then reboots as after a power cycle). */
  cutPower(cut: Omit<PowerCut, "onCut">): void {
    this.flash.chip.armPowerCut({ ...cut, onCut: () => this.reset("power cut") });
  }

  /**
   * Arms a power cut at a later NVS write of `key` (the twin's NVS is a file
   * beside the flash): that write and everything after it is lost, the chip
   * loses power with it (later erases and writes throw PowerLoss), and the
   * twin reboots as after a power cycle.
   */
  cutPowerAtNvsWrite(key: string, afterWrites = 0): void {
    let left = afterWrites;
    this.store.beforeWrite = (written) => {
      if (written !== key || left-- > 0) return;
      this.store.beforeWrite = undefined;
      this.flash.chip.dead = true;
      this.reset("power cut");
    };
  }

  /** An unclean reset now (power cycle, crash, watchdog): no orderly shutdown of anything. */
  reset(why = "reset"): void {
    if (this.stopped || this.restarting) return;
    this.options.log?.(`twin: ${why}`);
    this.store.frozen = true; // nothing the old firmware still does reaches NVS
    this.shutDown();
    this.restarting = setTimeout(() => {
      this.restarting = undefined;
      if (!this.stopped) this.powerOn();
    }, this.options.bootDelayMs ?? 1500);
  }

  private shutDown(): void {
    this.announcer?.withdraw();
    this.portal.handler = undefined;
    this.session?.clock.dispose();
    this.session?.http.dispose();
    this.session?.writer.abort();
    this.session = undefined;
    this.portal.dropConnections();
  }

  /** SystemControl.restart() (esp_restart): to the flash, the same as any other reset. */
  restart(): void {
    this.reset("restarting");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.store.beforeWrite = undefined;
    if (this.restarting) clearTimeout(this.restarting);
    this.shutDown();
    await this.announcer?.close();
    await this.portal.close();
    this.flash.close();
  }
}

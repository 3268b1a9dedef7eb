// The device twin: the same core portal and update engine as the board, on
// Node adapters over the emulated flash. Each boot runs the bootloader's slot
// choice, reads the running app's descriptor into DeviceInfo and builds a fresh
// updater and portal; restart() drops the old boot's timers, downloads and
// connections, stays unreachable for a moment, then boots again.
import { basename, dirname, join } from "node:path";
import { mkdirSync } from "node:fs";
import type { DeviceInfo, SystemControl } from "../modules/core/ports";
import type { ServerSettings, Updater, UpdaterOptions } from "../modules/core/updater-api";
import { createUpdater } from "../modules/core/engine/updater";
import { createPortal } from "../modules/core/portal/portal";
import { SETTINGS_KEYS } from "../modules/core/engine/settings";
import { DeviceFlash } from "./flash/device-flash";
import { boot, type BootResult } from "./flash/bootloader";
import { FlashOtaWriter } from "./flash/ota-writer";
import { NodeClock } from "./adapters/clock";
import { nodeDigest } from "./adapters/digest";
import { NodeHttpClient } from "./adapters/http-client";
import { JsonFileStore } from "./adapters/store";
import { SimulatedWifi } from "./adapters/wifi";
import { PortalServer } from "./adapters/portal-server";
import { demoFirmwares, demoImage } from "./demo-catalog";

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
  /** Download speed of the simulated board, bytes/s (0 = unlimited). */
  bytesPerSecond?: number;
  /** How long the board is unreachable while it restarts. Default 1500 ms. */
  bootDelayMs?: number;
  /** Chip the twin emulates (image header chip id). Default 0x0000, ESP32. */
  chipId?: number;
  updater?: UpdaterOptions;
  /** Also store `server` in NVS, replacing settings saved in the portal earlier (the demo's --server). */
  storeServer?: boolean;
  /** Hosts the twin may download from; default loopback only. */
  allowHost?: (host: string) => boolean;
  log?: (line: string) => void;
}

function mac(last: number): string {
  return ["24", "0A", "C4", "5E", "71", last.toString(16).toUpperCase().padStart(2, "0")].join(":");
}

export function deviceInfo(result: BootResult, flashSize: number): DeviceInfo {
  const { descriptor, header, size, md5 } = result.app;
  return {
    appName: descriptor.projectName,
    appVersion: descriptor.version,
    chipId: header.chipId,
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
  updater: Updater;
}

export class Twin {
  readonly flash: DeviceFlash;
  readonly store: JsonFileStore;
  private readonly portal = new PortalServer();
  private session: BootSession | undefined;
  private stationSsid: string | undefined = "TwinLAN";
  private bootCount = 0;
  private bootWaiters: Array<{ count: number; resolve: () => void }> = [];
  private restarting: NodeJS.Timeout | undefined;
  private stopped = false;
  port = 0;

  private constructor(private readonly options: TwinOptions) {
    mkdirSync(dirname(options.flashPath), { recursive: true });
    const first = options.firstApp ?? (() => demoImage(demoFirmwares()[0]));
    this.flash = DeviceFlash.open(options.flashPath, { fresh: options.fresh, firstApp: first });
    this.store = new JsonFileStore(join(dirname(options.flashPath), `${basename(options.flashPath)}.nvs.json`));
    if (options.storeServer) {
      this.store.set(SETTINGS_KEYS.host, options.server.host);
      this.store.set(SETTINGS_KEYS.port, String(options.server.port));
      this.store.set(SETTINGS_KEYS.path, options.server.path);
    }
  }

  static async start(options: TwinOptions): Promise<Twin> {
    const twin = new Twin(options);
    twin.port = await twin.portal.listen(options.portalPort ?? 0);
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

  /** Resolves once the twin has booted `count` times in all. */
  booted(count: number): Promise<void> {
    if (this.bootCount >= count) return Promise.resolve();
    return new Promise((resolve) => this.bootWaiters.push({ count, resolve }));
  }

  private powerOn(): void {
    const chipId = this.options.chipId ?? 0;
    const result = boot(this.flash, chipId);
    const device = deviceInfo(result, this.flash.chip.size);
    const clock = new NodeClock();
    const http = new NodeHttpClient({ bytesPerSecond: this.options.bytesPerSecond, allowHost: this.options.allowHost });
    const writer = new FlashOtaWriter(this.flash, result.slot, chipId);
    const wifi = new SimulatedWifi(clock, { onJoin: (ssid) => (this.stationSsid = ssid) }, this.stationSsid);
    const system: SystemControl = { restart: () => this.restart() };
    const updater = createUpdater({ http, ota: writer, digest: nodeDigest, clock, store: this.store, device, system, defaults: this.options.server, options: this.options.updater });
    this.portal.handler = createPortal({ updater, device, wifi, store: this.store, system, clock, portalHost: `127.0.0.1:${this.port}` });
    this.session = { result, device, clock, http, writer, updater };
    this.bootCount++;
    this.options.log?.(`twin: booted ${result.partition.label}: ${device.appName} ${device.appVersion}${result.rejected.length ? ` (rejected ${result.rejected.map((r) => r.slot).join(", ")})` : ""}`);
    const ready = this.bootWaiters.filter((w) => w.count <= this.bootCount);
    this.bootWaiters = this.bootWaiters.filter((w) => w.count > this.bootCount);
    for (const w of ready) w.resolve();
  }

  private shutDown(): void {
    this.portal.handler = undefined;
    this.session?.clock.dispose();
    this.session?.http.dispose();
    this.session?.writer.abort();
    this.session = undefined;
    this.portal.dropConnections();
  }

  /** SystemControl.restart(): reset now, boot again after bootDelayMs. */
  restart(): void {
    if (this.stopped || this.restarting) return;
    this.options.log?.("twin: restarting");
    this.shutDown();
    this.restarting = setTimeout(() => {
      this.restarting = undefined;
      if (!this.stopped) this.powerOn();
    }, this.options.bootDelayMs ?? 1500);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restarting) clearTimeout(this.restarting);
    this.shutDown();
    await this.portal.close();
    this.flash.close();
  }
}

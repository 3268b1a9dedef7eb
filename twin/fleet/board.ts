// One virtual board of the fleet simulator: the device core's updater
// (modules/core/engine/updater.ts) on the twin's Node adapters, checking in on
// a schedule with the core's check-in headers (checkin.ts), installing into an
// in-memory OTA slot, and restarting. At each boot the start-up check
// (startup-check.ts) decides whether the new image stays or the board rolls
// back; the next check-ins report that in x-ESP32-update-result/-version.
import type { DeviceInfo, HttpClient, HttpExchange, HttpHandlers, HttpRequest, KeyValueStore } from "../../modules/core/ports";
import type { Updater } from "../../modules/core/updater-api";
import { parseUpdateUrl } from "../../modules/core/engine/checkin";
import { createUpdater } from "../../modules/core/engine/updater";
import { NodeClock } from "../adapters/clock";
import { nodeDigest } from "../adapters/digest";
import { NodeHttpClient } from "../adapters/http-client";
import { MemoryOtaWriter, type BoardImage } from "./memory-ota";
import type { StartupCheck } from "./startup-check";

export const SLOT_CAPACITY = 0x1e0000;

export interface BoardReport {
  result: "valid" | "rolled-back" | "failed";
  version: string;
}

export interface BoardOptions {
  /** http://host:port/update */
  url: string;
  intervalMs: number;
  /** Delay before the first boot, so a fleet's check-ins spread over the interval. */
  firstBootMs: number;
  restartDelayMs: number;
  bootDelayMs: number;
  check: StartupCheck;
  bytesPerSecond?: number;
  log?: (line: string) => void;
}

class MapStore implements KeyValueStore {
  private readonly data = new Map<string, string>();
  get = (key: string) => this.data.get(key);
  set = (key: string, value: string) => void this.data.set(key, value);
  delete = (key: string) => void this.data.delete(key);
}

/** Adds the board's report of its previous update to each request (a firmware of ours does this on check-in). */
class ReportingHttpClient implements HttpClient {
  constructor(
    private readonly inner: HttpClient,
    private readonly report: () => BoardReport | undefined,
  ) {}
  request(request: HttpRequest, handlers: HttpHandlers): HttpExchange {
    const r = this.report();
    const headers = r ? [...(request.headers ?? []), ["x-ESP32-update-result", r.result] as const, ["x-ESP32-update-version", r.version] as const] : request.headers;
    return this.inner.request({ ...request, headers }, handlers);
  }
}

export class VirtualBoard {
  running: BoardImage;
  report: BoardReport | undefined;
  boots = 0;
  slot = 0;
  private clock: NodeClock | undefined;
  private http: NodeHttpClient | undefined;
  private writer: MemoryOtaWriter | undefined;
  private updater: Updater | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly store = new MapStore();

  constructor(
    readonly index: number,
    readonly mac: string,
    firstImage: BoardImage,
    private readonly options: BoardOptions,
  ) {
    this.running = firstImage;
  }

  get device(): DeviceInfo {
    const ap = this.mac.slice(0, -2) + ((parseInt(this.mac.slice(-2), 16) + 1) & 0xff).toString(16).toUpperCase().padStart(2, "0");
    return {
      appName: this.running.projectName,
      appVersion: this.running.version,
      chipId: 0,
      runningPartition: `ota_${this.slot}`,
      flashSize: 4 * 1024 * 1024,
      sketchSize: this.running.size,
      sketchMd5: this.running.md5,
      macs: { sta: this.mac, base: this.mac, ap },
      sdkVersion: "v5.1.4-fleet-sim",
    };
  }

  start(): void {
    this.timer = setTimeout(() => this.boot(), this.options.firstBootMs);
  }

  private boot(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const target = parseUpdateUrl(this.options.url);
    if ("error" in target) throw new Error(target.error);
    this.clock = new NodeClock();
    this.http = new NodeHttpClient({ bytesPerSecond: this.options.bytesPerSecond });
    this.writer = new MemoryOtaWriter(SLOT_CAPACITY);
    this.updater = createUpdater({
      http: new ReportingHttpClient(this.http, () => this.report),
      ota: this.writer,
      digest: nodeDigest,
      clock: this.clock,
      store: this.store,
      device: this.device,
      system: { restart: () => this.restart() },
      defaults: { host: target.host, port: target.port, path: "." },
      options: { checkIn: { url: this.options.url, intervalMs: this.options.intervalMs }, restartDelayMs: this.options.restartDelayMs, stallMs: 5000 },
    });
    this.boots++;
  }

  /** SystemControl.restart(): the old boot's timers and connections go; the start-up check decides the image. */
  private restart(): void {
    const installed = this.writer?.committed;
    this.clock?.dispose();
    this.http?.dispose();
    this.updater = undefined;
    if (installed) {
      if (this.options.check({ index: this.index, mac: this.mac }, installed)) {
        this.running = installed;
        this.slot = 1 - this.slot;
        this.report = { result: "valid", version: installed.version };
        this.options.log?.(`fleet: ${this.mac} now runs ${installed.version}`);
      } else {
        this.report = { result: "rolled-back", version: installed.version };
        this.options.log?.(`fleet: ${this.mac} failed its start-up check on ${installed.version}, rolled back to ${this.running.version}`);
      }
    }
    if (!this.stopped) this.timer = setTimeout(() => this.boot(), this.options.bootDelayMs);
  }

  /** Checks in now (outside the schedule); false when a session is already running. */
  checkInNow(): boolean {
    return this.updater?.checkIn(this.options.url) === undefined;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.clock?.dispose();
    this.http?.dispose();
  }
}

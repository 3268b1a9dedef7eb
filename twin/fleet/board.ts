// One virtual board of the fleet simulator: the device core's updater
// (modules/core/engine/updater.ts) and boot policy (modules/core/boot/policy.ts)
// on the twin's Node adapters, checking in on a schedule with the core's
// check-in headers (checkin.ts), installing into an in-memory OTA slot, and
// restarting. Its small bootloader (BoardBoot) plays ESP-IDF's with rollback:
// a new image boots pending-verify and, unconfirmed at the next reset, is
// aborted. The start-up check (startup-check.ts) is one of the policy's checks,
// so the outcome the board reports in x-ESP32-update-result/-version comes
// from the core's journal, as on a real board.
import type { BootControl, DeviceInfo, KeyValueStore, OtaImageState, SlotInfo } from "../../modules/core/ports";
import type { Updater } from "../../modules/core/updater-api";
import { parseUpdateUrl } from "../../modules/core/engine/checkin";
import { createUpdater } from "../../modules/core/engine/updater";
import { BootPolicy } from "../../modules/core/boot/policy";
import { NodeClock, unsetSystemClock } from "../adapters/clock";
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
  /** The fleet secret in the board's config: its check-ins carry credentials (modules/core/engine/checkin-auth.ts). */
  fleetSecret?: string;
}

class MapStore implements KeyValueStore {
  private readonly data = new Map<string, string>();
  get = (key: string) => this.data.get(key);
  set = (key: string, value: string) => void this.data.set(key, value);
  delete = (key: string) => void this.data.delete(key);
}

/** The board's two slots and otadata states, with the bootloader's and esp_ota_ops' rollback rules. */
class BoardBoot implements BootControl {
  readonly slots: [BoardImage | undefined, BoardImage | undefined];
  readonly states: [OtaImageState, OtaImageState] = ["valid", "undefined"];
  current = 0;
  private next = 0;

  constructor(first: BoardImage, private readonly restartBoard: () => void) {
    this.slots = [first, undefined];
  }

  /** At a reset: a pending image was not confirmed (ABORTED, the other slot boots); a new one boots pending. */
  reset(): void {
    for (const i of [0, 1] as const) if (this.states[i] === "pending-verify") this.states[i] = "aborted";
    if (this.states[this.next] === "aborted" || this.states[this.next] === "invalid") this.next = 1 - this.next;
    if (this.states[this.next] === "new") this.states[this.next] = "pending-verify";
    this.current = this.next;
  }

  /** esp_ota_set_boot_partition after a download (state NEW with rollback). */
  installed(image: BoardImage): void {
    this.next = 1 - this.current;
    this.slots[this.next] = image;
    this.states[this.next] = "new";
  }

  image(): BoardImage {
    return this.slots[this.current]!;
  }

  private slot(i: number): SlotInfo {
    const image = this.slots[i];
    const info: SlotInfo = { partition: `ota_${i}`, state: this.states[i], bootable: image !== undefined && this.states[i] !== "invalid" && this.states[i] !== "aborted" };
    if (image) info.app = { version: image.version, projectName: image.projectName, secureVersion: 0 };
    return info;
  }

  running(): SlotInfo {
    return this.slot(this.current);
  }

  other(): SlotInfo {
    return this.slot(1 - this.current);
  }

  markValid(): void {
    this.states[this.current] = "valid";
  }

  markInvalidAndRestart(): void {
    if (!this.other().bootable) throw new Error("Rollback is not possible (ESP_ERR_OTA_ROLLBACK_FAILED)");
    this.states[this.current] = "invalid";
    this.next = 1 - this.current;
    this.restartBoard();
  }

  bootOther(): void {
    const other = 1 - this.current;
    if (!this.slots[other]) throw new Error("esp_ota_set_boot_partition: no image (ESP_ERR_OTA_VALIDATE_FAILED)");
    this.next = other;
    this.states[other] = "new";
  }
}

export class VirtualBoard {
  boots = 0;
  private readonly bootloader: BoardBoot;
  private clock: NodeClock | undefined;
  private http: NodeHttpClient | undefined;
  private writer: MemoryOtaWriter | undefined;
  private updater: Updater | undefined;
  private policy: BootPolicy | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly store = new MapStore();

  constructor(
    readonly index: number,
    readonly mac: string,
    firstImage: BoardImage,
    private readonly options: BoardOptions,
  ) {
    this.bootloader = new BoardBoot(firstImage, () => this.restart());
  }

  /** The image the board runs now. */
  get running(): BoardImage {
    return this.bootloader.image();
  }

  get slot(): number {
    return this.bootloader.current;
  }

  /** What the board tells servers about its last update (the core's journal). */
  get report(): BoardReport | undefined {
    const last = this.policy?.lastUpdate();
    return last ? { result: last.result, version: last.version } : undefined;
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
    this.bootloader.reset();
    this.clock = new NodeClock();
    this.http = new NodeHttpClient({ bytesPerSecond: this.options.bytesPerSecond });
    this.writer = new MemoryOtaWriter(SLOT_CAPACITY);
    const system = { restart: () => this.restart() };
    const policy = new BootPolicy({ boot: this.bootloader, store: this.store, clock: this.clock, system }, { windowMs: 2000, pollMs: 50 });
    const image = this.running;
    const board = { index: this.index, mac: this.mac };
    policy.addCheck({ name: "app", poll: () => (this.options.check(board, image) ? "pass" : { fail: "the app did not start" }) });
    this.policy = policy;
    this.updater = createUpdater({
      http: this.http,
      ota: this.writer,
      digest: nodeDigest,
      clock: this.clock,
      store: this.store,
      device: this.device,
      system,
      boot: policy,
      defaults: { host: target.host, port: target.port, path: "." },
      options: {
        checkIn: { url: this.options.url, intervalMs: this.options.intervalMs },
        restartDelayMs: this.options.restartDelayMs,
        stallMs: 5000,
        // A board without SNTP: its clock starts at 1970, the core learns the time from the server.
        ...(this.options.fleetSecret !== undefined ? { boardAuth: { secret: this.options.fleetSecret, hostTime: unsetSystemClock(this.clock) } } : {}),
      },
    });
    policy.start();
    this.boots++;
  }

  /** SystemControl.restart() and the policy's rollback: the old boot's timers and connections go, then the board boots again. */
  private restart(): void {
    if (!this.clock) return; // already restarting
    const installed = this.writer?.committed;
    const before = this.running.version;
    this.clock.dispose();
    this.http?.dispose();
    this.clock = undefined;
    this.updater = undefined;
    if (installed) this.bootloader.installed(installed);
    else if (this.policy?.status().phase === "rolling-back") this.options.log?.(`fleet: ${this.mac} failed its start-up check on ${before}, rolling back`);
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

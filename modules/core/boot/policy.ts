// Boot validation: a new image boots "pending-verify" (ESP-IDF's bootloader
// with CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE). It is confirmed only after every
// start-up check passes within the window; a failed check or an expired window
// marks it invalid and restarts into the previous image. A reset before either
// (crash, hang and watchdog, power cut) is the bootloader's to roll back: it
// marks a still-pending entry ABORTED at the next boot. This module also
// settles, at each boot, what happened to the last update (journal.ts), and is
// what the updater asks before it may start and tells when it commits.
import type { BootControl, Clock, KeyValueStore, OtaImageState, SlotInfo, SystemControl, TimerId } from "../ports";
import type { UpdateRecorder } from "../updater-api";
import { seconds } from "../messages";
import { BootJournal, type LastUpdate } from "./journal";
import type { StartupCheck } from "./checks";

export const BOOT_DEFAULTS = { windowMs: 60_000, pollMs: 1000, restartDelayMs: 1000 } as const;

export interface BootPolicyOptions {
  /** Time the checks have to pass, from the start of the app. Default 60 s. */
  windowMs?: number;
  /** How often the checks are polled. Default 1 s. */
  pollMs?: number;
  /** Between "Go back" and the restart, so the page gets its answer. Default 1 s. */
  restartDelayMs?: number;
  /**
   * "Go back" never boots an image with a lower secure_version than the running one (a board
   * that takes only signed images: the owner raised secure_version to shut the older ones out).
   */
  keepSecureVersion?: boolean;
}

export interface BootPolicyDeps {
  boot: BootControl;
  store: KeyValueStore;
  clock: Clock;
  system: SystemControl;
  log?: (line: string) => void;
}

/** idle: nothing to decide; checking: the window is open; confirmed: marked valid this boot; rolling-back: marked invalid, restarting. */
export type BootPhase = "idle" | "checking" | "confirmed" | "rolling-back";

export interface BootStatus {
  otaState: OtaImageState;
  phase: BootPhase;
  running: SlotInfo;
  previous: SlotInfo;
  lastUpdate?: LastUpdate;
  /** While checking: milliseconds left in the window, and what the checks still wait for. */
  remainingMs?: number;
  waitingFor?: string;
  /** The bootloader moved nothing to pending-verify: it was built without rollback (a board flashed before it). */
  bootloaderWithoutRollback?: boolean;
  /** Why "Go back" will not boot the other slot's image, though the bootloader could (keepSecureVersion). */
  goBackRefused?: string;
}

export class BootPolicy implements UpdateRecorder {
  private readonly journal: BootJournal;
  private readonly checks: StartupCheck[] = [];
  private readonly passed = new Set<StartupCheck>();
  private readonly windowMs: number;
  private readonly pollMs: number;
  private readonly restartDelayMs: number;
  private phase: BootPhase = "idle";
  private running: SlotInfo;
  private previous: SlotInfo | undefined;
  private deadline = 0;
  private waiting: string | undefined;
  private timer: TimerId | undefined;
  private started = false;
  private restarting = false;
  private readonly noBootloaderRollback: boolean;
  private readonly keepSecureVersion: boolean;

  constructor(
    private readonly deps: BootPolicyDeps,
    options: BootPolicyOptions = {},
  ) {
    this.journal = new BootJournal(deps.store);
    this.windowMs = options.windowMs ?? BOOT_DEFAULTS.windowMs;
    this.pollMs = options.pollMs ?? BOOT_DEFAULTS.pollMs;
    this.restartDelayMs = options.restartDelayMs ?? BOOT_DEFAULTS.restartDelayMs;
    this.keepSecureVersion = options.keepSecureVersion === true;
    this.running = deps.boot.running();
    // esp_ota_set_boot_partition wrote NEW; a rollback bootloader turns it into PENDING_VERIFY when it boots it.
    this.noBootloaderRollback = this.running.state === "new";
  }

  /** Adds a start-up check (before start()). */
  addCheck(check: StartupCheck): void {
    if (this.started) throw new Error("start-up checks must be added before start()");
    this.checks.push(check);
  }

  /** Settles the last update's records and opens the window when the running image awaits its verdict. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const pending = this.journal.pending();
    const { state, partition } = this.running;
    if (state === "pending-verify" || state === "new") {
      this.phase = "checking";
      this.deadline = this.deps.clock.now() + this.windowMs;
      this.log(`boot: ${this.version()} in ${partition} is ${state}; start-up checks have ${seconds(this.windowMs)}`);
      this.schedule(0);
      return;
    }
    if (!pending) return;
    if (pending.partition === partition) {
      // Confirmed before a reset came between the mark and the record.
      this.journal.settle({ version: pending.version, result: "valid" });
    } else {
      this.journal.settle({ version: pending.version, result: "rolled-back", reason: "it did not get through its start-up (a crash, hang or reset before the check passed), so the bootloader went back" });
      this.log(`boot: ${pending.version} in ${pending.partition} did not start; the bootloader went back to ${partition}`);
    }
  }

  status(): BootStatus {
    const status: BootStatus = { otaState: this.running.state, phase: this.phase, running: this.running, previous: this.previousSlot() };
    const last = this.journal.last();
    if (last) status.lastUpdate = last;
    if (this.phase === "checking") {
      status.remainingMs = Math.max(0, this.deadline - this.deps.clock.now());
      if (this.waiting) status.waitingFor = this.waiting;
    }
    if (this.noBootloaderRollback) status.bootloaderWithoutRollback = true;
    const refused = this.goBackRefusal(status.previous);
    if (refused) status.goBackRefused = refused;
    return status;
  }

  /** A downgrade in secure_version, on a board that keeps it; undefined when Go back may boot `previous`. */
  private goBackRefusal(previous: SlotInfo): string | undefined {
    const from = this.running.app;
    const to = previous.app;
    if (!this.keepSecureVersion || !from || !to || to.secureVersion >= from.secureVersion) return undefined;
    return `${to.version} cannot be started again: its secure_version ${to.secureVersion} is lower than the running firmware's ${from.secureVersion}`;
  }

  /** Switches the boot to the other slot's image and restarts shortly; an error text when it cannot. */
  goBack(): string | undefined {
    if (this.phase === "checking" || this.phase === "rolling-back" || this.restarting) return this.blocked() ?? "The board is restarting";
    const previous = this.previousSlot();
    if (!previous.bootable || !previous.app) return `${previous.partition} holds no bootable firmware`;
    const refused = this.goBackRefusal(previous);
    if (refused) return refused;
    this.journal.setPending({ partition: previous.partition, version: previous.app.version });
    try {
      this.deps.boot.bootOther();
    } catch (error) {
      this.journal.settle({ version: previous.app.version, result: "failed", reason: reasonOf(error) });
      return `Cannot start ${previous.app.version}: ${reasonOf(error)}`;
    }
    this.restarting = true;
    this.log(`boot: going back to ${previous.app.version} in ${previous.partition}`);
    this.deps.clock.setTimeout(() => this.deps.system.restart(), this.restartDelayMs);
    return undefined;
  }

  // UpdateRecorder: what the updater asks and tells.

  blocked(): string | undefined {
    if (this.phase === "checking") return `The new firmware is still being checked (${seconds(Math.max(0, this.deadline - this.deps.clock.now()))} left); update after it is confirmed`;
    if (this.phase === "rolling-back" || this.restarting) return "The board is going back to the previous firmware";
    return undefined;
  }

  writing(): void {
    this.previous = undefined; // the other slot is being erased: whatever it held is gone
  }

  committing(version: string): void {
    this.journal.setPending({ partition: this.previousSlot().partition, version });
  }

  failed(version: string, reason: string): void {
    this.journal.settle({ version, result: "failed", reason });
  }

  lastUpdate(): LastUpdate | undefined {
    return this.journal.last();
  }

  private previousSlot(): SlotInfo {
    this.previous ??= this.deps.boot.other();
    return this.previous;
  }

  private version(): string {
    return this.running.app?.version ?? this.journal.pending()?.version ?? "the new firmware";
  }

  private schedule(ms: number): void {
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      this.poll();
    }, ms);
  }

  private poll(): void {
    if (this.phase !== "checking") return;
    this.waiting = undefined;
    for (const check of this.checks) {
      if (this.passed.has(check)) continue;
      const result = check.poll();
      if (result === "pass") {
        this.passed.add(check);
        continue;
      }
      if ("fail" in result) return this.reject(`${check.name}: ${result.fail}`);
      this.waiting ??= `${check.name}: ${result.wait}`;
    }
    if (this.waiting === undefined) return this.confirm();
    if (this.deps.clock.now() >= this.deadline) return this.reject(`${this.waiting} after ${seconds(this.windowMs)}`);
    this.schedule(this.pollMs);
  }

  private stopChecks(): void {
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
    for (const check of this.checks) check.stop?.();
  }

  private confirm(): void {
    this.stopChecks();
    try {
      this.deps.boot.markValid();
    } catch (error) {
      // Left pending, the bootloader would roll back a working image at the next reset: try again.
      this.log(`boot: marking ${this.version()} valid failed: ${reasonOf(error)}`);
      this.schedule(this.pollMs);
      return;
    }
    this.journal.settle({ version: this.version(), result: "valid" });
    this.phase = "confirmed";
    this.running = this.deps.boot.running();
    this.log(`boot: ${this.version()} passed its start-up checks and is confirmed`);
  }

  private reject(reason: string): void {
    this.stopChecks();
    const version = this.version();
    this.log(`boot: ${version} failed its start-up check (${reason}); rolling back`);
    this.journal.settle({ version, result: "rolled-back", reason });
    this.phase = "rolling-back";
    try {
      this.deps.boot.markInvalidAndRestart();
    } catch (error) {
      // Nothing else boots (ESP_ERR_OTA_ROLLBACK_FAILED): keeping this image beats a board that runs nothing.
      this.journal.settle({ version, result: "failed", reason: `${reason}; no other firmware to go back to, so it keeps running` });
      this.log(`boot: cannot roll back (${reasonOf(error)}); keeping ${version}`);
      try {
        this.deps.boot.markValid();
      } catch {
        // the bootloader boots it anyway: it is the only image that loads
      }
      this.phase = "idle";
      this.running = this.deps.boot.running();
    }
  }

  private log(line: string): void {
    this.deps.log?.(line);
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

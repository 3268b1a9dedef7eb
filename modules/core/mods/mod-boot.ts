// ModManager: the one facade hosts use for mods (docs/architecture.md, "Mods").
//
//   const mods = new ModManager({ flash, host, store, clock, system, digest, signatures?, firmwareBlocked?, log? }, options?);
//   mods.addCheck(appCheck);          // before start(); a mod adds its own (host API -> addCheck) during start()
//   mods.start();                     // at boot, after VM creation, before anything imports the mod:
//                                     //   "restart" | "run" | "none" (see below)
//   mods.createSink();                // a ModSink for a download/upload session (UpdateSink shape)
//   mods.stagedRestart();             // instead of system.restart() after a mod commit
//   mods.status();                    // /api/status fields `mod`, `lastModUpdate` (+ previous, staged)
//   mods.goBack(); mods.remove();     // portal actions: error text, or undefined (restart follows)
//   mods.blocked();                   // why no mod install may start now
//   mods.installed(); mods.running(); // "name@version" for check-in headers
//   mods.lastModUpdate(); mods.failed(name, version, reason);
//   mods.setStatusText(text);         // the host API's status(text): the running mod's line on the home page
//   mods.statusText(); mods.xs; mods.capacity;  // for the portal, check-ins and the catalog
//
// At boot (start): with a pending switch, `xs` is judged against its slot:
// an XS_E header (the firmware's XS refused the mod) or a pending mod that
// already had a try (it reset the board before its verdict) is rolled back;
// an `xs` that is not the slot's mod as XS may have mapped it (a cut copy, a
// cut mapping) is copied again and the board restarts, at most `maxCopies`
// times. A confirmed mod is checked the same way (a firmware update remaps it).
// Then the host starts it; a pending mod's tries count goes up first, and its
// start-up checks (the host's and the mod's own) must pass within the window:
// then it is confirmed; a throw, a failed check or the window's end copies the
// previous mod back (or removes the mod when there was none) and restarts.
import type { Clock, DigestFactory, KeyValueStore, ModFlash, ModHost, SystemControl, TimerId } from "../ports";
import type { SignatureCheck } from "../signature/policy";
import type { StartupCheck } from "../boot/checks";
import { seconds } from "../messages";
import { activate, mappedMatches, readHead, recopy, remove, removeFromXs, sameHeader } from "./activate";
import { ModSink } from "./mod-sink";
import { ModStore, modLabel, type ModOutcome, type ModRecord, type ModState, type SlotIndex } from "./mod-store";

export const MOD_DEFAULTS = { windowMs: 60_000, pollMs: 1000, restartDelayMs: 1000, maxCopies: 3 } as const;

export interface ModManagerDeps {
  flash: ModFlash;
  host: ModHost;
  store: KeyValueStore;
  clock: Clock;
  system: SystemControl;
  digest: DigestFactory;
  /** The board's signing keys: with a key, only mods signed for this host are installed. */
  signatures?: SignatureCheck;
  /** Why the firmware side forbids a mod install now (BootPolicy.blocked: a firmware verdict is open). */
  firmwareBlocked?: () => string | undefined;
  log?: (line: string) => void;
}

export interface ModManagerOptions {
  /** Time a new mod's start-up checks have, from its start. Default 60 s. */
  windowMs?: number;
  pollMs?: number;
  /** Between goBack()/remove() and the switch + restart, so the page gets its answer. Default 1 s. */
  restartDelayMs?: number;
  /** Copies into `xs` for one switch before it is given up. Default 3. */
  maxCopies?: number;
}

/** restart: the board was told to restart (a copy into `xs` was made); run: the host started a mod; none: no mod runs. */
export type ModBootDecision = "restart" | "run" | "none";

export type ModRunState = "valid" | "pending" | "failed" | "restarting";

/** The contract of /api/status `mod` and `lastModUpdate`. */
export interface ModStatus {
  mod: null | { name: string; version: string; state: ModRunState };
  lastModUpdate?: ModOutcome;
  /** The other slot's mod: what goBack() switches to. */
  previous?: { name: string; version: string };
  /** Committed, switched to at the next restart. */
  staged?: { name: string; version: string };
  /** While pending: milliseconds left in the window. */
  remainingMs?: number;
}

/** Longest status line a mod may set (the home page shows it on one line). */
export const MAX_MOD_STATUS_TEXT = 120;

const XS_STATUS: Readonly<Record<number, string>> = { 1: "not enough memory", 3: "fatal check", 6: "no more keys" };
/** xsffi.h XS_FATAL_CHECK_EXIT: what fxMapArchive writes for a layout or version it refuses. */
const XS_FATAL_CHECK_EXIT = 3;

export class ModManager {
  private readonly records: ModStore;
  private readonly checks: StartupCheck[] = [];
  private readonly passed = new Set<StartupCheck>();
  private readonly windowMs: number;
  private readonly pollMs: number;
  private readonly restartDelayMs: number;
  private readonly maxCopies: number;
  private phase: "idle" | "checking" | "valid" | "failed" | "restarting" = "idle";
  private deadline = 0;
  private timer: TimerId | undefined;
  private started = false;
  private text: string | undefined;

  constructor(
    private readonly deps: ModManagerDeps,
    options: ModManagerOptions = {},
  ) {
    this.records = new ModStore(deps.store);
    this.windowMs = options.windowMs ?? MOD_DEFAULTS.windowMs;
    this.pollMs = options.pollMs ?? MOD_DEFAULTS.pollMs;
    this.restartDelayMs = options.restartDelayMs ?? MOD_DEFAULTS.restartDelayMs;
    this.maxCopies = options.maxCopies ?? MOD_DEFAULTS.maxCopies;
  }

  /** A start-up check for a new mod: the host's before start(), the mod's own during it. */
  addCheck(check: StartupCheck): void {
    if (this.phase !== "idle" && this.phase !== "checking") throw new Error("mod start-up checks must be added before the mod is judged");
    this.checks.push(check);
  }

  /** At boot, before anything imports the mod: settle `xs`, then start the mod (or restart the board). */
  start(): ModBootDecision {
    if (this.started) throw new Error("ModManager.start() runs once per boot");
    this.started = true;
    const decision = this.decide();
    if (decision === "restart") return this.restart();
    if (decision === "none") return "none";
    const state = this.records.load();
    const pending = state.pending;
    const judged = pending !== null && !pending.restore;
    if (judged) {
      pending.tries++;
      this.records.save(state); // before the mod runs: a reset from here on counts as a try
    }
    const label = this.label(state.xs);
    const error = this.deps.host.start();
    if (error !== undefined) {
      if (judged) return this.rollBack(`it threw at start-up: ${error}`);
      this.log(`mods: ${label} threw at start-up: ${error}`);
      this.phase = "failed";
      return "run";
    }
    if (!judged) {
      this.phase = "valid";
      return "run";
    }
    this.phase = "checking";
    this.deadline = this.deps.clock.now() + this.windowMs;
    this.log(`mods: ${label} is new; its start-up checks have ${seconds(this.windowMs)}`);
    this.schedule(0);
    return "run";
  }

  /** The sink a mod install writes through (its session drives it like an ImageSink). */
  createSink(): ModSink {
    return new ModSink({ flash: this.deps.flash, host: this.deps.host, digest: this.deps.digest, store: this.deps.store, signatures: this.deps.signatures });
  }

  /** Instead of system.restart() after a mod commit: switches to the staged mod (synchronously: no mod code runs meanwhile), then restarts. */
  stagedRestart(): void {
    const state = this.records.load();
    if (state.staged !== null && !state.pending) {
      try {
        activate(this.deps.flash, this.records, state.staged);
      } catch (error) {
        this.log(`mods: switching to the staged mod failed: ${reasonOf(error)}`);
      }
    }
    this.phase = "restarting";
    this.deps.system.restart();
  }

  status(): ModStatus {
    const state = this.records.load();
    const status: ModStatus = { mod: null };
    const record = state.xs === null ? null : state.slots[state.xs];
    if (record && state.xs !== null) {
      const runState: ModRunState =
        this.phase === "restarting" ? "restarting" : this.phase === "failed" ? "failed" : this.phase === "checking" || (state.pending && !state.pending.restore) ? "pending" : "valid";
      status.mod = { name: record.name, version: record.version, state: runState };
      const other = state.slots[state.xs === 0 ? 1 : 0];
      if (other && !other.failed && state.staged === null) status.previous = { name: other.name, version: other.version };
    }
    if (state.last) status.lastModUpdate = state.last;
    const staged = state.staged === null ? null : state.slots[state.staged];
    if (staged) status.staged = { name: staged.name, version: staged.version };
    if (this.phase === "checking") status.remainingMs = Math.max(0, this.deadline - this.deps.clock.now());
    return status;
  }

  /** Why no mod install may start now, or undefined. */
  blocked(): string | undefined {
    if (this.phase === "checking") return `The new app mod is still being checked (${seconds(Math.max(0, this.deadline - this.deps.clock.now()))} left); install after it is confirmed`;
    if (this.phase === "restarting") return "The board is restarting";
    return this.deps.firmwareBlocked?.();
  }

  /** Switches to the other slot's mod (judged again as new) and restarts shortly; an error text when it cannot. */
  goBack(): string | undefined {
    const busy = this.blocked();
    if (busy) return busy;
    const state = this.records.load();
    if (state.xs === null) return "No app mod is running";
    const other: SlotIndex = state.xs === 0 ? 1 : 0;
    const record = state.slots[other];
    if (!record || state.staged === other) return "There is no previous app mod to go back to";
    if (record.failed) return `${modLabel(record)} failed before; install it again to retry it`;
    const from = state.xs;
    this.later(() => activate(this.deps.flash, this.records, other, { prev: from }), `going back to ${modLabel(record)}`);
    return undefined;
  }

  /** Removes the running mod and restarts shortly; an error text when there is none. */
  remove(): string | undefined {
    const busy = this.blocked();
    if (busy) return busy;
    const state = this.records.load();
    const record = state.xs === null ? null : state.slots[state.xs];
    if (!record) return "No app mod is installed";
    this.later(() => remove(this.deps.flash, this.records, { name: record.name, version: record.version, result: "removed" }), `removing ${modLabel(record)}`);
    return undefined;
  }

  /** The host's XS version: a mod must have been built for its major.minor. */
  get xs(): { major: number; minor: number; patch: number } {
    return this.deps.host.xs;
  }

  /** Bytes a mod may have: the smallest of `xs` and the two slots. */
  get capacity(): number {
    const { active, slots } = this.deps.flash;
    return Math.min(active.size, slots[0].size, slots[1].size);
  }

  /**
   * The running mod's status line (the host API's status(text)): control
   * characters dropped, at most MAX_MOD_STATUS_TEXT characters; "" clears it.
   * The portal escapes it.
   */
  setStatusText(text: string): void {
    let line = "";
    for (const c of String(text)) {
      if (line.length + c.length > MAX_MOD_STATUS_TEXT) break;
      const code = c.charCodeAt(0);
      line += code < 0x20 || code === 0x7f ? " " : c;
    }
    line = line.trim();
    this.text = line === "" ? undefined : line;
  }

  statusText(): string | undefined {
    return this.text;
  }

  /** "name@version" of the mod in `xs` (running or not this boot). */
  installed(): string | undefined {
    return this.label(this.records.load().xs);
  }

  /** "name@version" of the mod the host started this boot. */
  running(): string | undefined {
    return this.phase === "checking" || this.phase === "valid" ? this.installed() : undefined;
  }

  lastModUpdate(): ModOutcome | undefined {
    return this.records.load().last ?? undefined;
  }

  /** A mod install was refused or broke off. */
  failed(name: string, version: string, reason: string): void {
    const state = this.records.load();
    state.last = { name, version, result: "failed", reason };
    this.records.save(state);
  }

  // --- boot

  private decide(): "restart" | "run" | "none" {
    const flash = this.deps.flash;
    const state = this.records.load();
    const pending = state.pending;
    if (pending && pending.slot === null) {
      // A removal was cut: finish it (the mod was mapped, never started).
      if (readHead(flash.active).kind === "archive") removeFromXs(flash.active);
      state.pending = null;
      state.xs = null;
      this.records.save(state);
      return "none";
    }
    if (pending && pending.slot !== null) {
      const record = state.slots[pending.slot];
      if (!record) return this.drop(state, "its slot no longer holds it");
      if (!pending.restore && pending.tries >= 1) return this.rollBack("it reset the board before its start-up check finished");
      const head = readHead(flash.active);
      if (head.kind === "refused" && !this.damagedCopy(head.status, pending.slot)) {
        const why = `the firmware's XS refused it (${XS_STATUS[head.status] ?? `status ${head.status}`})`;
        return pending.restore ? this.drop(state, why) : this.rollBack(why);
      }
      if (!this.intact(pending.slot, record)) {
        if (pending.copies >= this.maxCopies) {
          const why = `it could not be copied into ${flash.active.label} (${pending.copies} tries)`;
          return pending.restore ? this.drop(state, why) : this.rollBack(why);
        }
        this.log(`mods: ${modLabel(record)} is not whole in ${flash.active.label}; copying it again`);
        recopy(flash, this.records);
        return "restart";
      }
      if (pending.restore) {
        state.pending = null;
        this.records.save(state);
      }
      return "run";
    }
    if (state.staged !== null) {
      // Committed, but the board restarted before the switch.
      activate(flash, this.records, state.staged);
      return "restart";
    }
    if (state.xs === null) return "none";
    const record = state.slots[state.xs];
    if (!record) return this.drop(state, "its slot no longer holds it");
    const head = readHead(flash.active);
    if (head.kind === "refused" && !this.damagedCopy(head.status, state.xs)) return this.drop(state, `the firmware's XS refused it (${XS_STATUS[head.status] ?? `status ${head.status}`})`);
    if (!this.intact(state.xs, record)) {
      this.log(`mods: ${modLabel(record)} is not whole in ${flash.active.label}; copying it again`);
      activate(flash, this.records, state.xs, { restore: true, prev: null });
      return "restart";
    }
    return "run";
  }

  /**
   * An XS_E "fatal check" over a mod whose slot copy this XS takes (its VERS
   * fits; its layout was checked at the install) can only come from damaged
   * bytes in `xs` (a cut copy or mapping): copy again rather than blame the mod.
   */
  private damagedCopy(status: number, slot: SlotIndex): boolean {
    const head = readHead(this.deps.flash.slots[slot]);
    const xs = this.deps.host.xs;
    return status === XS_FATAL_CHECK_EXIT && head.kind === "archive" && head.header[16] === xs.major && head.header[17] === xs.minor;
  }

  /** `xs` holds the slot's mod, as mapped by this boot's XS. */
  private intact(slot: SlotIndex, record: ModRecord): boolean {
    const { active, slots } = this.deps.flash;
    return sameHeader(readHead(active), readHead(slots[slot])) && mappedMatches(active, slots[slot], record.size) && this.deps.host.mapped();
  }

  /** A mod already judged cannot run: no mod then (nothing to restart for: it never started). */
  private drop(state: ModState, why: string): "none" {
    const record = state.xs === null ? null : state.slots[state.xs];
    this.log(`mods: ${record ? modLabel(record) : "the mod"} cannot run: ${why}`);
    if (record && state.xs !== null) state.slots[state.xs] = { ...record, failed: true };
    state.last = { name: record?.name ?? "", version: record?.version ?? "", result: "failed", reason: why };
    this.records.save(state);
    remove(this.deps.flash, this.records, null);
    return "none";
  }

  /** The pending mod failed: its previous mod goes back into `xs` (or none), then the board restarts. */
  private rollBack(why: string): "restart" {
    this.stopChecks();
    const state = this.records.load();
    const pending = state.pending;
    const failedSlot = pending?.slot ?? null;
    const record = failedSlot === null ? null : state.slots[failedSlot];
    this.log(`mods: ${record ? modLabel(record) : "the new mod"} is rolled back: ${why}`);
    const outcome: ModOutcome = { name: record?.name ?? "", version: record?.version ?? "", result: "rolled-back", reason: why };
    if (record && failedSlot !== null) state.slots[failedSlot] = { ...record, failed: true };
    state.last = outcome;
    state.staged = null;
    const prev = pending?.prev ?? null;
    const back = prev === null ? null : state.slots[prev];
    this.phase = "failed";
    try {
      if (back && prev !== null && !back.failed) {
        this.records.save(state);
        activate(this.deps.flash, this.records, prev, { restore: true, prev: null });
      } else {
        this.records.save(state);
        remove(this.deps.flash, this.records, outcome);
      }
    } catch (error) {
      this.log(`mods: rolling back failed: ${reasonOf(error)}`);
    }
    return this.restart();
  }

  private restart(): "restart" {
    this.phase = "restarting";
    this.deps.system.restart();
    return "restart";
  }

  private later(work: () => void, what: string): void {
    this.phase = "restarting";
    this.log(`mods: ${what}`);
    this.deps.clock.setTimeout(() => {
      try {
        work();
      } catch (error) {
        this.log(`mods: ${what} failed: ${reasonOf(error)}`);
      }
      this.deps.system.restart();
    }, this.restartDelayMs);
  }

  private label(slot: SlotIndex | null): string | undefined {
    if (slot === null) return undefined;
    const record = this.records.load().slots[slot];
    return record ? modLabel(record) : undefined;
  }

  // --- the window

  private schedule(ms: number): void {
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      this.poll();
    }, ms);
  }

  private poll(): void {
    if (this.phase !== "checking") return;
    let waiting: string | undefined;
    for (const check of this.checks) {
      if (this.passed.has(check)) continue;
      const result = check.poll();
      if (result === "pass") {
        this.passed.add(check);
        continue;
      }
      if ("fail" in result) {
        this.rollBack(`${check.name}: ${result.fail}`);
        return;
      }
      waiting ??= `${check.name}: ${result.wait}`;
    }
    if (waiting === undefined) return this.confirm();
    if (this.deps.clock.now() >= this.deadline) {
      this.rollBack(`${waiting} after ${seconds(this.windowMs)}`);
      return;
    }
    this.schedule(this.pollMs);
  }

  private stopChecks(): void {
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
    for (const check of this.checks) check.stop?.();
  }

  private confirm(): void {
    this.stopChecks();
    const state = this.records.load();
    const slot = state.pending?.slot ?? state.xs;
    const record = slot === null ? null : state.slots[slot];
    state.pending = null;
    if (record && slot !== null) {
      state.xs = slot;
      state.slots[slot] = { name: record.name, version: record.version, size: record.size, sha256: record.sha256 };
      state.last = { name: record.name, version: record.version, result: "valid" };
    }
    this.records.save(state);
    this.phase = "valid";
    this.log(`mods: ${record ? modLabel(record) : "the mod"} passed its start-up checks and is confirmed`);
  }

  private log(line: string): void {
    this.deps.log?.(line);
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

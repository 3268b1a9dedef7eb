// "ota/host": what a mod may ask of this firmware. A mod imports it by that
// specifier (typings: modules/types/ota-host.d.ts); the host imports the same
// specifier, so both get the one instance (not preloaded: a preloaded
// module's bindings are frozen at build time).
//
//   import { addCheck, status, log } from "ota/host";
//   addCheck("sensor", () => (found() ? "pass" : { wait: "no reply" }));
//   status("22.5 °C");
//   log("started");
//
// A thin registry: the host connects its receivers once, before it runs the
// mod (connectHost); calls before that are refused (addCheck: a check the
// host never saw would let a broken mod be kept) or go to trace (log).
// Nothing is kept here but the receivers.

/** A start-up check's answer (modules/core/boot/checks.ts CheckResult). */
export type ModCheckResult = "pass" | { wait: string } | { fail: string };

export interface HostReceivers {
  /** A mod's start-up check: the boot policy polls it in the window, about once a second. */
  check(name: string, poll: () => ModCheckResult): void;
  /** The mod's status line on the portal's home page (the host bounds its length). */
  status(text: string): void;
  /** A line for the device log. */
  log(text: string): void;
}

let host: HostReceivers | undefined;

/** For the host, once, before the mod starts; throws on a second call (a mod cannot take the receivers over). */
export function connectHost(receivers: HostReceivers): void {
  if (host) throw new Error("ota/host: already connected");
  host = receivers;
}

/** Adds a start-up check: the mod is kept only once it answers "pass" within the window; { fail } or the window's end rolls it back. */
export function addCheck(name: string, poll: () => ModCheckResult): void {
  if (!host) throw new Error("ota/host: no host to take the check");
  host.check(String(name), poll);
}

/** Sets the mod's status line on the portal's home page. */
export function status(text: string): void {
  host?.status(String(text));
}

/** Writes a line to the device log. */
export function log(text: string): void {
  if (host) host.log(String(text));
  else trace(`mod: ${String(text)}\n`);
}

// Compile-time only: these exports are exactly what modules/types/ota-host.d.ts
// declares for mods (a mismatch fails the typecheck here).
type Exports = { addCheck: typeof addCheck; status: typeof status; log: typeof log; connectHost: typeof connectHost };
type Declared = Pick<typeof import("ota/host"), keyof Exports>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _matchesTypings: Same<Exports, Declared> & Same<keyof typeof import("ota/host"), keyof Exports> = true;

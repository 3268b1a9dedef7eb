// "ota/host", the module a mod imports to talk to this firmware. Its source is
// modules/moddable/mod-api.ts (manifest.json maps the specifier to it), which
// checks at compile time that its exports are exactly these. Self-contained,
// so a mod's build (mcrun's tsc) can list it without compiling the host's
// sources: mods/hello/manifest.json maps it as a typings-only module.

declare module "ota/host" {
  /** A start-up check's answer: passed, still waiting (what for), failed (why). */
  export type ModCheckResult = "pass" | { wait: string } | { fail: string };
  export interface HostReceivers {
    check(name: string, poll: () => ModCheckResult): void;
    status(text: string): void;
    log(text: string): void;
  }
  /** Adds a start-up check: the mod is kept only once it answers "pass" within the window; { fail } or the window's end rolls it back. Throws before the host is connected. */
  export function addCheck(name: string, poll: () => ModCheckResult): void;
  /** Sets the mod's status line on the portal's home page. */
  export function status(text: string): void;
  /** Writes a line to the device log. */
  export function log(text: string): void;
  /** For the host only, once, before it runs the mod; throws on a second call. */
  export function connectHost(receivers: HostReceivers): void;
}

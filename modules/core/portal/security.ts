// Secure by default (docs/production.md): until a portal password is set, no
// route that changes what the board runs is served, and Wi-Fi set-up and the
// password page answer on the access point only; config.requirePassword false
// turns that off (bench boards) and the home page says so. Also what
// /api/status `security` and the home page report as still open.
import type { PortalRequest, WifiStatus } from "../ports";
import type { ApMode, PortalDeps } from "../updater-api";
import { storedPassword } from "./basic-auth";
import { apStatus } from "./ap-status";

/** The refusal's text (403), as pages, JSON answers and the ota CLI show it. */
export const PASSWORD_FIRST = "Set a portal password first";

/** The /api/status `security` field (the contract tools rely on). */
export interface SecurityJson {
  /** A portal password is stored. */
  passwordSet: boolean;
  /** The board commits only images signed with one of its keys. */
  signedOnly: boolean;
  /** The access point's lifecycle mode ("always" when the firmware has none). */
  apMode: ApMode;
  /** The access point is up without a password: anyone nearby can join it. */
  apOpen: boolean;
}

/** Whether updates wait for a password (config.requirePassword; on unless turned off). */
export function passwordRequired(deps: PortalDeps): boolean {
  return deps.security?.requirePassword !== false;
}

/** Updates are refused now: a password is required and none is set. */
export function lockedUntilPassword(deps: PortalDeps): boolean {
  return passwordRequired(deps) && storedPassword(deps.store) === undefined;
}

/** The first three octets of a dotted IPv4 address, or undefined. */
function subnet24(address: string | undefined): string | undefined {
  const m = address === undefined ? null : /^(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$/.exec(address.trim());
  return m ? m[1] : undefined;
}

/** 127.x, ::1 or an IPv4-mapped 127.x. */
function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.trim().toLowerCase();
  return a === "::1" || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/**
 * Whether the request came over the board's access point. The local address
 * decides when the adapter knows it (the twin); else the client's: ESP-IDF's
 * soft-AP hands out addresses in its own /24 (192.168.4.x beside 192.168.4.1).
 * A station on that same /24 makes the peer ambiguous, unknown is never the AP,
 * and nothing arrives on an AP that is down. loopbackIsAp (the simulator, PortalSecurity):
 * a loopback client is on the AP while it is up.
 */
export function arrivedOnAp(request: PortalRequest, wifi: WifiStatus, apUp: boolean, loopbackIsAp = false): boolean {
  if (!apUp) return false;
  if (loopbackIsAp && isLoopback(request.remoteAddress)) return true;
  if (request.localAddress !== undefined) return request.localAddress === wifi.apAddress;
  const ap = subnet24(wifi.apAddress);
  if (ap === undefined || subnet24(request.remoteAddress) !== ap) return false;
  return !(wifi.connected && subnet24(wifi.stationAddress) === ap);
}

export function securityJson(deps: PortalDeps): SecurityJson {
  const ap = apStatus(deps.ap, deps.wifi.status());
  return {
    passwordSet: storedPassword(deps.store) !== undefined,
    signedOnly: deps.signing?.required === true,
    apMode: ap.mode,
    apOpen: ap.up && deps.security?.apHasPassword !== true,
  };
}

/** The 403 page's body: what to do, and a link to the password page where it can be opened. */
export function passwordFirstBody(onAp: boolean): string {
  return (
    `<section><p id=error>${PASSWORD_FIRST}: until the board has one, nothing can change its firmware or app mod.</p>` +
    (onAp
      ? `<a class=btn id=set-password href="/password">Set a portal password</a>`
      : `<p class=meta>Join the board's access point and open /password there: without a password, set-up answers on the access point only.</p>`) +
    `<a class="btn alt" href="/">Home</a></section>`
  );
}

/** The notice the home and UPDATE pages show while updates wait for a password (empty otherwise). */
export function passwordFirstNotice(deps: PortalDeps): string {
  if (!lockedUntilPassword(deps)) return "";
  return `<section id=password-first><p class=error>${PASSWORD_FIRST}: updates are refused until the board has one.</p><a class=btn id=set-password href="/password">Set a portal password</a></section>`;
}

/** The home page's list of what is still open (nothing when everything is closed). */
export function securitySection(deps: PortalDeps): string {
  const s = securityJson(deps);
  const open: string[] = [];
  if (!s.passwordSet && !passwordRequired(deps)) open.push(`<li id=open-warning class=error>No portal password and none required (requirePassword is off): anyone who reaches this page can change the firmware. <a href="/password">Set one</a></li>`);
  if (!s.signedOnly) open.push(`<li id=open-unsigned>Unsigned images are accepted (no signing keys).</li>`);
  if (s.apOpen) open.push(`<li id=open-ap>The access point has no password${s.apMode === "always" ? " and is always on" : ""}.</li>`);
  if (open.length === 0) return "";
  return `<section id=security><h2>Still open</h2><ul>${open.join("")}</ul><p class=meta>docs/production.md says how to close each.</p></section>`;
}

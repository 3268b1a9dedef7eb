// The captive portal's request handler: createPortal(deps) returns a synchronous
// PortalRequest -> PortalResponse function for the HTTP server adapter.
//
// Order of checks: method (405), captive redirects (foreign Host, OS probes:
// 302), route (404/405), body size (413), cross-site posts (403), no password
// set yet (403: security.ts), the wrong-password back-off (429), password (401).
// Anything slow (catalog, scan) is started by one request and polled as JSON.
import type { PortalDeps, PortalHandler } from "../updater-api";
import type { PortalBodyRouter, PortalRequest, PortalResponse } from "../ports";
import { MAX_FORM_BODY, parseForm, utf8Length } from "./form";
import { isPortalHost, isProbePath } from "./captive";
import { authorized, storedPassword } from "./basic-auth";
import { LoginThrottle } from "./login-throttle";
import { arrivedOnAp, PASSWORD_FIRST, passwordFirstBody, passwordRequired } from "./security";
import { errorPage, htmlResponse, jsonResponse, redirect } from "./responses";
import { layout } from "./html";
import { matchRoute, type PortalContext, type Route } from "./router";
import { createScanner } from "./wifi-scan";
import { homeRoutes } from "./pages-home";
import { wifiRoutes } from "./pages-wifi";
import { updateRoutes } from "./pages-update";
import { progressRoutes } from "./page-progress";
import { passwordRoutes } from "./pages-password";
import { bootRoutes } from "./pages-boot";
import { uploadKind, uploadRoutes, uploadSink } from "./upload";
import { modRoutes } from "./pages-mods";
import { apStatus, portalHome } from "./ap-status";

export { MAX_FORM_BODY } from "./form";

export const ROUTES: readonly Route[] = [...homeRoutes, ...bootRoutes, ...modRoutes, ...wifiRoutes, ...updateRoutes, ...uploadRoutes, ...progressRoutes, ...passwordRoutes];

/** The request handler, and the router that takes an upload's body as a stream (server adapters use both). */
export type Portal = PortalHandler & { bodyRouter: PortalBodyRouter };

/** A fresh id per firmware start, so a page can tell a restarted device from the old one. */
export function newBootId(now: number): string {
  return Math.floor(now).toString(36) + "-" + Math.floor(Math.random() * 0x7fffffff).toString(36);
}

function bodyTooLarge(request: PortalRequest): boolean {
  const declared = request.headers.get("content-length");
  if (declared !== undefined && /^\s*\d+\s*$/.test(declared) && Number(declared) > MAX_FORM_BODY) return true;
  return utf8Length(request.body) > MAX_FORM_BODY;
}

/**
 * A browser posting from another site sends its Origin, or at least a Referer
 * (older browsers, some privacy settings); the portal's own forms send the
 * portal's. A request with neither (curl, a script on the LAN) is not a
 * browser being steered, and the password still applies to it.
 */
function crossSite(request: PortalRequest): boolean {
  const host = request.headers.get("host");
  if (host === undefined) return false;
  const own = `http://${host.trim().toLowerCase()}`;
  const origin = request.headers.get("origin");
  if (origin !== undefined) return origin.trim().toLowerCase() !== own;
  const referer = request.headers.get("referer");
  if (referer === undefined) return false;
  const r = referer.trim().toLowerCase();
  return r !== own && !r.startsWith(`${own}/`);
}

/** A header-safe realm: printable ASCII without quotes or backslashes. */
function realm(appName: string): string {
  return appName.replace(/[^\x20-\x7e]|["\\]/g, "");
}

export function createPortal(deps: PortalDeps): Portal {
  const bootId = deps.bootId ?? newBootId(deps.clock.now());
  const scanner = createScanner(deps.wifi, deps.clock);
  const appName = deps.device.appName;
  const throttle = new LoginThrottle(deps.clock, deps.security?.throttle);

  // JSON clients (the pages' scripts, tools, uploads) get errors as JSON, people get a page.
  const jsonClient = (request: PortalRequest) => request.path.startsWith("/api/") || uploadKind(request.path) !== undefined;
  function fail(request: PortalRequest, status: number, title: string, message: string): PortalResponse {
    return jsonClient(request) ? jsonResponse({ ok: false, error: message }, status) : errorPage(status, title, message, appName);
  }

  /**
   * The checks every request passes, in order: method, captive redirect, route,
   * body size (forms only: a streamed body has no cap here), cross-site, password.
   * A response when one refuses, else the route's handler.
   */
  function gate(request: PortalRequest, streamed: boolean): PortalResponse | ((context: PortalContext) => PortalResponse) {
    const method = request.method.toUpperCase();
    if (method !== "GET" && method !== "HEAD" && method !== "POST") {
      const r = fail(request, 405, "Method not allowed", `${method} is not supported here.`);
      r.headers.push(["Allow", "GET, HEAD, POST"]);
      return r;
    }
    const w = deps.wifi.status();
    const home = portalHome(deps.portalHost, deps.ap, w);
    if (!isPortalHost(request.headers.get("host"), [deps.portalHost, w.apAddress, w.stationAddress])) return redirect(home);
    if (isProbePath(request.path)) return redirect(home);

    const match = matchRoute(ROUTES, method, request.path);
    if (match.kind === "no-path") return fail(request, 404, "Not found", "There is no such page on this device.");
    if (match.kind === "no-method") {
      const r = fail(request, 405, "Method not allowed", `${method} is not supported on this page.`);
      r.headers.push(["Allow", match.allow]);
      return r;
    }
    if (method === "POST") {
      if (!streamed && bodyTooLarge(request)) return fail(request, 413, "Too large", `Form data is limited to ${MAX_FORM_BODY} bytes.`);
      if (crossSite(request)) return fail(request, 403, "Forbidden", "Forms are only accepted from the portal's own pages.");
    }
    if (match.route.guarded) return passwordGate(request, method, match.route.lock) ?? match.handler;
    return match.handler;
  }

  /** The password's part of the gate: a refusal, or undefined to serve the route. */
  function passwordGate(request: PortalRequest, method: string, lock: Route["lock"]): PortalResponse | undefined {
    if (storedPassword(deps.store) === undefined) {
      if (!passwordRequired(deps) || lock === undefined || (lock === "installs" && method !== "POST")) return undefined;
      const wifi = deps.wifi.status();
      const onAp = arrivedOnAp(request, wifi, apStatus(deps.ap, wifi).up, deps.security?.loopbackIsAp === true);
      if (lock === "setup" && onAp) return undefined;
      const text = lock === "installs" ? PASSWORD_FIRST : `${PASSWORD_FIRST}: until then Wi-Fi set-up and the password page answer on the board's access point only`;
      if (jsonClient(request)) return jsonResponse({ ok: false, error: text }, 403);
      return htmlResponse(layout("Password first", passwordFirstBody(onAp), { appName }), 403);
    }
    // Guesses from an address that keeps getting it wrong wait, unchecked; a request without credentials just gets the prompt.
    const address = request.remoteAddress ?? "unknown";
    const given = request.headers.get("authorization");
    const wait = given === undefined ? 0 : throttle.waitMs(address);
    if (wait > 0) {
      const s = Math.ceil(wait / 1000);
      const r = fail(request, 429, "Too many wrong passwords", `Too many wrong passwords from this address: try again in ${s} s.`);
      r.headers.push(["Retry-After", String(s)]);
      return r;
    }
    if (authorized(deps.store, given)) {
      throttle.succeeded(address);
      return undefined;
    }
    if (given !== undefined) throttle.failed(address);
    const r = fail(request, 401, "Password required", "This page needs the portal password.");
    r.headers.push(["WWW-Authenticate", `Basic realm="${realm(appName)} portal", charset="UTF-8"`]);
    return r;
  }

  function handle(request: PortalRequest): PortalResponse {
    const passed = gate(request, false);
    if (typeof passed !== "function") return passed;
    const method = request.method.toUpperCase();
    const context: PortalContext = {
      deps,
      request,
      query: parseForm(request.query),
      form: method === "POST" ? parseForm(request.body) : new Map(),
      bootId,
      scanner,
    };
    return passed(context);
  }

  function answer(request: PortalRequest): PortalResponse {
    try {
      return handle(request);
    } catch (error) {
      // A throwing port (store full, radio busy) must still give the user an answer.
      const text = error instanceof Error ? error.message : String(error);
      return fail(request, 500, "Device error", `The device could not do that: ${text}`);
    }
  }

  const portal = ((request: PortalRequest) => {
    const response = answer(request);
    return request.method.toUpperCase() === "HEAD" ? { ...response, body: "" } : response;
  }) as Portal;

  // Only the uploads (firmware, app mod) take their body as a stream; every other request is a form.
  portal.bodyRouter = (head) => {
    const kind = uploadKind(head.path);
    if (head.method.toUpperCase() !== "POST" || kind === undefined) return undefined;
    try {
      const passed = gate(head, true);
      if (typeof passed !== "function") return { respond: passed };
      return uploadSink(deps.updater, head, kind);
    } catch (error) {
      return { respond: fail(head, 500, "Device error", `The device could not do that: ${error instanceof Error ? error.message : String(error)}`) };
    }
  };
  return portal;
}

// The portal's route table: exact paths, a handler per method, and whether the
// portal password guards the route. HEAD is served by the GET handler.
import type { PortalDeps } from "../updater-api";
import type { PortalRequest, PortalResponse } from "../ports";
import type { Scanner } from "./wifi-scan";

/** What a route handler sees of one request. */
export interface PortalContext {
  deps: PortalDeps;
  request: PortalRequest;
  /** Decoded query fields. */
  query: Map<string, string>;
  /** Decoded form fields of a POST body (empty for GET). */
  form: Map<string, string>;
  /** Changes at every start of the firmware: lets pages notice a restart. */
  bootId: string;
  scanner: Scanner;
}

export type RouteHandler = (context: PortalContext) => PortalResponse;

export interface Route {
  path: string;
  get?: RouteHandler;
  post?: RouteHandler;
  /** Asks for the portal password when one is set. */
  guarded: boolean;
  /**
   * While no password is set and one is required (security.ts): "installs"
   * (its POST changes what the board runs) answers POSTs 403, "setup" (Wi-Fi
   * set-up, the password page) answers on the access point only.
   */
  lock?: "installs" | "setup";
}

export type RouteMatch = { kind: "found"; route: Route; handler: RouteHandler } | { kind: "no-path" } | { kind: "no-method"; allow: string };

export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch {
  const route = routes.find((r) => r.path === path);
  if (!route) return { kind: "no-path" };
  const handler = method === "POST" ? route.post : method === "GET" || method === "HEAD" ? route.get : undefined;
  if (handler) return { kind: "found", route, handler };
  const allow = [route.get ? "GET, HEAD" : "", route.post ? "POST" : ""].filter((m) => m !== "").join(", ");
  return { kind: "no-method", allow };
}

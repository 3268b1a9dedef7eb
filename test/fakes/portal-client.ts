// Builds PortalRequests the way the server adapters do (lowercased headers,
// raw query, body text) and sends them to a portal handler, for portal tests.
import type { PortalRequest, PortalResponse } from "../../modules/core/ports";
import type { PortalDeps } from "../../modules/core/updater-api";
import { createPortal, type Portal } from "../../modules/core/portal/portal";
import { utf8Length } from "../../modules/core/portal/form";
import { FakeClock } from "./clock";
import { MemoryStore } from "./store";
import { FakeSystem, fakeDevice } from "./device";
import { FakeWifi } from "./wifi";
import { ScriptedUpdater } from "./scripted-updater";
import { ScriptedBoot } from "./scripted-boot";

export const PORTAL_HOST = "192.168.4.1";
/** A phone on the board's access point, as the server adapter reports its address. */
export const AP_CLIENT = "192.168.4.2";
/** A computer on the station's LAN (the rig's station is 192.168.1.57). */
export const LAN_CLIENT = "192.168.1.20";

/** A bench board (config.requirePassword false): for tests that assume an open portal, and say so. */
export const OPEN_PORTAL: Partial<PortalDeps> = { security: { requirePassword: false } };

export interface RequestOptions {
  host?: string | null;
  headers?: Record<string, string>;
  query?: string;
  body?: string;
  /** The client's address (PortalRequest.remoteAddress); default AP_CLIENT, null for none. */
  remoteAddress?: string | null;
  /** The board's address the request arrived at, when the adapter tells it. */
  localAddress?: string;
}

export function request(method: string, target: string, options: RequestOptions = {}): PortalRequest {
  const q = target.indexOf("?");
  const headers = new Map<string, string>();
  if (options.host !== null) headers.set("host", options.host ?? PORTAL_HOST);
  for (const [k, v] of Object.entries(options.headers ?? {})) headers.set(k.toLowerCase(), v);
  const body = options.body ?? "";
  if (method === "POST" && !headers.has("content-length")) headers.set("content-length", String(utf8Length(body)));
  const r: PortalRequest = { method, path: q < 0 ? target : target.slice(0, q), query: q < 0 ? (options.query ?? "") : target.slice(q + 1), headers, body };
  if (options.remoteAddress !== null) r.remoteAddress = options.remoteAddress ?? AP_CLIENT;
  if (options.localAddress !== undefined) r.localAddress = options.localAddress;
  return r;
}

/** Form-encodes fields as a browser does. */
export function formBody(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v).replace(/%20/g, "+")}`)
    .join("&");
}

export function header(response: PortalResponse, name: string): string | undefined {
  return response.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}

/** A portal over fakes, with its fakes exposed for the test to steer. */
export interface PortalRig {
  portal: Portal;
  updater: ScriptedUpdater;
  boot: ScriptedBoot;
  wifi: FakeWifi;
  store: MemoryStore;
  system: FakeSystem;
  clock: FakeClock;
  deps: PortalDeps;
  get(target: string, options?: RequestOptions): PortalResponse;
  post(target: string, fields: Record<string, string>, options?: RequestOptions): PortalResponse;
}

export function portalRig(overrides: Partial<PortalDeps> = {}): PortalRig {
  const updater = new ScriptedUpdater();
  const wifi = new FakeWifi({ connected: true, stationSsid: "home", stationAddress: "192.168.1.57" });
  const store = new MemoryStore();
  const system = new FakeSystem();
  const clock = new FakeClock();
  const boot = new ScriptedBoot();
  const deps: PortalDeps = { updater, boot, device: fakeDevice(), wifi, store, system, clock, portalHost: PORTAL_HOST, ...overrides };
  const portal = createPortal(deps);
  return {
    portal,
    updater,
    boot,
    wifi,
    store,
    system,
    clock,
    deps,
    get: (target, options) => portal(request("GET", target, options)),
    post: (target, fields, options) => portal(request("POST", target, { ...options, body: formBody(fields) })),
  };
}

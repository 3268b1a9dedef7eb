// Home page (app, version, partition, Wi-Fi state, menu) and GET /api/status,
// which the progress page polls to see the device come back after a restart.
import { esc, layout } from "./html";
import { htmlResponse, jsonResponse } from "./responses";
import type { PortalContext, Route } from "./router";
import { storedPassword } from "./basic-auth";
import { isActivePhase } from "./page-progress";
import { bootSection, bootStatusJson, type BootStatusJson } from "./pages-boot";
import { signingJson, signingSection, type SigningJson } from "./signing";
import { modSection, modStatusJson, type ModStatusJson } from "./pages-mods";
import { passwordFirstNotice, securityJson, securitySection, type SecurityJson } from "./security";
import { apStateText, apStatus, duration } from "./ap-status";
import type { ApStatus } from "../updater-api";
import type { WifiStatus } from "../ports";

export interface StatusJson extends BootStatusJson, ModStatusJson {
  app: string;
  version: string;
  partition: string;
  chip: number;
  /** Differs after every restart. */
  boot: string;
  /** The AP's name and address, and its lifecycle: mode, up, seconds until it closes (null: no close planned). */
  ap: { ssid: string; address: string } & ApStatus;
  /** rejoinInS (not joined): seconds until the board tries its stored networks again; null when it will not by itself. */
  station: { connected: boolean; ssid?: string; address?: string; rejoinInS?: number | null };
  update: string;
  /** Whether the board takes only signed images, and the keys' fingerprints. */
  signing: SigningJson;
  /** What guards the board: password, signatures, the access point (docs/production.md). */
  security: SecurityJson;
}

export function statusJson(context: PortalContext): StatusJson {
  const { device, wifi, updater, boot } = context.deps;
  const w = wifi.status();
  return {
    ...bootStatusJson(boot.status()),
    app: device.appName,
    version: device.appVersion,
    partition: device.runningPartition,
    chip: device.chipId,
    boot: context.bootId,
    ap: { ssid: w.apSsid, address: w.apAddress, ...apStatus(context.deps.ap, w) },
    station: w.connected ? { connected: true, ssid: w.stationSsid, address: w.stationAddress } : { connected: false, rejoinInS: rejoinInS(context, w) },
    update: updater.progress().phase,
    signing: signingJson(context.deps.signing),
    security: securityJson(context.deps),
    ...modStatusJson(context.deps.mods),
  };
}

function stationText(context: PortalContext): string {
  const w = context.deps.wifi.status();
  if (!w.connected) return `<span class=off>not connected</span>`;
  return `${esc(w.stationSsid ?? "")} <span class=meta>${esc(w.stationAddress ?? "")}</span>`;
}

/** While the station is away: seconds until the board tries its stored networks again; null when joined or none is planned. */
function rejoinInS(context: PortalContext, w: WifiStatus): number | null {
  return w.connected ? null : (context.deps.rejoin?.nextInS() ?? null);
}

function rejoinText(context: PortalContext, w: WifiStatus): string {
  const inS = rejoinInS(context, w);
  return inS === null ? "" : `<p id=station-rejoin class=meta>Trying the stored networks again in ${duration(inS)}.</p>`;
}

export function homePage(context: PortalContext): string {
  const { device, wifi, updater, store } = context.deps;
  const w = wifi.status();
  const phase = updater.progress().phase;
  const running = isActivePhase(phase) ? `<section><p>An update is running. <a href="/progress">Show progress</a></p></section>` : "";
  const body =
    running +
    passwordFirstNotice(context.deps) +
    "<section><dl>" +
    `<dt>App</dt><dd id=app>${esc(device.appName)}</dd>` +
    `<dt>Version</dt><dd id=version>${esc(device.appVersion)}</dd>` +
    `<dt>Partition</dt><dd id=partition>${esc(device.runningPartition)}</dd>` +
    "</dl></section>" +
    bootSection(context) +
    modSection(context) +
    signingSection(context.deps.signing) +
    securitySection(context.deps) +
    "<section><h2>Wi-Fi</h2><dl>" +
    `<dt>Access point</dt><dd id=ap>${esc(w.apSsid)} <span class=meta>${esc(w.apAddress)}</span></dd>` +
    `<dt>Station</dt><dd id=station>${stationText(context)}</dd>` +
    `</dl>${rejoinText(context, w)}<p id=ap-state>${esc(apStateText(apStatus(context.deps.ap, w)))}</p></section><nav>` +
    `<a id=menu-wifi href="/wifi">Wi-Fi</a><a id=menu-update href="/update">UPDATE</a>` +
    `<a id=menu-password class=alt href="/password">Portal password${storedPassword(store) ? " (set)" : ""}</a>` +
    "</nav>";
  return layout("Status", body, { appName: device.appName });
}

export const homeRoutes: Route[] = [
  { path: "/", get: (c) => htmlResponse(homePage(c)), guarded: false },
  { path: "/api/status", get: (c) => jsonResponse(statusJson(c)), guarded: false },
];

// Wi-Fi page: scan list, connect form, stored credentials; and its JSON API.
// Opening the page starts a scan; the page script polls GET /api/scan and
// reloads with ?cached=1 when it is done, so the list is rendered (escaped) here.
import type { WifiNetwork } from "../ports";
import { esc, jsonForScript, layout } from "./html";
import { encodeComponent } from "./form";
import { htmlResponse, jsonResponse } from "./responses";
import type { PortalContext, Route } from "./router";
import { loadCredentials, rememberCredential, forgetCredential } from "./wifi-credentials";
import { isActivePhase } from "./page-progress";

const SCAN_SCRIPT =
  "(function(){function p(){fetch('/api/scan',{cache:'no-store'}).then(function(r){return r.json()})" +
  ".then(function(j){if(j.state==='scanning')setTimeout(p,1000);else location.replace('/wifi?cached=1')}," +
  "function(){setTimeout(p,2000)})}setTimeout(p,1000)})()";

// After a connect: watch /api/status until the station is on that network (or give up after 30 polls).
const JOIN_SCRIPT =
  "(function(){var S=__SSID__,n=0,st=document.getElementById('station'),m=document.getElementById('message');" +
  "function next(){if(++n<30)setTimeout(p,1000);else{m.className='error';m.textContent='Not connected to '+S+' yet: check the password, or move the board closer.'}}" +
  "function p(){fetch('/api/status',{cache:'no-store'}).then(function(r){return r.json()}).then(function(j){var s=j.station;" +
  "if(s.connected&&s.ssid===S){st.textContent=s.ssid+' '+s.address;m.textContent='Connected to '+S+' as '+s.address+'.'}else next()},next)}" +
  "setTimeout(p,1000)})()";

/** Signal as bars people recognise from phones. */
function bars(rssi: number): string {
  return rssi >= -55 ? "▂▄▆█" : rssi >= -67 ? "▂▄▆" : rssi >= -78 ? "▂▄" : "▂";
}

function networkRow(n: WifiNetwork): string {
  return (
    `<li><a class="btn alt net" href="/wifi?cached=1&amp;ssid=${esc(encodeComponent(n.ssid))}">` +
    `${esc(n.ssid)} <span class=meta>${bars(n.rssi)} ${esc(n.rssi)} dBm${n.secure ? " 🔒" : ""}</span></a></li>`
  );
}

function scanSection(context: PortalContext): string {
  const s = context.scanner.state();
  if (s.state === "idle" && isActivePhase(context.deps.updater.progress().phase)) return `<p id=scan-status>No scan while an update runs (the radio would leave the channel).</p>`;
  if (s.state === "scanning") return `<p id=scan-status>Scanning…</p>`;
  if (s.state === "idle") return `<p id=scan-status>Not scanned yet.</p><a class="btn alt" href="/wifi">Scan</a>`;
  if (s.networks.length === 0) return `<p id=scan-status>No networks found.</p><a class="btn alt" href="/wifi">Scan again</a>`;
  return `<ul class=list id=networks>${s.networks.map(networkRow).join("")}</ul><a class="btn alt" href="/wifi">Scan again</a>`;
}

function storedSection(context: PortalContext): string {
  const list = loadCredentials(context.deps.store);
  if (list.length === 0) return `<p class=meta>None stored.</p>`;
  return (
    "<ul class=list id=stored>" +
    list
      .map(
        (c) =>
          `<li><span class=name>${esc(c.ssid)}</span>` +
          `<form method=post action="/wifi/connect"><input type=hidden name=ssid value="${esc(c.ssid)}"><input type=hidden name=stored value=1>` +
          `<button>Connect</button><button class=alt formaction="/wifi/forget">Forget</button></form></li>`,
      )
      .join("") +
    "</ul>"
  );
}

export function wifiPage(context: PortalContext, error?: string, message?: string, joining?: string): string {
  const { device, wifi } = context.deps;
  const w = wifi.status();
  const pick = context.query.get("ssid") ?? context.form.get("ssid") ?? "";
  const scanning = context.scanner.state().state === "scanning";
  const body =
    `<p id=error>${esc(error ?? "")}</p>` +
    (message ? `<p id=message class=ok>${esc(message)}</p>` : "") +
    `<section><h2>Station</h2><p id=station>${w.connected ? `${esc(w.stationSsid ?? "")} <span class=meta>${esc(w.stationAddress ?? "")}</span>` : "<span class=off>not connected</span>"}</p></section>` +
    `<section><h2>Networks</h2>${scanSection(context)}</section>` +
    `<section><h2>Connect</h2><form id=connect-form method=post action="/wifi/connect">` +
    `<label for=ssid>Network (SSID)</label><input type=text id=ssid name=ssid maxlength=32 value="${esc(pick)}" autocapitalize=off>` +
    `<label for=password>Password</label><input type=password id=password name=password maxlength=64>` +
    `<button id=connect-btn>Connect</button></form></section>` +
    `<section><h2>Stored networks</h2>${storedSection(context)}</section>`;
  return layout("Wi-Fi", body, {
    appName: device.appName,
    script: (scanning ? SCAN_SCRIPT + ";" : "") + (joining !== undefined ? JOIN_SCRIPT.split("__SSID__").join(jsonForScript(joining)) : "") || undefined,
    head: scanning ? `<noscript><meta http-equiv=refresh content="4;url=/wifi?cached=1"></noscript>` : undefined,
  });
}

function connect(context: PortalContext): ReturnType<typeof htmlResponse> {
  const { store, wifi } = context.deps;
  const ssid = context.form.get("ssid") ?? "";
  let password = context.form.get("password") ?? "";
  if (context.form.get("stored") === "1") {
    const known = loadCredentials(store).find((c) => c.ssid === ssid);
    if (!known) return htmlResponse(wifiPage(context, "That network is not stored."), 400);
    password = known.password;
  }
  const error = rememberCredential(store, { ssid, password });
  if (error) return htmlResponse(wifiPage(context, error), 400);
  context.deps.networksChanged?.();
  wifi.connect(ssid, password);
  return htmlResponse(wifiPage(context, undefined, `Joining ${ssid}…`, ssid));
}

export const wifiRoutes: Route[] = [
  {
    path: "/wifi",
    get: (c) => {
      if (c.query.get("cached") !== "1" && !isActivePhase(c.deps.updater.progress().phase)) c.scanner.start();
      return htmlResponse(wifiPage(c));
    },
    guarded: true,
    lock: "setup",
  },
  { path: "/wifi/connect", post: connect, guarded: true, lock: "setup" },
  {
    path: "/wifi/forget",
    post: (c) => {
      const ssid = c.form.get("ssid") ?? "";
      const gone = forgetCredential(c.deps.store, ssid);
      if (gone) c.deps.networksChanged?.();
      return htmlResponse(gone ? wifiPage(c, undefined, `Forgot ${ssid}.`) : wifiPage(c, "That network is not stored."), gone ? 200 : 404);
    },
    guarded: true,
    lock: "setup",
  },
  {
    path: "/api/scan",
    get: (c) => jsonResponse(c.scanner.state()),
    post: (c) => {
      if (!isActivePhase(c.deps.updater.progress().phase)) c.scanner.start();
      return jsonResponse(c.scanner.state());
    },
    guarded: true,
    lock: "setup",
  },
];

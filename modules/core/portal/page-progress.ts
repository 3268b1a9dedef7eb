// Progress page and GET /api/progress. The page's script polls about once a
// second with one request in flight (AutoConnect saw a 400 ms poll flood
// Chrome), keeps the last state through missed polls, and after "done" polls
// /api/status until a new boot answers; while that boot runs its start-up
// check it shows the time left, then either the version now running or, when
// the board came back on the old image, that the update was rolled back. For
// an app mod (Progress.kind "mod") it reads /api/status `mod` and
// `lastModUpdate` instead: the mod being checked, running, or rolled back.
import type { Progress, UpdatePhase } from "../updater-api";
import { esc, formatSize, jsonForScript, layout } from "./html";
import { htmlResponse, jsonResponse, seeOther } from "./responses";
import type { PortalContext, Route } from "./router";

/** Polling period of the page, ms. */
export const POLL_MS = 1000;
/** Failed polls in a row before the page says it is waiting for the device. */
export const MISSES_BEFORE_WAITING = 3;

const ACTIVE: readonly UpdatePhase[] = ["connecting", "checking", "downloading", "verifying"];

export function isActivePhase(phase: UpdatePhase): boolean {
  return ACTIVE.indexOf(phase) >= 0;
}

/** Words for each phase; the page script carries the same table. */
export const PHASE_TEXT: Record<UpdatePhase, string> = {
  idle: "No update running",
  connecting: "Connecting to the update server…",
  checking: "Checking the image…",
  downloading: "Downloading",
  verifying: "Verifying…",
  done: "Update complete",
  failed: "Update failed",
  cancelled: "Update cancelled",
  current: "Firmware is up to date",
};

export function percentOf(progress: Progress): number {
  return progress.total > 0 ? Math.min(100, Math.floor((progress.received * 100) / progress.total)) : 0;
}

/** The status line, e.g. "Downloading: 12 KB of 1.5 MB (1%)". */
export function statusLine(progress: Progress): string {
  const words = PHASE_TEXT[progress.phase] ?? progress.phase;
  if (progress.total > 0 && progress.phase !== "idle") return `${words}: ${formatSize(progress.received)} of ${formatSize(progress.total)} (${percentOf(progress)}%)`;
  return words;
}

export interface ProgressJson extends Progress {
  boot: string;
}

export function progressJson(context: PortalContext): ProgressJson {
  return { ...context.deps.updater.progress(), boot: context.bootId };
}

function resultText(progress: Progress): string {
  if (progress.phase === "done") return `${progress.target} successfully updated. Restarting…`;
  if (progress.phase === "current") return "The server says this firmware is current.";
  if (progress.phase === "cancelled") return "The update was cancelled; the running firmware is unchanged.";
  return "";
}

// Compact on purpose: it is sent from RAM with every progress page. Text goes in
// with textContent only, so nothing from the network becomes markup.
const SCRIPT = `(function(){var I=__INIT__,W=__WORDS__;
function $(i){return document.getElementById(i)}
var bar=$('progress'),st=$('status'),res=$('result'),err=$('error'),cf=$('cancel-form'),miss=0,mode='progress',done=false,checked=false,K=I.mod;
function size(n){return n<1024?n+' B':n<1048576?(n/1024).toFixed(1).replace(/\\.0$/,'')+' KB':(n/1048576).toFixed(1).replace(/\\.0$/,'')+' MB'}
function fill(pct){bar.value=pct;bar.setAttribute('aria-valuenow',pct)}
function show(p){var pct=p.total>0?Math.min(100,Math.floor(p.received*100/p.total)):0;fill(pct);
st.textContent=(W[p.phase]||p.phase)+(p.total>0&&p.phase!=='idle'?': '+size(p.received)+' of '+size(p.total)+' ('+pct+'%)':'')}
function end(){mode='end';if(cf)cf.hidden=true}
function handle(j){if(mode==='progress'){if(j.boot!==I.boot){mode='restart';return}show(j);if(j.kind==='mod')K=1;
if(j.phase==='done'){mode='restart';done=true;if(cf)cf.hidden=true;res.textContent=j.target+' successfully updated. Restarting…'}
else if(j.phase==='failed'){err.textContent=j.error||'Update failed';bar.className='bad';end()}
else if(j.phase==='cancelled'){res.textContent='The update was cancelled; the running firmware is unchanged.';end()}
else if(j.phase==='current'){res.textContent='The server says this firmware is current.';end()}
else if(j.phase==='idle')end();}
else if(mode==='restart'||mode==='verify'){if(j.boot!==I.boot){I.boot=j.boot;after(j)}else if(mode==='verify')after(j);
else st.textContent='Waiting for the device to restart…'}}
function after(j){var v=$('version'),c=j.validation||{},L=j.lastUpdate;if(v)v.textContent=j.version;
if(K){var m=j.mod,M=j.lastModUpdate;if(m&&m.state==='pending'){mode='verify';st.textContent='Checking the new app mod '+m.name+' '+m.version;return}end();
if(M&&(M.result==='rolled-back'||M.result==='failed')){bar.className='bad';st.textContent='Rolled back';err.textContent='App mod '+M.name+' '+M.version+(M.result==='failed'?' failed':' failed its start-up check and was rolled back')+(M.reason?': '+M.reason:'');return}
st.textContent='Device restarted';fill(100);res.textContent=m?'Now running the app mod '+m.name+' '+m.version:'No app mod runs';return}
if(c.phase==='checking'){mode='verify';checked=true;res.textContent='';st.textContent='Checking the new firmware '+j.version+': '+Math.ceil((c.remainingMs||0)/1000)+' s left'+(c.waitingFor?' (waiting for '+c.waitingFor+')':'');return}
end();
if(L&&L.result==='rolled-back'&&L.version!==j.version){bar.className='bad';st.textContent='Rolled back';err.textContent=L.version+' failed its start-up check and was rolled back; running '+j.version;return}
st.textContent='Device restarted';
// The restart may come between two polls, before "done" was seen: a new version still proves the update.
if(done||j.version!==I.version){fill(100);res.textContent='Now running '+j.app+' '+j.version+(j.version===I.version?' (same version as before)':'')+(checked?'; it passed its start-up check':'')}
else{res.textContent='';bar.className='bad';err.textContent='The device restarted before the update finished; it still runs '+j.app+' '+j.version}}
function poll(){var url=mode==='progress'?'/api/progress':'/api/status',c=window.AbortController?new AbortController():null,
t=setTimeout(function(){if(c)c.abort()},4000);
fetch(url,{cache:'no-store',signal:c?c.signal:undefined}).then(function(r){if(!r.ok)throw Error(r.status);return r.json()})
.then(function(j){clearTimeout(t);miss=0;handle(j)},function(){clearTimeout(t);miss++;
if(miss>=__MISSES__)st.textContent=mode==='progress'?'Waiting for device…':'Waiting for the device to restart…'})
.then(function(){if(mode!=='end')setTimeout(poll,__POLL__)})}
if(I.poll)setTimeout(poll,__POLL__)})()`;

export function progressPage(context: PortalContext): string {
  const { updater, device } = context.deps;
  const p = updater.progress();
  const pct = percentOf(p);
  const active = isActivePhase(p.phase);
  const polling = active || p.phase === "done";
  // mod: an app mod install, judged after the restart by /api/status `mod` and `lastModUpdate`.
  const init = { boot: context.bootId, version: device.appVersion, poll: polling, mod: p.kind === "mod" ? 1 : 0 };
  // split/join, not replace: a replacement string would expand "$'" and "$&" found in the JSON.
  const script = SCRIPT.split("__INIT__")
    .join(jsonForScript(init))
    .split("__WORDS__")
    .join(jsonForScript(PHASE_TEXT))
    .split("__MISSES__")
    .join(String(MISSES_BEFORE_WAITING))
    .split("__POLL__")
    .join(String(POLL_MS));
  const body =
    "<section>" +
    `<p id=target>${esc(p.target || "—")}</p>` +
    `<progress id=progress${p.phase === "failed" ? " class=bad" : ""} max=100 value=${pct} aria-valuenow=${pct} aria-valuemin=0 aria-valuemax=100></progress>` +
    `<p id=status>${esc(statusLine(p))}</p>` +
    `<p id=result class=ok>${esc(resultText(p))}</p>` +
    `<p id=error>${esc(p.phase === "failed" ? (p.error ?? "Update failed") : "")}</p>` +
    `<p class=meta>Running version <span id=version>${esc(device.appVersion)}</span></p>` +
    (active ? `<form id=cancel-form method=post action="/update/cancel"><button class=alt id=cancel-btn>Cancel</button></form>` : "") +
    `<a class="btn alt" href="/update">Back to UPDATE</a>` +
    "</section>";
  // Without script the page refreshes itself while there is something to watch.
  const head = polling ? `<noscript><meta http-equiv=refresh content=3></noscript>` : "";
  return layout("Update progress", body, { appName: device.appName, head, script });
}

export const progressRoutes: Route[] = [
  { path: "/progress", get: (c) => htmlResponse(progressPage(c)), guarded: true },
  { path: "/api/progress", get: (c) => jsonResponse(progressJson(c)), guarded: true },
  {
    path: "/update/cancel",
    post: (c) => {
      c.deps.updater.cancel();
      return seeOther("/progress");
    },
    guarded: true,
  },
  {
    path: "/api/cancel",
    post: (c) => {
      c.deps.updater.cancel();
      return jsonResponse(progressJson(c));
    },
    guarded: true,
  },
];

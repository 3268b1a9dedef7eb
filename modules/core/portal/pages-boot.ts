// What the home page and /api/status say about the running image (its otadata
// state, the start-up check while it runs, the last update's outcome, the
// other slot) and "Go back": POST /rollback (page) and POST /api/rollback
// (JSON) restart into the other slot's image, guarded like UPDATE.
import type { BootStatus } from "../boot/policy";
import type { OtaImageState, SlotInfo } from "../ports";
import type { UpdateResult } from "../boot/journal";
import { seconds } from "../messages";
import { esc, jsonForScript, layout } from "./html";
import { htmlResponse, jsonResponse } from "./responses";
import type { PortalContext, Route } from "./router";
import { isActivePhase } from "./page-progress";

/** The /api/status fields of the boot work (the contract tools rely on). */
export interface BootStatusJson {
  otaState: OtaImageState;
  lastUpdate: { version: string; result: UpdateResult } | null;
  previous: { partition: string; version: string | null; bootable: boolean };
  validation: { phase: BootStatus["phase"]; remainingMs?: number; waitingFor?: string; reason?: string };
}

export function bootStatusJson(status: BootStatus): BootStatusJson {
  const { lastUpdate, previous } = status;
  const validation: BootStatusJson["validation"] = { phase: status.phase };
  if (status.remainingMs !== undefined) validation.remainingMs = status.remainingMs;
  if (status.waitingFor !== undefined) validation.waitingFor = status.waitingFor;
  if (lastUpdate?.reason !== undefined) validation.reason = lastUpdate.reason;
  return {
    otaState: status.otaState,
    lastUpdate: lastUpdate ? { version: lastUpdate.version, result: lastUpdate.result } : null,
    previous: { partition: previous.partition, version: previous.app?.version ?? null, bootable: previous.bootable },
    validation,
  };
}

/** One line on the last update, e.g. "2.1.0 failed its start-up check and was rolled back; running 2.0.0". */
export function lastUpdateText(status: BootStatus): string | undefined {
  const last = status.lastUpdate;
  if (!last) return undefined;
  const running = status.running.app?.version ?? "the previous firmware";
  if (last.result === "rolled-back") return `${last.version} failed its start-up check and was rolled back; running ${running}`;
  if (last.result === "failed") return `The update to ${last.version} failed; running ${running}`;
  return `${last.version} passed its start-up check`;
}

/** A slot as the pages show it: "1.1.0 ota_1", "1.1.0 ota_1, not bootable" or "empty ota_1". */
export function slotText(slot: SlotInfo): string {
  const where = esc(slot.partition) + (slot.app && !slot.bootable ? ", not bootable" : "");
  return `${slot.app ? esc(slot.app.version) : "<span class=off>empty</span>"} <span class=meta>${where}</span>`;
}

/** Whether "Go back" can be offered now (the policy checks again when it is pressed). */
function canGoBack(context: PortalContext, status: BootStatus): boolean {
  return (
    status.previous.bootable &&
    status.previous.app !== undefined &&
    status.goBackRefused === undefined &&
    (status.phase === "idle" || status.phase === "confirmed") &&
    !isActivePhase(context.deps.updater.progress().phase)
  );
}

/** The home page's firmware section. */
export function bootSection(context: PortalContext): string {
  const status = context.deps.boot.status();
  const { previous } = status;
  let notice = "";
  if (status.phase === "checking") {
    notice =
      `<p id=boot-check>Checking the new firmware: ${esc(seconds(status.remainingMs ?? 0))} left` +
      (status.waitingFor ? ` <span class=meta>(waiting for ${esc(status.waitingFor)})</span>` : "") +
      ". It is kept once its start-up checks pass, otherwise the board goes back to the previous firmware.</p>";
  } else if (status.phase === "rolling-back") {
    notice = `<p id=boot-check class=error>The new firmware failed its start-up check; restarting into the previous one…</p>`;
  }
  const last = lastUpdateText(status);
  const lastClass = status.lastUpdate?.result === "valid" ? "ok" : "error";
  const lastLine = last ? `<p id=last-update class=${lastClass}>${esc(last)}</p>` + (status.lastUpdate?.reason && status.lastUpdate.result !== "valid" ? `<p id=last-reason class=meta>${esc(status.lastUpdate.reason)}</p>` : "") : "";
  const warn = status.bootloaderWithoutRollback
    ? `<p id=bootloader-warning class=why>This board's bootloader was flashed before rollback support: a crash before the start-up check passes will not roll back. Flash it once over USB.</p>`
    : "";
  const other = slotText(previous);
  const back =
    canGoBack(context, status) && previous.app
      ? `<form id=rollback-form method=post action="/rollback"><button class=alt id=rollback-btn>Go back to ${esc(previous.app.version)}</button></form>`
      : status.goBackRefused
        ? `<p id=rollback-refused class=meta>${esc(status.goBackRefused)}</p>`
        : "";
  return (
    (notice || lastLine || warn ? `<section id=boot>${notice}${lastLine}${warn}</section>` : "") +
    `<section><dl><dt>State</dt><dd id=ota-state>${esc(status.otaState)}</dd><dt>Other slot</dt><dd id=previous>${other}</dd></dl>${back}</section>`
  );
}

// Waits for the new boot, then says what runs. Text goes in with textContent only.
const RESTART_SCRIPT = `(function(){var I=__INIT__,n=0;function $(i){return document.getElementById(i)}
function poll(){fetch('/api/status',{cache:'no-store'}).then(function(r){if(!r.ok)throw Error(r.status);return r.json()}).then(function(j){
if(j.boot!==I.boot){$('status').textContent='Now running '+j.app+' '+j.version;$('version').textContent=j.version;return}setTimeout(poll,1000)},
function(){n++;if(n>2)$('status').textContent='Waiting for the device to restart…';setTimeout(poll,1000)})}setTimeout(poll,1000)})()`;

/** The page after Go back (or a mod's Remove / Go back): `what` is the status line, e.g. "Restarting into 2.0.0…". */
export function restartingPage(context: PortalContext, what: string, title = "Going back"): string {
  const script = RESTART_SCRIPT.split("__INIT__").join(jsonForScript({ boot: context.bootId }));
  const body = `<section><p id=status>${esc(what)}</p><p class=meta>Running version <span id=version>${esc(context.deps.device.appVersion)}</span></p><a class="btn alt" href="/">Home</a></section>`;
  return layout(title, body, { appName: context.deps.device.appName, script });
}

function goBack(context: PortalContext): { error?: string; version?: string } {
  if (isActivePhase(context.deps.updater.progress().phase)) return { error: "An update is running; cancel it first" };
  const version = context.deps.boot.status().previous.app?.version;
  const error = context.deps.boot.goBack();
  return error ? { error } : { version };
}

export const bootRoutes: Route[] = [
  {
    path: "/rollback",
    post: (c) => {
      const { error, version } = goBack(c);
      if (error) return htmlResponse(layout("Going back", `<section><p id=error>${esc(error)}</p><a class=btn href="/">Home</a></section>`, { appName: c.deps.device.appName }), 409);
      return htmlResponse(restartingPage(c, `Restarting into ${version ?? "the previous firmware"}…`));
    },
    guarded: true,
    lock: "installs",
  },
  {
    path: "/api/rollback",
    post: (c) => {
      const { error, version } = goBack(c);
      return error ? jsonResponse({ ok: false, error }, 409) : jsonResponse({ ok: true, version });
    },
    guarded: true,
    lock: "installs",
  },
];

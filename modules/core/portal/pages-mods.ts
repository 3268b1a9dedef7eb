// What the portal says about the app mod (a board whose firmware hosts mods,
// PortalDeps.mods): /api/status `mod` and `lastModUpdate`, the home page's
// section (#mod: the running mod, its state, its own status line, the last mod
// update's outcome, Go back and Remove), and the actions: POST /mod/remove and
// /mod/rollback (pages), /api/mod/remove and /api/mod/rollback (JSON), guarded
// by the portal password like their firmware twins (/rollback).
import type { ModStatus } from "../mods/mod-boot";
import type { ModOutcome } from "../mods/mod-store";
import type { ModView } from "../updater-api";
import { seconds } from "../messages";
import { esc, layout } from "./html";
import { htmlResponse, jsonResponse } from "./responses";
import type { PortalContext, Route } from "./router";
import { isActivePhase } from "./page-progress";
import { restartingPage } from "./pages-boot";

/** The /api/status fields about mods (the contract tools rely on); null on a board without mods. */
export interface ModStatusJson {
  mod: null | { name: string; version: string; state: "valid" | "pending" | "failed" | "restarting" };
  lastModUpdate: null | { name: string; version: string; result: ModOutcome["result"]; reason?: string };
}

export function modStatusJson(mods: ModView | undefined): ModStatusJson {
  const status = mods?.status();
  const mod = status?.mod ?? null;
  const last = status?.lastModUpdate;
  let lastModUpdate: ModStatusJson["lastModUpdate"] = null;
  if (last) {
    lastModUpdate = { name: last.name, version: last.version, result: last.result };
    if (last.reason !== undefined) lastModUpdate.reason = last.reason;
  }
  return { mod: mod && { name: mod.name, version: mod.version, state: mod.state }, lastModUpdate };
}

const label = (m: { name: string; version: string }) => (m.version ? `${m.name} ${m.version}` : m.name);

/** One line on the last mod update, e.g. "hello 1.1.0 failed its start-up check and was rolled back; running hello 1.0.0". */
export function lastModUpdateText(status: ModStatus): string | undefined {
  const last = status.lastModUpdate;
  if (!last) return undefined;
  const running = status.mod ? label(status.mod) : "no app mod";
  switch (last.result) {
    case "rolled-back":
      return `${label(last)} failed its start-up check and was rolled back; running ${running}`;
    case "failed":
      return `The app mod update to ${label(last)} failed; running ${running}`;
    case "removed":
      return `${label(last)} was removed`;
    default:
      return `${label(last)} passed its start-up check`;
  }
}

const STATE_TEXT: Record<NonNullable<ModStatus["mod"]>["state"], string> = {
  valid: "running",
  pending: "being checked",
  failed: "failed to start",
  restarting: "restarting",
};

/** Whether a mod action may be offered now (the manager checks again when it is pressed). */
function idle(context: PortalContext, status: ModStatus): boolean {
  const phase = context.deps.updater.progress().phase;
  return status.mod !== null && status.mod.state !== "pending" && status.mod.state !== "restarting" && !isActivePhase(phase) && phase !== "done";
}

/** The home page's app mod section (nothing on a board without mods). */
export function modSection(context: PortalContext): string {
  const mods = context.deps.mods;
  if (!mods) return "";
  const status = mods.status();
  const mod = status.mod;
  let body: string;
  if (mod) {
    const checking =
      mod.state === "pending" && status.remainingMs !== undefined
        ? `<p id=mod-check>Checking the new app mod: ${esc(seconds(status.remainingMs))} left. It is kept once its start-up checks pass, otherwise the previous one comes back.</p>`
        : "";
    const text = mods.statusText();
    body =
      `<dl><dt>Mod</dt><dd id=mod-name>${esc(mod.name)} <span class=meta>${esc(mod.version)}</span></dd>` +
      `<dt>State</dt><dd id=mod-state>${esc(STATE_TEXT[mod.state] ?? mod.state)}</dd></dl>` +
      checking +
      `<p id=mod-status>${esc(text ?? "")}</p>`;
  } else body = `<p id=mod-none class=meta>No app mod is installed.</p>`;
  const last = lastModUpdateText(status);
  const outcome = status.lastModUpdate;
  if (last && outcome) {
    body += `<p id=mod-last class=${outcome.result === "valid" || outcome.result === "removed" ? "ok" : "error"}>${esc(last)}</p>`;
    if (outcome.reason !== undefined && outcome.result !== "valid") body += `<p id=mod-reason class=meta>${esc(outcome.reason)}</p>`;
  }
  if (status.staged) body += `<p id=mod-staged class=meta>${esc(label(status.staged))} is installed and starts at the next restart.</p>`;
  if (idle(context, status)) {
    if (status.previous) body += `<form method=post action="/mod/rollback"><button class=alt id=mod-rollback>Go back to ${esc(label(status.previous))}</button></form>`;
    body += `<form method=post action="/mod/remove"><button class=alt id=mod-remove>Remove the app mod</button></form>`;
  }
  return `<section id=mod><h2>App mod</h2>${body}</section>`;
}

type Outcome = { status: number; error: string } | { what: string; answer: Record<string, unknown> };

function act(context: PortalContext, action: "remove" | "rollback"): Outcome {
  const mods = context.deps.mods;
  if (!mods) return { status: 404, error: "This board's firmware does not take app mods" };
  const phase = context.deps.updater.progress().phase;
  if (isActivePhase(phase)) return { status: 409, error: "An update is running; cancel it first" };
  if (phase === "done") return { status: 409, error: "An update is installed; the board is restarting" };
  if (action === "remove") {
    const mod = mods.status().mod;
    const error = mods.remove();
    if (error !== undefined) return { status: 409, error };
    return { what: `Restarting without ${mod ? label(mod) : "the app mod"}…`, answer: { ok: true } };
  }
  const previous = mods.status().previous;
  const error = mods.goBack();
  if (error !== undefined) return { status: 409, error };
  return { what: `Restarting into ${previous ? label(previous) : "the previous app mod"}…`, answer: previous ? { ok: true, name: previous.name, version: previous.version } : { ok: true } };
}

function page(context: PortalContext, action: "remove" | "rollback"): ReturnType<typeof htmlResponse> {
  const title = action === "remove" ? "Removing the app mod" : "Going back";
  const outcome = act(context, action);
  if ("error" in outcome) return htmlResponse(layout(title, `<section><p id=error>${esc(outcome.error)}</p><a class=btn href="/">Home</a></section>`, { appName: context.deps.device.appName }), outcome.status);
  return htmlResponse(restartingPage(context, outcome.what, title));
}

function api(context: PortalContext, action: "remove" | "rollback"): ReturnType<typeof jsonResponse> {
  const outcome = act(context, action);
  return "error" in outcome ? jsonResponse({ ok: false, error: outcome.error }, outcome.status) : jsonResponse(outcome.answer);
}

export const modRoutes: Route[] = [
  { path: "/mod/remove", post: (c) => page(c, "remove"), guarded: true, lock: "installs" },
  { path: "/api/mod/remove", post: (c) => api(c, "remove"), guarded: true, lock: "installs" },
  { path: "/mod/rollback", post: (c) => page(c, "rollback"), guarded: true, lock: "installs" },
  { path: "/api/mod/rollback", post: (c) => api(c, "rollback"), guarded: true, lock: "installs" },
];

// Drives a twin's portal over its JSON API the way the pages' scripts do, for
// tests that do not need a browser.
import type { CatalogState, Progress } from "../../modules/core/updater-api";
import type { StatusJson } from "../../modules/core/portal/pages-home";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function loadCatalog(base: string, timeoutMs = 10_000): Promise<CatalogState> {
  await fetch(new URL("/api/catalog", base), { method: "POST" });
  const until = Date.now() + timeoutMs;
  for (;;) {
    const state = (await (await fetch(new URL("/api/catalog", base))).json()) as CatalogState;
    if (state.state !== "loading" && state.state !== "idle") return state;
    if (Date.now() > until) throw new Error("catalog did not settle");
    await sleep(50);
  }
}

export async function startUpdate(base: string, name: string): Promise<{ status: number; body: { ok: boolean; error?: string } }> {
  const r = await fetch(new URL("/api/update", base), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `fw=${encodeURIComponent(name)}` });
  return { status: r.status, body: (await r.json()) as { ok: boolean; error?: string } };
}

/** Polls /api/progress until the session ends (done, failed, cancelled, current). */
export async function waitForEnd(base: string, timeoutMs = 20_000): Promise<Progress> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const p = (await (await fetch(new URL("/api/progress", base))).json()) as Progress;
    if (["done", "failed", "cancelled", "current"].includes(p.phase)) return p;
    if (Date.now() > until) throw new Error(`update still ${p.phase} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export async function status(base: string): Promise<StatusJson> {
  return (await (await fetch(new URL("/api/status", base))).json()) as StatusJson;
}

/** Polls /api/status (through restarts: failed polls are retried) until `done` says so. */
export async function waitForStatus(base: string, done: (s: StatusJson) => boolean, what: string, timeoutMs = 20_000): Promise<StatusJson> {
  const until = Date.now() + timeoutMs;
  let last: StatusJson | undefined;
  for (;;) {
    try {
      last = await status(base);
      if (done(last)) return last;
    } catch {
      // restarting: the portal is not there for a moment
    }
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms (last status ${JSON.stringify(last)})`);
    await sleep(50);
  }
}

/** Waits until the running image passed its start-up check. */
export function waitForValid(base: string, timeoutMs?: number): Promise<StatusJson> {
  return waitForStatus(base, (s) => s.otaState === "valid" && s.validation.phase !== "checking", "image confirmed", timeoutMs);
}

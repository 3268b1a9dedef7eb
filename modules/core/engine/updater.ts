// The Updater facade: settings, catalog, update sessions, advanced-updater
// check-ins and the restart after a committed update. The portal, main.ts and
// the host twin drive updates only through this.
import type { CatalogEntry, CatalogState, Progress, Updater, UpdaterDeps } from "../updater-api";
import type { TimerId } from "../ports";
import { fetchCatalog } from "./catalog-client";
import { applyFacts, fetchCatalogFacts } from "./catalog-facts";
import { checkInHeaders, parseUpdateUrl, updateResultHeaders } from "./checkin";
import { formatSize } from "../messages";
import { firmwarePath } from "./paths";
import { IDLE_PROGRESS } from "./progress";
import { UpdateSession, type SessionTarget } from "./session";
import { UploadSession } from "./upload";
import { tooLarge } from "../messages";
import { loadSettings, saveSettings } from "./settings";
import { missingSignature } from "../signature/policy";
import { SIGNATURE_HEADER } from "../signature/header";

export const DEFAULTS = { httpTimeoutMs: 8000, stallMs: 8000, maxResumes: 3, requireMd5: true, restartDelayMs: 3000, resumeDelayMs: 1000 } as const;

/** Why a catalog row cannot be installed here, known without fetching the image. */
export function entryProblem(entry: CatalogEntry, capacity: number): string | undefined {
  if (entry.size === 0) return "Empty file";
  if (entry.size > capacity) return `Too large: ${formatSize(entry.size)}, the update partition holds ${formatSize(capacity)}`;
  return undefined;
}

export function createUpdater(deps: UpdaterDeps): Updater {
  const options = deps.options ?? {};
  const stallMs = options.stallMs ?? DEFAULTS.stallMs;
  const sessionOptions = {
    chipId: deps.device.chipId,
    flashSize: deps.device.flashSize,
    chipRevision: deps.device.chipRevision,
    stallMs,
    maxResumes: options.maxResumes ?? DEFAULTS.maxResumes,
    requireMd5: options.requireMd5 ?? DEFAULTS.requireMd5,
    resumeDelayMs: DEFAULTS.resumeDelayMs,
  };
  let settings = loadSettings(deps.store, deps.defaults);
  let catalog: CatalogState = { state: "idle" };
  let catalogRequest: { cancel(): void } | undefined;
  let session: UpdateSession | UploadSession | undefined;
  let restartPending = false;
  let checkInTimer: TimerId | undefined;

  const running = () => session?.active() === true;

  const onFinish = (progress: Progress) => {
    // The device log gets every outcome: a refusal is otherwise only on /progress.
    deps.log?.(`update ${progress.target}: ${progress.phase}${progress.error ? ` (${progress.error})` : ""}`);
    if (progress.phase !== "done") return;
    restartPending = true;
    if (checkInTimer) deps.clock.clearTimeout(checkInTimer);
    deps.clock.setTimeout(() => deps.system.restart(), options.restartDelayMs ?? DEFAULTS.restartDelayMs);
  };

  /** Why no session may start now, or undefined. */
  const busy = (): string | undefined => {
    if (restartPending) return "An update is installed; the board is restarting";
    if (running()) return "An update is already running";
    return deps.boot.blocked();
  };

  const begin = (target: SessionTarget): string | undefined => {
    const refused = busy();
    if (refused) return refused;
    const download = new UpdateSession(deps, target, sessionOptions, onFinish);
    session = download;
    download.start();
    return undefined;
  };

  const updater: Updater = {
    settings: () => ({ ...settings }),

    saveSettings(input) {
      let result;
      try {
        result = saveSettings(deps.store, input);
      } catch (error) {
        return `Cannot store the settings: ${error instanceof Error ? error.message : String(error)}`;
      }
      if ("error" in result) return result.error;
      if (result.host !== settings.host || result.port !== settings.port || result.path !== settings.path) {
        // the list came from the old server: its names mean nothing on the new one
        catalogRequest?.cancel();
        catalogRequest = undefined;
        catalog = { state: "idle" };
      }
      settings = result;
      return undefined;
    },

    loadCatalog() {
      catalogRequest?.cancel();
      catalog = { state: "loading" };
      const capacity = deps.ota.capacity;
      const outcome = updateResultHeaders(deps.boot.lastUpdate());
      catalogRequest = fetchCatalog(deps, settings, { timeoutMs: stallMs, headers: outcome }, (result) => {
        catalogRequest = undefined;
        if ("error" in result) {
          catalog = { state: "error", error: result.error };
          return;
        }
        const entries = result.entries.map((e) => {
          const problem = entryProblem(e, capacity);
          return problem ? { ...e, disabled: problem } : e;
        });
        // Still "loading" until our server's chip/version list is in or has failed.
        catalogRequest = fetchCatalogFacts(deps, settings, stallMs, (facts) => {
          catalogRequest = undefined;
          catalog = { state: "ready", entries: facts ? applyFacts(entries, facts, deps.device.chipId, deps.signatures?.policy) : entries };
        }, outcome);
      });
    },

    catalog: () => catalog,

    start(name) {
      if (catalog.state !== "ready") return "Load the firmware list first";
      const entry = catalog.entries.find((e) => e.name === name);
      if (!entry) return `${name} is not in the firmware list`;
      if (entry.disabled) return entry.disabled;
      return begin({
        name,
        host: settings.host,
        port: settings.port,
        path: firmwarePath(settings.path, name),
        headers: checkInHeaders(deps.device, deps.ota.capacity, deps.boot.lastUpdate()),
        version: entry.version,
        signaturePath: `${firmwarePath(settings.path, name)}.sig`,
      });
    },

    checkIn(url) {
      const parsed = parseUpdateUrl(url);
      if ("error" in parsed) return parsed.error;
      return begin({ name: url.trim(), ...parsed, headers: checkInHeaders(deps.device, deps.ota.capacity, deps.boot.lastUpdate()), acceptNotModified: true });
    },

    upload(request) {
      const refused = busy();
      if (refused) return { ok: false, status: 409, error: refused };
      if (!Number.isSafeInteger(request.size) || request.size <= 0) return { ok: false, status: 400, error: "An upload needs its size (Content-Length) and some bytes" };
      if (request.size > deps.ota.capacity) return { ok: false, status: 413, error: tooLarge(request.size, deps.ota.capacity) };
      if (request.md5 !== undefined && !/^[0-9a-f]{32}$/.test(request.md5)) return { ok: false, status: 400, error: "x-MD5 needs 32 hex digits" };
      // An upload has nowhere else to take its signature from: refused before its body is read or anything erased.
      if (deps.signatures?.policy.required && !request.signature?.trim()) return { ok: false, status: 422, error: `${missingSignature()} (send its .sig file, base64, in ${SIGNATURE_HEADER})` };
      const upload = new UploadSession(deps, sessionOptions, { size: request.size, md5: request.md5 }, request.name, onFinish, request.signature);
      session = upload;
      return { ok: true, upload };
    },

    progress: () => (session ? session.progress() : { ...IDLE_PROGRESS }),

    cancel() {
      session?.cancel();
    },
  };

  const schedule = options.checkIn;
  if (schedule && schedule.intervalMs > 0) {
    const tick = () => {
      checkInTimer = undefined;
      if (restartPending) return;
      if (!running()) updater.checkIn(schedule.url);
      if (!restartPending) checkInTimer = deps.clock.setTimeout(tick, schedule.intervalMs);
    };
    checkInTimer = deps.clock.setTimeout(tick, schedule.intervalMs);
  }

  return updater;
}

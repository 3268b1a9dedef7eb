// The Updater facade: settings, catalog, update sessions, advanced-updater
// check-ins and the restart after a committed update. The portal, main.ts and
// the host twin drive updates only through this. With `deps.mods` (a board
// that hosts app mods) the same paths install mods: catalog `.xsa` entries,
// POST /update/mod uploads and check-in answers that are mods go through the
// ModManager's sink, a committed mod restarts with mods.stagedRestart(), and
// firmware and mod installs wait for each other's start-up verdict.
import type { CatalogEntry, CatalogState, Progress, UpdateKind, Updater, UpdaterDeps } from "../updater-api";
import type { HttpResponseHead, TimerId } from "../ports";
import type { UpdateSink } from "../mods/mod-sink";
import { fetchCatalog } from "./catalog-client";
import { applyFacts, fetchCatalogFacts } from "./catalog-facts";
import { checkInHeaders, modHeaders, parseUpdateUrl, updateResultHeaders } from "./checkin";
import { checkInAuthHeader } from "./checkin-auth";
import { WallClock, askTime, learningHttp } from "./wall-clock";
import { formatSize, modTooLarge } from "../messages";
import { ImageSink } from "./image-sink";
import { SniffSink, kindOfHeader } from "./sniff-sink";
import { isModName } from "./catalog-parser";
import { NO_MOD_HOST } from "./catalog-facts";
import { firmwarePath } from "./paths";
import { IDLE_PROGRESS } from "./progress";
import { UpdateSession, type SessionTarget } from "./session";
import { UploadSession } from "./upload";
import { tooLarge } from "../messages";
import { loadSettings, saveSettings } from "./settings";
import { missingSignature } from "../signature/policy";
import { missingModSignature } from "../mods/mod-statement";
import { SIGNATURE_HEADER } from "../signature/header";

export const DEFAULTS = { httpTimeoutMs: 8000, stallMs: 8000, maxResumes: 3, requireMd5: true, restartDelayMs: 3000, resumeDelayMs: 1000 } as const;

/** Why a catalog row cannot be installed here, known without fetching the image (`capacity`: the update slot's, or a mod slot's for a mod). */
export function entryProblem(entry: CatalogEntry, capacity: number): string | undefined {
  if (entry.size === undefined) return undefined; // a mod of unknown size: its download's Content-Length is checked before any erase
  if (entry.size === 0) return "Empty file";
  if (entry.size > capacity) return entry.kind === "mod" ? `Too large: ${modTooLarge(entry.size, capacity)}` : `Too large: ${formatSize(entry.size)}, the update partition holds ${formatSize(capacity)}`;
  return undefined;
}

/** What a catalog entry installs: its kind, else a mod by its `.xsa` name. */
export function entryKind(entry: Pick<CatalogEntry, "name" | "kind">): UpdateKind {
  return entry.kind ?? (isModName(entry.name) ? "mod" : "firmware");
}

export function createUpdater(given: UpdaterDeps): Updater {
  const options = given.options ?? {};
  const auth = options.boardAuth;
  // With credentials, every answer from an update server tells the wall clock the time.
  const wall = auth ? new WallClock(given.clock, auth.hostTime) : undefined;
  const deps: UpdaterDeps = wall ? { ...given, http: learningHttp(given.http, wall) } : given;
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

  const mods = deps.mods;
  const imageSink = () => new ImageSink(deps, sessionOptions);

  const onFinish = (progress: Progress) => {
    // The device log gets every outcome: a refusal is otherwise only on /progress.
    deps.log?.(`update ${progress.target}: ${progress.phase}${progress.error ? ` (${progress.error})` : ""}`);
    if (progress.phase !== "done") return;
    restartPending = true;
    if (checkInTimer) deps.clock.clearTimeout(checkInTimer);
    // A committed mod is switched into `xs` right before the restart (no mod code runs between).
    const restart = progress.kind === "mod" && mods ? () => mods.stagedRestart() : () => deps.system.restart();
    deps.clock.setTimeout(restart, options.restartDelayMs ?? DEFAULTS.restartDelayMs);
  };

  /** Why no session may start now, or undefined: firmware and mod installs wait for either's start-up verdict. */
  const busy = (): string | undefined => {
    if (restartPending) return "An update is installed; the board is restarting";
    if (running()) return "An update is already running";
    return deps.boot.blocked() ?? mods?.blocked();
  };

  /** The board's check-in headers, and a mod host's. */
  const deviceHeaders = () => [...checkInHeaders(deps.device, deps.ota.capacity, deps.boot.lastUpdate()), ...modHeaders(mods)];

  // Each signed check-in's time is after the last one's, as the server requires, even within one millisecond.
  let lastAuthAt = 0;
  const signCheckIn = auth && wall
    ? (headers: ReadonlyArray<readonly [string, string]>) => {
        const now = wall.now();
        if (now === undefined) {
          deps.log?.("check-in sent without board credentials: the board does not know the time (no clock set, no Date from the server)");
          return undefined;
        }
        lastAuthAt = Math.max(Math.floor(now), lastAuthAt + 1);
        return checkInAuthHeader(deps.digest, auth.secret, headers, lastAuthAt);
      }
    : undefined;
  /** A check-in whose credentials need the time, not known yet: asks the check-in's server first. */
  const learnTimeFirst = (where: { host: string; port: number }) =>
    wall && !wall.known() ? (done: () => void) => askTime(deps.http, where, done) : undefined;

  /** A check-in's answer: firmware or a mod, by its x-Ota-Kind and its first bytes. */
  const chooseSink = (head: HttpResponseHead): UpdateSink | { error: string } => {
    if (!mods) return imageSink();
    const expected = kindOfHeader(head.headers.get("x-ota-kind"));
    if (typeof expected === "object") return expected;
    return new SniffSink(imageSink(), mods.createSink(), expected);
  };

  const begin = (target: SessionTarget, sink?: UpdateSink, choose?: typeof chooseSink): string | undefined => {
    const refused = busy();
    if (refused) return refused;
    const download = new UpdateSession(deps, target, sessionOptions, onFinish, sink ?? imageSink(), choose);
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
      const outcome = [...updateResultHeaders(deps.boot.lastUpdate()), ...modHeaders(mods)];
      catalogRequest = fetchCatalog(deps, settings, { timeoutMs: stallMs, headers: outcome, mods: mods !== undefined }, (result) => {
        catalogRequest = undefined;
        if ("error" in result) {
          catalog = { state: "error", error: result.error };
          return;
        }
        const sized = (e: CatalogEntry) => {
          const problem = entryProblem(e, e.kind === "mod" && mods ? mods.capacity : capacity);
          return problem ? { ...e, disabled: e.disabled === undefined ? problem : `${problem}; ${e.disabled}` } : e;
        };
        const entries = result.entries.map(sized);
        // Still "loading" until our server's chip/version list is in or has failed.
        catalogRequest = fetchCatalogFacts(deps, settings, stallMs, (facts) => {
          catalogRequest = undefined;
          if (!facts) {
            catalog = { state: "ready", entries };
            return;
          }
          // A row our server says is a mod is sized against a mod slot, and a mod's size it gives is checked (AutoConnect's listing could not say).
          const withFacts = applyFacts(entries, facts, deps.device.chipId, deps.signatures?.policy, mods?.xs);
          const learnt = (e: CatalogEntry, i: number) => (e.kind === "mod" && entries[i].kind !== "mod") || (e.size !== undefined && entries[i].size === undefined);
          catalog = { state: "ready", entries: withFacts.map((e, i) => (learnt(e, i) && !entries[i].disabled ? sized(e) : e)) };
        }, outcome);
      });
    },

    catalog: () => catalog,

    start(name) {
      if (catalog.state !== "ready") return "Load the firmware list first";
      const entry = catalog.entries.find((e) => e.name === name);
      if (!entry) return `${name} is not in the firmware list`;
      if (entry.disabled) return entry.disabled;
      const mod = entryKind(entry) === "mod";
      if (mod && !mods) return NO_MOD_HOST;
      const target = {
        name,
        host: settings.host,
        port: settings.port,
        path: firmwarePath(settings.path, name),
        headers: deviceHeaders(),
        version: entry.version,
        signaturePath: `${firmwarePath(settings.path, name)}.sig`,
      };
      // The sink is made only once the session may start: a ModSink reads the mod state.
      const refused = busy();
      if (refused) return refused;
      return begin(target, mod && mods ? mods.createSink() : undefined);
    },

    checkIn(url) {
      const parsed = parseUpdateUrl(url);
      if ("error" in parsed) return parsed.error;
      const prepare = learnTimeFirst(parsed);
      return begin({ name: url.trim(), ...parsed, headers: deviceHeaders(), acceptNotModified: true, sign: signCheckIn, ...(prepare ? { prepare } : {}) }, undefined, mods ? chooseSink : undefined);
    },

    upload(request) {
      const mod = request.kind === "mod";
      if (mod && !mods) return { ok: false, status: 404, error: NO_MOD_HOST };
      const refused = busy();
      if (refused) return { ok: false, status: 409, error: refused };
      if (!Number.isSafeInteger(request.size) || request.size <= 0) return { ok: false, status: 400, error: "An upload needs its size (Content-Length) and some bytes" };
      if (mod && mods) {
        if (request.size > mods.capacity) return { ok: false, status: 413, error: modTooLarge(request.size, mods.capacity) };
      } else if (request.size > deps.ota.capacity) return { ok: false, status: 413, error: tooLarge(request.size, deps.ota.capacity) };
      if (request.md5 !== undefined && !/^[0-9a-f]{32}$/.test(request.md5)) return { ok: false, status: 400, error: "x-MD5 needs 32 hex digits" };
      // An upload has nowhere else to take its signature from: refused before its body is read or anything erased.
      if (deps.signatures?.policy.required && !request.signature?.trim()) return { ok: false, status: 422, error: `${mod ? missingModSignature() : missingSignature()} (send its .sig file, base64, in ${SIGNATURE_HEADER})` };
      const sink = mod && mods ? mods.createSink() : imageSink();
      const upload = new UploadSession(deps, sessionOptions, { size: request.size, md5: request.md5 }, request.name, onFinish, request.signature, sink);
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

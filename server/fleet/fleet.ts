// The fleet: the registry database, rollouts, the admin token, and the two
// points where the update server hands over to it: the advanced updater's
// firmware choice (chooseTarget, after the rules) and the end of every response
// (responseClosed: check-ins on the updater route, downloads anywhere).
// Nothing here may break a device's answer: a database failure is logged and
// the rules decide as if the fleet were off.
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from "fastify";
import { chipName } from "../../modules/core/image";
import type { CatalogRoot } from "../catalog-root";
import { parseDeviceHeaders, type DeviceRequest } from "../device-headers";
import type { Target } from "../rules";
import { AdminAuth } from "./auth";
import { BoardAuth } from "./board-auth";
import { sentFile } from "../sent-file";
import { bucketOf } from "./cohort";
import { openDb, type Db } from "./db";
import { migrate } from "./migrations";
import { parseUpdateReport, type UpdateReport } from "./outcome";
import { Registry, type CheckinRecord } from "./registry";
import { Retention } from "./retention";
import { Rollouts, type Choice } from "./rollouts";
import { isSignatureName } from "../signature-files";
import { hostText, readModHeaders, type ModHeaders } from "../mod-headers";

export const DEFAULT_CHANNEL = "stable";

export interface FleetOptions {
  /** SQLite file (or `:memory:`), or a `postgres://` URL. */
  db: string;
  /** Admin token; absent: every admin route answers 401. */
  adminToken?: string;
  /** Largest image upload, bytes. Default 16 MiB. */
  maxUploadBytes?: number;
  /** How often scheduled rollout advances are checked, ms. Default 1000. */
  tickMs?: number;
  /** How long a check-in waits for the registry before the rules answer alone, ms. Default 2000. */
  deadlineMs?: number;
  /** Board credentials (board-auth.ts): the fleet secret boards sign their check-ins with. Never printed. */
  fleetSecret?: string;
  /** With fleetSecret: a check-in without valid credentials is answered by the rules alone and not recorded. */
  requireBoardAuth?: boolean;
  /** How far a board's clock may be from the server's, ms. Default 5 minutes. */
  boardAuthWindowMs?: number;
  /** History retention (retention.ts): absent, every row is kept. */
  historyDays?: number;
  historyPerBoard?: number;
  pruneEveryMs?: number;
  pruneBatch?: number;
  now?: () => number;
}

interface Decision {
  device: DeviceRequest;
  mac: string;
  report?: UpdateReport;
  /** False when boards carry credentials and this check-in had none valid: its reports do not count. */
  trusted: boolean;
  /** Why its reports do not count toward their rollouts' halt rules, if they do not. */
  reportNotCounted?: string;
  modReportNotCounted?: string;
  image?: string;
  source?: string;
  choice?: Choice;
  /** What a mod host said (x-Ota-Mod-*), and the mod its target names (rule's or a mod rollout's). */
  mod?: ModHeaders;
  modImage?: string;
  modChoice?: Choice;
}

export function deviceMac(device: DeviceRequest): string | undefined {
  return device.staMac ?? device.baseMac ?? device.apMac;
}

function chipOf(device: DeviceRequest): string | undefined {
  if (device.chipId !== undefined) return chipName(device.chipId);
  return device.family === "esp8266" ? "ESP8266" : undefined;
}

export class Fleet {
  readonly registry: Registry;
  readonly rollouts: Rollouts;
  readonly auth: AdminAuth;
  readonly maxUploadBytes: number;
  private readonly deadlineMs: number;
  readonly boardAuth: BoardAuth | undefined;
  readonly retention: Retention;
  /** Check-ins refused credentials under requireBoardAuth: answered by the rules, never recorded. */
  private readonly unrecorded = new WeakSet<FastifyRequest>();
  private readonly decisions = new WeakMap<FastifyRequest, Decision>();
  private readonly pending = new Set<Promise<unknown>>();
  private ticker: NodeJS.Timeout | undefined;
  readonly now: () => number;

  private constructor(
    readonly db: Db,
    readonly root: CatalogRoot,
    /** The advanced updater's route, when rules are loaded. */
    readonly endpoint: string | undefined,
    log: FastifyBaseLogger,
    options: FleetOptions,
    auth: AdminAuth,
  ) {
    this.now = options.now ?? Date.now;
    this.registry = new Registry(db);
    this.rollouts = new Rollouts(db, this.now);
    this.auth = auth;
    this.boardAuth = options.fleetSecret === undefined ? undefined : new BoardAuth(options.fleetSecret, options.requireBoardAuth ?? false, options.boardAuthWindowMs);
    this.maxUploadBytes = options.maxUploadBytes ?? 16 * 1024 * 1024;
    this.deadlineMs = options.deadlineMs ?? 2000;
    const tickMs = options.tickMs ?? 1000;
    this.ticker = setInterval(() => this.track(this.rollouts.tick()).catch((error: Error) => log.error({ err: error.message }, "fleet: scheduled advance failed")), tickMs);
    this.ticker.unref();
    this.retention = new Retention(db, this.now, options);
    this.retention.start(options.pruneEveryMs ?? 60_000, (error) => log.error({ err: error.message }, "fleet: history prune failed"));
  }

  static async open(options: FleetOptions, root: CatalogRoot, endpoint: string | undefined, log: FastifyBaseLogger): Promise<Fleet> {
    const auth = new AdminAuth(options.adminToken); // refuses a short token before anything is opened
    Retention.check(options); // and bad retention settings
    if (options.fleetSecret !== undefined) new BoardAuth(options.fleetSecret, false); // and a short fleet secret
    if (options.requireBoardAuth && options.fleetSecret === undefined) throw new Error("--require-board-auth needs a fleet secret (--fleet-secret-file or OTA_FLEET_SECRET)");
    const db = await openDb(options.db);
    try {
      await migrate(db);
    } catch (error) {
      await db.close();
      throw error;
    }
    return new Fleet(db, root, endpoint, log, options, auth);
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work)).catch(() => undefined);
    return work;
  }

  /** The seam in the advanced updater (ServerContext.chooseTarget). */
  chooseTarget = async (device: DeviceRequest, ruled: Target | undefined, request: FastifyRequest): Promise<Target | undefined> => {
    const mac = deviceMac(device);
    if (!mac) return ruled;
    const report = parseUpdateReport(request.headers, device.family);
    const mod = readModHeaders(request.headers);
    // Trusted only once its credentials are checked, when boards carry them: a check-in the deadline
    // cut short is then recorded as untrusted (or, under requireBoardAuth, not at all).
    const decision: Decision = { device, mac, report, trusted: this.boardAuth === undefined, image: device.mode === "sketch" ? ruled?.firmware : ruled?.filesystem, source: ruled?.source, mod, modImage: ruled?.mod };
    this.decisions.set(request, decision);
    let timer: ReturnType<typeof setTimeout> | undefined;
    // A registry that stops answering (PostgreSQL restarting, a lock held) must not hold the board:
    // past the deadline the rules answer and the late choice is dropped.
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.deadlineMs)));
    try {
      const consulted = await Promise.race([this.consult(request, decision, ruled, mod), late]);
      if (!consulted) {
        request.log.error({ deadlineMs: this.deadlineMs }, "fleet: registry too slow, answering by the rules");
        return ruled;
      }
      if (consulted.unrecorded) return ruled;
      for (const halted of consulted.halted) request.log.warn({ rollout: halted }, "fleet: rollout halted by its failure threshold");
      if (consulted.choice) {
        decision.choice = consulted.choice;
        decision.image = consulted.choice.image;
        decision.source = consulted.choice.source;
      }
      if (consulted.modChoice) {
        decision.modChoice = consulted.modChoice;
        decision.modImage = consulted.modChoice.image;
      }
      return consulted.target;
    } catch (error) {
      request.log.error({ err: (error as Error).message }, "fleet: registry unavailable, answering by the rules");
      return ruled;
    } finally {
      clearTimeout(timer);
    }
  };

  /**
   * The registry's part of a check-in: the board's credentials, its row, its
   * reports (counted toward a rollout only when they can be true), and the
   * rollouts' choice. `unrecorded`: refused credentials under requireBoardAuth.
   */
  private async consult(request: FastifyRequest, decision: Decision, ruled: Target | undefined, mod: ModHeaders) {
    const { device, mac, report } = decision;
    const channel = ruled?.channel ?? DEFAULT_CHANNEL;
    const bucket = bucketOf(mac);
    const halted: number[] = [];
    if (this.boardAuth) {
      const credentials = await this.track(this.boardAuth.check(this.db, request.headers, mac, this.now()));
      if (credentials.ok) decision.trusted = true;
      else if (this.boardAuth.required) {
        this.unrecorded.add(request);
        request.log.info({ reason: credentials.reason }, "fleet: check-in without valid board credentials: answered by the rules, not recorded");
        return { unrecorded: true as const, target: ruled, halted };
      }
    }
    const trusted = decision.trusted;
    await this.track(
      this.registry.touch(
        {
          mac, family: device.family, channel, bucket, apMac: device.apMac, baseMac: device.baseMac, chip: chipOf(device),
          flashSize: device.chipSize, freeSpace: device.freeSpace, sketchSize: device.sketchSize, version: device.version,
          sketchMd5: device.sketchMd5, sdkVersion: device.sdkVersion, report,
          runningMod: mod.host ? mod.running : undefined, modHost: mod.host ? hostText(mod.host) : undefined, modReport: mod.report,
        },
        this.now(),
      ),
    );
    if (report) {
      const { halted: id, notCounted } = await this.track(this.rollouts.recordReport(mac, report, "firmware", trusted));
      decision.reportNotCounted = notCounted;
      if (id !== undefined) halted.push(id);
      if (notCounted) request.log.info({ result: report.result, notCounted }, "fleet: report recorded, not counted toward its rollout");
    }
    if (mod.report) {
      const { halted: id, notCounted } = await this.track(this.rollouts.recordReport(mac, mod.report, "mod", trusted));
      decision.modReportNotCounted = notCounted;
      if (id !== undefined) halted.push(id);
      if (notCounted) request.log.info({ result: mod.report.result, notCounted }, "fleet: mod report recorded, not counted toward its rollout");
    }
    if (device.mode !== "sketch") return { target: ruled, halted };
    if (device.version !== undefined) await this.track(this.rollouts.noteRunningVersion(mac, device.version, "firmware", trusted));
    let target = ruled;
    const choice = await this.track(this.rollouts.choose(channel, mac, bucket));
    if (choice) {
      const { version: _ruleVersion, ...rest } = ruled ?? { source: choice.source };
      target = { ...rest, source: choice.source, firmware: choice.image };
    }
    // Mod rollouts only for boards that host mods: no query for the others.
    let modChoice: Choice | undefined;
    if (mod.host) {
      if (mod.running) await this.track(this.rollouts.noteRunningVersion(mac, mod.running, "mod", trusted));
      modChoice = await this.track(this.rollouts.choose(channel, mac, bucket, "mod"));
      if (modChoice) target = { ...(target ?? { source: modChoice.source }), mod: modChoice.image };
    }
    return { target, halted, choice, modChoice };
  }

  /** Called once per response when its connection part is over (finished or cut). */
  responseClosed(request: FastifyRequest, reply: FastifyReply, bytesBefore: number, startedAt: number, startedMs: number): void {
    const work = this.record(request, reply, bytesBefore, startedAt, startedMs).catch((error: Error) =>
      request.log.error({ err: error.message }, "fleet: cannot record the request"),
    );
    void this.track(work);
  }

  private async record(request: FastifyRequest, reply: FastifyReply, bytesBefore: number, startedAt: number, startedMs: number): Promise<void> {
    if (this.unrecorded.has(request)) return;
    const status = reply.statusCode;
    const onUpdater = this.endpoint !== undefined && request.routeOptions.url === this.endpoint;
    // Under requireBoardAuth a check-in is recorded only once its credentials passed (not when the deadline cut the check short).
    if (onUpdater && this.boardAuth?.required && this.decisions.get(request)?.trusted !== true) return;
    // What the server decided to send (send-file.ts); a board's `<image>.sig` fetch goes with the image's download.
    const sent = sentFile(request);
    const isDownload = sent !== undefined && !isSignatureName(sent.path);
    if (!onUpdater && !isDownload) return;
    const decision = this.decisions.get(request);
    let device = decision?.device;
    if (!device) {
      const parsed = parseDeviceHeaders(request.headers);
      if (parsed.kind === "device") device = parsed.device;
    }
    const mac = decision?.mac ?? (device ? deviceMac(device) : undefined);
    const now = this.now();
    const remote = request.ip;
    const choice = decision?.choice;
    const modChoice = decision?.modChoice;
    // The advanced updater's 200 is a mod when it sent one: then it was the decision's mod.
    const sentMod = onUpdater && sent?.kind === "mod";
    let completed = false;
    if (sent && isDownload) {
      const socket = request.raw.socket;
      // bytesWritten counts what is still queued in the socket too: a response written in
      // one call (the in-memory image) would look whole when the client left half way.
      const written = (socket.bytesWritten ?? (socket as unknown as { _bytesDispatched: number })._bytesDispatched) - (socket.writableLength ?? 0) - bytesBefore;
      const head = Buffer.byteLength((reply.raw as unknown as { _header?: string })._header ?? "", "latin1");
      const bytesSent = Math.max(0, Math.min(sent.length, written - head));
      completed = reply.raw.writableFinished && bytesSent >= sent.length;
      const rollout = sentMod ? modChoice : choice;
      await this.registry.recordDownload({
        at: startedAt,
        finishedAt: now,
        mac,
        path: sent.path,
        status: sent.status,
        length: sent.length,
        rangeStart: sent.rangeStart,
        bytesSent,
        completed,
        rolloutId: rollout?.kind === "rollout" ? rollout.rolloutId : undefined,
        remote,
      });
    }
    if (!onUpdater) return;
    const answer: CheckinRecord["answer"] = status === 304 ? "current" : sentMod ? "mod" : status === 200 ? "update" : "refused";
    const mod = decision?.mod ?? (device ? readModHeaders(request.headers) : undefined);
    await this.registry.recordCheckin({
      at: startedAt,
      mac,
      family: device?.family,
      staMac: device?.staMac,
      apMac: device?.apMac,
      baseMac: device?.baseMac,
      chip: device ? chipOf(device) : undefined,
      flashSize: device?.chipSize,
      freeSpace: device?.freeSpace,
      sketchSize: device?.sketchSize,
      version: device?.version,
      sketchMd5: device?.sketchMd5,
      mode: device?.modeName,
      report: decision?.report,
      status,
      reason: reply.raw.statusMessage || undefined,
      answer,
      image: decision?.image,
      source: decision?.source,
      rolloutId: choice?.rolloutId,
      stage: choice?.stage,
      remote,
      durationMs: Math.round((performance.now() - startedMs) * 100) / 100,
      runningMod: mod?.host ? mod.running : undefined,
      modHost: mod?.host ? hostText(mod.host) : undefined,
      modReport: mod?.report,
      modImage: sentMod ? decision?.modImage : undefined,
      reportNotCounted: decision?.report ? decision.reportNotCounted : undefined,
      modReportNotCounted: mod?.report ? decision?.modReportNotCounted : undefined,
    });
    if (choice?.kind === "rollout" && mac) {
      // A mod goes out only to a board whose firmware is current.
      if (status === 200 && !sentMod) await this.rollouts.recordOffer(choice.rolloutId!, mac, choice.stage!, completed);
      else if (status === 304 || sentMod) await this.rollouts.recordRunning(choice.rolloutId!, mac, choice.stage!, decision?.trusted ?? true);
    }
    if (modChoice?.kind === "rollout" && mac) {
      if (sentMod) await this.rollouts.recordOffer(modChoice.rolloutId!, mac, modChoice.stage!, completed);
      else if (status === 304 && modChoice.version !== undefined && mod?.running === modChoice.version) await this.rollouts.recordRunning(modChoice.rolloutId!, mac, modChoice.stage!, decision?.trusted ?? true);
    }
  }

  /** Waits for recordings still being written, then closes the database. */
  async close(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    await this.retention.stop();
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    await this.db.close();
  }

  /** Resolves once every recording started so far is written (tests, benches). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

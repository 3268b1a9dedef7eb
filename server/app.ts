// buildServer(): the update server as a Fastify instance, not yet listening.
// Route groups are plugins: catalog, its chip/version list, firmware metadata, advanced updater,
// binary downloads (the catch-all, so it goes last).
import { createServer } from "node:http";
import type { Socket } from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import pino from "pino";
import { AccelStore } from "./accel";
import { BufferPool } from "./buffer-pool";
import { catalogPlugin } from "./catalog";
import { catalogApiPlugin } from "./catalog-api";
import { CatalogRoot } from "./catalog-root";
import type { ServerContext } from "./context";
import { downloadsPlugin } from "./downloads";
import { firmwareInfoPlugin } from "./firmware-info";
import { requestForLog } from "./fleet/auth";
import { Fleet } from "./fleet/fleet";
import { fleetPlugin } from "./fleet/plugin";
import { FolderCache } from "./folders";
import { ImageStore } from "./image-store";
import { DEFAULTS, type ServerOptions } from "./options";
import { installRequestTargetFix } from "./request-target";
import { refuse } from "./responses";
import { FileFinder } from "./served-file";
import { SignatureFiles } from "./signature-files";
import { logUpdateReport } from "./update-report";
import { logModReport } from "./mod-headers";
import { updaterPlugin } from "./updater";

/** "%" not starting an escape ("100%.bin" sent raw) as "%25", so the router can decode the URL; handlers read request.originalUrl. */
export function routableUrl(url: string): string {
  return url.includes("%") ? url.replace(/%(?![0-9A-Fa-f]{2})/g, "%25") : url;
}

export interface OtaServer {
  app: FastifyInstance;
  context: ServerContext;
  /** The registry, when options.fleet is set. */
  fleet?: Fleet;
}

// Returned in an object: a Fastify instance is thenable, so an async function
// returning it bare would resolve to its `ready()` result type.
export async function buildServer(options: ServerOptions): Promise<OtaServer> {
  const o = { ...DEFAULTS, ...options };
  const root = await CatalogRoot.open(o.catalogDir);
  const pool = new BufferPool(o.chunkSize, o.poolBuffers, o.poolWaitMs, o.overflowChunkSize);
  const images = new ImageStore({ maxBytes: o.memoryBytes, maxFileBytes: o.maxMemoryFileBytes, settleMs: o.settleMs });
  const logger = pino({ level: o.logLevel ?? "info", serializers: { req: requestForLog } }, o.logStream ?? process.stdout);
  const context: ServerContext = {
    root,
    images,
    files: new FileFinder(root, images),
    folders: new FolderCache(root, (error) => logger.warn({ err: error.message }, "cannot watch catalog folders: listings are not cached"), images),
    rules: o.rules,
    open: o.open ?? false,
    pool,
    accel: o.accel ? await AccelStore.open(o.accel) : undefined,
    signatures: new SignatureFiles(root, o.settleMs),
  };
  let pending: { pending: Set<Socket> } = { pending: new Set() };

  const app = Fastify({
    loggerInstance: logger,
    rewriteUrl: (req) => routableUrl(req.url ?? "/"),
    serverFactory: (handler) => {
      const server = createServer(
        {
          maxHeaderSize: o.maxHeaderSize,
          headersTimeout: o.headersTimeoutMs,
          requestTimeout: o.requestTimeoutMs,
          keepAliveTimeout: o.keepAliveTimeoutMs,
          connectionsCheckingInterval: o.timeoutCheckIntervalMs,
        },
        handler,
      );
      server.timeout = o.idleTimeoutMs;
      pending = installRequestTargetFix(server, { firstBytesTimeoutMs: o.headersTimeoutMs });
      return server;
    },
    // Malformed URLs: Fastify's default answer quotes the URL back; ours does not.
    frameworkErrors: (error, request, reply) => {
      request.log.info({ code: error.code }, "bad request");
      void refuse(reply, 400, "Bad Request");
    },
    return503OnClosing: true,
  });

  app.setNotFoundHandler((request, reply) => refuse(reply, 404, "Not Found"));
  app.setErrorHandler((error: { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, "request failed");
    else request.log.info({ code: error.code }, "request refused");
    return refuse(reply, status, status === 500 ? "Internal Server Error" : "Bad Request");
  });
  // Connections still waiting for their first request line hold no request:
  // close them so shutdown does not wait for the first-bytes timeout.
  app.addHook("preClose", async () => {
    for (const socket of pending.pending) socket.destroy();
  });
  app.addHook("onClose", async () => context.folders.close());
  // Boards' reports of their last update (check-ins, catalog requests): logged, never refused.
  app.addHook("onRequest", (request, _reply, done) => {
    logUpdateReport(request.headers, request.log);
    logModReport(request.headers, request.log);
    done();
  });

  // The fleet registry first: its recording hook must see every route.
  let fleet: Fleet | undefined;
  if (o.fleet) {
    fleet = await Fleet.open(o.fleet, root, o.rules?.endpoint, app.log);
    context.chooseTarget = fleet.chooseTarget;
    await app.register(fleetPlugin, { fleet });
  }
  await app.register(catalogPlugin, { context });
  await app.register(catalogApiPlugin, { context });
  await app.register(firmwareInfoPlugin, { context });
  await app.register(updaterPlugin, { context });
  await app.register(downloadsPlugin, { context });
  return { app: app as unknown as FastifyInstance, context, fleet };
}

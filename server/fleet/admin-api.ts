// The admin JSON API, behind the admin token (auth.ts): the registry
// (GET /api/devices, GET /api/devices/:mac/history), rollouts (GET
// /api/rollouts, POST to create, advance, halt, resume) and image upload
// (PUT /api/images/<name>, the body is the image). Scripts send
// `Authorization: Bearer <token>`; the dashboard's pages use its cookie.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { normalizeMac } from "../device-headers";
import { unauthorized } from "./auth";
import type { Fleet } from "./fleet";
import { catalogBins, catalogImage, receiveImage } from "./images";
import { FleetError, type RolloutSpec } from "./rollouts";

export function requireAdmin(fleet: Fleet) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const outcome = fleet.auth.check(request);
    if (!outcome.ok) return unauthorized(reply, outcome.reason);
  };
}

/** Answers FleetErrors with their status and message; schema failures with 400. */
export function fleetErrors(error: Error & { statusCode?: number; validation?: unknown }, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof FleetError) return reply.code(error.status).type("application/json").send({ error: error.message });
  if (error.validation || (error.statusCode !== undefined && error.statusCode < 500))
    return reply.code(error.statusCode ?? 400).type("application/json").send({ error: error.message });
  request.log.error({ err: error.message }, "admin request failed");
  return reply.code(500).type("application/json").send({ error: "Internal Server Error" });
}

/** Creates a rollout after reading the image's facts from the catalog; a .xsa makes it a mod rollout (docs/mods.md). */
export async function createRollout(fleet: Fleet, spec: RolloutSpec) {
  const image = await catalogImage(fleet.root, spec.image);
  return fleet.rollouts.create({ ...spec, image: image.path }, image.version ?? undefined, image.family === "mod" ? "mod" : "firmware");
}

// Text that reaches the database: PostgreSQL refuses a NUL in TEXT (a 500), and no
// channel, image or reason has control characters; refused alike on both engines.
const NO_CONTROL = "^[^\\u0000-\\u001f\\u007f]*$";
const idParams = { type: "object", required: ["id"], properties: { id: { type: "integer", minimum: 1 } } } as const;
const limit = { type: "integer", minimum: 1, maximum: 10_000 } as const;

export const adminApiPlugin: FastifyPluginAsync<{ fleet: Fleet }> = async (app, { fleet }) => {
  app.addHook("onRequest", requireAdmin(fleet));
  app.setErrorHandler(fleetErrors);

  app.get<{ Querystring: { channel?: string; limit?: number } }>(
    "/api/devices",
    { schema: { querystring: { type: "object", additionalProperties: false, properties: { channel: { type: "string", maxLength: 32, pattern: NO_CONTROL }, limit } } } },
    async (request) => {
      const devices = await fleet.registry.devices(request.query);
      return { total: await fleet.registry.count(), devices };
    },
  );

  app.get<{ Params: { mac: string }; Querystring: { limit?: number } }>(
    "/api/devices/:mac/history",
    { schema: { querystring: { type: "object", additionalProperties: false, properties: { limit } } } },
    async (request) => {
      const mac = normalizeMac(request.params.mac);
      if (!mac) throw new FleetError(400, "not a MAC address");
      // A board that only downloads (AutoConnect's catalog) has history but no registry row.
      const device = (await fleet.registry.device(mac)) ?? null;
      const history = await fleet.registry.history(mac, request.query.limit ?? 100);
      if (!device && history.checkins.length === 0 && history.downloads.length === 0) throw new FleetError(404, `no device ${mac}`);
      return { mac, device, ...history };
    },
  );

  app.get("/api/rollouts", async () => ({ rollouts: await fleet.rollouts.list() }));

  app.get<{ Params: { id: number } }>("/api/rollouts/:id", { schema: { params: idParams } }, async (request) => fleet.rollouts.get(request.params.id));

  app.post<{ Body: RolloutSpec }>(
    "/api/rollouts",
    {
      schema: {
        body: {
          type: "object",
          additionalProperties: false,
          required: ["channel", "image"],
          properties: {
            channel: { type: "string", pattern: NO_CONTROL },
            image: { type: "string", maxLength: 512, pattern: NO_CONTROL },
            stages: { type: "array", items: { type: "integer" }, maxItems: 10 },
            threshold: { type: "number" },
            minOutcomes: { type: "integer" },
            advanceEveryMs: { type: ["integer", "null"] },
          },
        },
      },
    },
    async (request, reply) => reply.code(201).send(await createRollout(fleet, request.body)),
  );

  // Optional `stage`: the stage the caller saw (1-based); advancing from any other answers 409, so two admins advance once.
  app.post<{ Params: { id: number }; Body: { stage?: number } | undefined }>(
    "/api/rollouts/:id/advance",
    { schema: { params: idParams, body: { type: ["object", "null"], additionalProperties: false, properties: { stage: { type: "integer", minimum: 1, maximum: 10 } } } } },
    async (request) => fleet.rollouts.advance(request.params.id, "by hand", { stage: request.body?.stage }),
  );
  app.post<{ Params: { id: number }; Body: { reason?: string } | undefined }>(
    "/api/rollouts/:id/halt",
    { schema: { params: idParams, body: { type: ["object", "null"], properties: { reason: { type: "string", maxLength: 200, pattern: NO_CONTROL } } } } },
    async (request) => fleet.rollouts.halt(request.params.id, request.body?.reason ? `halted by hand: ${request.body.reason}` : undefined),
  );
  app.post<{ Params: { id: number } }>("/api/rollouts/:id/resume", { schema: { params: idParams } }, async (request) =>
    fleet.rollouts.resume(request.params.id),
  );

  app.get("/api/images", async () => {
    const images = [];
    for (const path of await catalogBins(fleet.root)) images.push(await catalogImage(fleet.root, path).catch((e: Error) => ({ path, error: e.message })));
    return { images };
  });

  // The body is the image itself, streamed to disk: no parser may buffer it.
  await app.register(async (upload) => {
    upload.removeAllContentTypeParsers();
    upload.addContentTypeParser("*", (_request, payload, done) => done(null, payload));
    upload.put<{ Params: { "*": string }; Querystring: { overwrite?: string } }>(
      "/api/images/*",
      { schema: { querystring: { type: "object", additionalProperties: false, properties: { overwrite: { type: "string", enum: ["0", "1"] } } } } },
      async (request, reply) => {
        const length = request.headers["content-length"];
        const md5 = request.headers["x-md5"];
        let image;
        try {
          image = await receiveImage(fleet.root, fleet.db, request.params["*"], request.raw, {
            maxBytes: fleet.maxUploadBytes,
            overwrite: request.query.overwrite === "1",
            declaredLength: length === undefined ? undefined : Number(length),
            expectedMd5: typeof md5 === "string" ? md5.trim() : undefined,
          });
        } catch (error) {
          // The rest of the body may still be on its way: end the connection with the answer.
          reply.header("connection", "close");
          throw error;
        }
        request.log.info({ image: image.path, size: image.size, version: image.version }, "fleet: image uploaded");
        return reply.code(201).send(image);
      },
    );
  });
};

// The fleet as a Fastify plugin. At the root (fastify-plugin, so its hook sees
// every route): one onRequest hook notes where the response starts on its
// socket and, when the response closes, hands it to the fleet to record
// (check-ins on the updater route, downloads anywhere). In its own
// encapsulated scope: cookies, the admin JSON API and the dashboard, so device
// routes are untouched by either.
import cookie from "@fastify/cookie";
import type { FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import { adminApiPlugin } from "./admin-api";
import { dashboardPlugin } from "./dashboard";
import type { Fleet } from "./fleet";

const recorder: FastifyPluginAsync<{ fleet: Fleet }> = async (app, { fleet }) => {
  app.addHook("onRequest", (request, reply, done) => {
    const socket = request.raw.socket;
    const bytesBefore = socket.bytesWritten ?? 0;
    const startedAt = fleet.now();
    const startedMs = performance.now();
    reply.raw.once("close", () => fleet.responseClosed(request, reply, bytesBefore, startedAt, startedMs));
    done();
  });
  app.addHook("onClose", async () => fleet.close());
};

export const fleetPlugin = fp<{ fleet: Fleet }>(async (app, options) => {
  await app.register(fp(recorder), options);
  await app.register(async (admin) => {
    await admin.register(cookie);
    await admin.register(adminApiPlugin, options);
    await admin.register(dashboardPlugin, options);
  });
});

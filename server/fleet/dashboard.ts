// /dashboard: the fleet in a browser. Without a session every page answers
// 401 with the sign-in form; signing in with the admin token sets an HttpOnly,
// SameSite=Strict cookie (auth.ts). Actions are plain form posts answered with
// a redirect back (303), so the pages work without script; uploads use the
// JSON API with the same cookie.
import formbody from "@fastify/formbody";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { normalizeMac } from "../device-headers";
import { createRollout } from "./admin-api";
import { SESSION_COOKIE, SESSION_MAX_AGE_S } from "./auth";
import { devicePage, loginPage, overviewPage } from "./dashboard-pages";
import type { Fleet } from "./fleet";
import { catalogBins, catalogImage } from "./images";
import { FleetError } from "./rollouts";

type Form = Record<string, string | undefined>;

function html(reply: FastifyReply, body: string, status = 200): FastifyReply {
  return reply.code(status).type("text/html; charset=utf-8").header("cache-control", "no-store").header("x-frame-options", "DENY").send(body);
}

function back(reply: FastifyReply, message: { error?: string; note?: string }): FastifyReply {
  const q = new URLSearchParams(message as Record<string, string>).toString();
  return reply.redirect(`/dashboard${q ? `?${q}` : ""}`, 303);
}

/** The new-rollout form's fields as a RolloutSpec (percent and seconds as people type them). */
export function rolloutFromForm(form: Form) {
  const stages = (form.stages ?? "").split(/[\s,/]+/).filter(Boolean).map(Number);
  const threshold = Number(form.threshold ?? "20") / 100;
  const every = (form.advanceEvery ?? "").trim();
  return {
    channel: (form.channel ?? "").trim(),
    image: (form.image ?? "").trim(),
    stages,
    threshold,
    minOutcomes: Number(form.minOutcomes ?? "3"),
    advanceEveryMs: every === "" ? null : Math.round(Number(every) * 1000),
  };
}

export const dashboardPlugin: FastifyPluginAsync<{ fleet: Fleet }> = async (app, { fleet }) => {
  await app.register(formbody, { bodyLimit: 4096 });

  const signedIn = (request: FastifyRequest) => fleet.auth.check(request).ok;
  const gate = async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.url.startsWith("/dashboard/login")) return;
    const outcome = fleet.auth.check(request);
    if (outcome.ok) return;
    if (request.method === "GET" || request.method === "HEAD") return html(reply, loginPage(fleet.auth.enabled ? undefined : outcome.reason), 401);
    reply.raw.statusMessage = "Unauthorized";
    return html(reply, loginPage(outcome.reason), 401);
  };
  app.addHook("onRequest", gate);

  app.get("/dashboard/login", async (request, reply) => (signedIn(request) ? reply.redirect("/dashboard", 303) : html(reply, loginPage(), 401)));

  app.post<{ Body: Form }>("/dashboard/login", async (request, reply) => {
    const token = typeof request.body?.token === "string" ? request.body.token : "";
    if (!fleet.auth.enabled) return html(reply, loginPage("The admin surface is off: start ota-server with --admin-token"), 401);
    if (!fleet.auth.accepts(token)) {
      request.log.info("dashboard: sign-in refused");
      return html(reply, loginPage("Wrong token"), 401);
    }
    reply.header("set-cookie", `${SESSION_COOKIE}=${fleet.auth.session()}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MAX_AGE_S}`);
    return reply.redirect("/dashboard", 303);
  });

  app.post("/dashboard/logout", async (request, reply) => {
    fleet.auth.signOut(request.cookies?.[SESSION_COOKIE]);
    reply.header("set-cookie", `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    return reply.redirect("/dashboard", 303);
  });

  app.get<{ Querystring: { error?: string; note?: string } }>("/dashboard", async (request, reply) => {
    const [devices, total, rollouts, bins] = await Promise.all([fleet.registry.devices({ limit: 500 }), fleet.registry.count(), fleet.rollouts.list(20), catalogBins(fleet.root)]);
    const images = [];
    for (const path of bins) {
      const info = await catalogImage(fleet.root, path).catch(() => undefined);
      if (info) images.push({ path, version: info.version });
    }
    const channels = [...new Set(["stable", "beta", ...devices.map((d) => d.channel)])];
    // Boards whose last update failed first, then by MAC: a stable order to scan.
    const failedFirst = (d: { lastResult: string | null }) => (d.lastResult === "rolled-back" || d.lastResult === "failed" ? 0 : 1);
    devices.sort((a, b) => failedFirst(a) - failedFirst(b) || a.mac.localeCompare(b.mac));
    const error = typeof request.query.error === "string" ? request.query.error.slice(0, 300) : undefined;
    const note = typeof request.query.note === "string" ? request.query.note.slice(0, 300) : undefined;
    return html(reply, overviewPage({ now: fleet.now(), devices, total, rollouts, images, channels, error, note, maxUploadBytes: fleet.maxUploadBytes }));
  });

  app.get<{ Params: { mac: string } }>("/dashboard/devices/:mac", async (request, reply) => {
    const mac = normalizeMac(request.params.mac);
    const device = mac ? await fleet.registry.device(mac) : undefined;
    if (!mac || !device) return back(reply, { error: `No device ${request.params.mac.slice(0, 40)}` });
    return html(reply, devicePage(device, await fleet.registry.history(mac, 100), fleet.now()));
  });

  const act = async (reply: FastifyReply, work: () => Promise<{ id: number }>, done: (id: number) => string) => {
    try {
      const r = await work();
      return back(reply, { note: done(r.id) });
    } catch (error) {
      if (error instanceof FleetError) return back(reply, { error: error.message });
      throw error;
    }
  };

  app.post<{ Body: Form }>("/dashboard/rollouts", async (request, reply) =>
    act(reply, () => createRollout(fleet, rolloutFromForm(request.body ?? {})), (id) => `Rollout ${id} started`),
  );
  app.post<{ Params: { id: string; action: string } }>("/dashboard/rollouts/:id/:action", async (request, reply) => {
    const id = Number(request.params.id);
    const { action } = request.params;
    if (!Number.isInteger(id) || id < 1) return back(reply, { error: "No such rollout" });
    if (action === "advance") return act(reply, () => fleet.rollouts.advance(id), (n) => `Rollout ${n} advanced`);
    if (action === "halt") return act(reply, () => fleet.rollouts.halt(id), (n) => `Rollout ${n} halted`);
    if (action === "resume") return act(reply, () => fleet.rollouts.resume(id), (n) => `Rollout ${n} resumed`);
    return back(reply, { error: `Unknown action ${action.slice(0, 20)}` });
  });
};

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
import { fleetPicture, searchDevices, type DeviceFilter } from "./device-search";
import type { Fleet } from "./fleet";
import { catalogBins, catalogImage } from "./images";
import { FleetError } from "./rollouts";

type Form = Record<string, string | undefined>;

interface OverviewQuery {
  error?: string;
  note?: string;
  mac?: string;
  version?: string;
  channel?: string;
  result?: string;
  page?: number;
}

// Search values go to SQL only as parameters; PostgreSQL refuses a NUL in text, so none may get that far.
const searchText = (max: number) => ({ type: "string", maxLength: max, pattern: "^[^\\u0000]*$" }) as const;
const overviewQuery = {
  type: "object",
  properties: {
    error: { type: "string" },
    note: { type: "string" },
    mac: searchText(64),
    version: searchText(64),
    channel: searchText(32),
    result: searchText(16),
    page: { type: "integer", minimum: 1, maximum: 1_000_000 },
  },
} as const;

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

  app.get<{ Querystring: OverviewQuery }>("/dashboard", { schema: { querystring: overviewQuery } }, async (request, reply) => {
    const q = request.query;
    // An empty field of the search form is no filter.
    const given = (v: string | undefined) => (v === undefined || v.trim() === "" ? undefined : v.trim());
    const filter: DeviceFilter = { mac: given(q.mac), version: given(q.version), channel: given(q.channel), result: given(q.result) };
    const [devices, picture, rollouts, bins] = await Promise.all([
      searchDevices(fleet.db, filter, q.page ?? 1),
      fleetPicture(fleet.db),
      fleet.rollouts.list(20),
      catalogBins(fleet.root),
    ]);
    const images = [];
    for (const path of bins) {
      const info = await catalogImage(fleet.root, path).catch(() => undefined);
      if (info) images.push({ path, version: info.version });
    }
    const channels = [...new Set(["stable", "beta", ...picture.channels])];
    const error = typeof q.error === "string" ? q.error.slice(0, 300) : undefined;
    const note = typeof q.note === "string" ? q.note.slice(0, 300) : undefined;
    return html(reply, overviewPage({ now: fleet.now(), devices, filter, picture, rollouts, images, channels, error, note, maxUploadBytes: fleet.maxUploadBytes }));
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
  app.post<{ Params: { id: string; action: string }; Body: Form | undefined }>("/dashboard/rollouts/:id/:action", async (request, reply) => {
    const id = Number(request.params.id);
    const { action } = request.params;
    if (!Number.isInteger(id) || id < 1) return back(reply, { error: "No such rollout" });
    // The page's Advance button names the stage it showed: a second press (or a second admin) is refused.
    const seen = Number(request.body?.stage);
    const stage = Number.isInteger(seen) && seen >= 1 ? seen : undefined;
    if (action === "advance") return act(reply, () => fleet.rollouts.advance(id, "by hand", { stage }), (n) => `Rollout ${n} advanced`);
    if (action === "halt") return act(reply, () => fleet.rollouts.halt(id), (n) => `Rollout ${n} halted`);
    if (action === "resume") return act(reply, () => fleet.rollouts.resume(id), (n) => `Rollout ${n} resumed`);
    return back(reply, { error: `Unknown action ${action.slice(0, 20)}` });
  });
};

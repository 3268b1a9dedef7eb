// Shared by the fleet tests: a real server with the registry on a fresh
// database of the given backend, check-ins as a board sends them (the ESP32
// core's headers, any MAC, optional update report), and the admin API.
import { writeFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { checkInAuthHeader } from "../../../modules/core/engine/checkin-auth";
import type { FleetOptions } from "../../../server/fleet/fleet";
import { parseRules } from "../../../server/rules";
import { nobleDigest } from "../../fakes/digest";
import type { Backend, FreshDb } from "../../support/databases";
import { esp32Headers, rawRequest, requestText, start, type RawResponse, type Running } from "../helpers";

export const TOKEN = "test-admin-token-0123456789abcdef";

export interface FleetServer extends Running {
  db: FreshDb;
  api<T = unknown>(path: string, init?: { method?: string; body?: unknown; token?: string | null; headers?: Record<string, string> }): Promise<{ status: number; body: T }>;
  checkIn(mac: string, options?: CheckInOptions): Promise<RawResponse>;
  stop(): Promise<void>;
}

export interface CheckInOptions {
  version?: string;
  md5?: string;
  result?: string;
  resultVersion?: string;
  /** Header names exactly as sent. */
  extra?: Record<string, string>;
  /** Sign the check-in with this fleet secret (x-Ota-Auth, the core's checkin-auth.ts). */
  secret?: string;
  /** false: return with the response, without waiting for the registry's writes (a test holding a lock on it). */
  settle?: boolean;
}

let lastSignedAt = 0;

export async function startFleetServer(
  backend: Backend,
  options: {
    rules?: string; token?: string | null; files?: Record<string, Uint8Array>; tickMs?: number; logLevel?: "info" | "debug" | "trace"; now?: () => number; maxUploadBytes?: number; deadlineMs?: number;
    fleet?: Partial<FleetOptions>;
  } = {},
): Promise<FleetServer> {
  const db = await backend.fresh();
  const rules = options.rules === undefined ? undefined : parseRules(options.rules, "yaml");
  const token = options.token === null ? undefined : (options.token ?? TOKEN);
  const server = await start({ rules, logLevel: options.logLevel ?? "info", fleet: { db: db.url, adminToken: token, tickMs: options.tickMs, now: options.now, maxUploadBytes: options.maxUploadBytes, deadlineMs: options.deadlineMs, ...options.fleet } });
  for (const [name, bytes] of Object.entries(options.files ?? {})) {
    await mkdir(dirname(join(server.dir, name)), { recursive: true });
    await writeFile(join(server.dir, name), bytes);
  }
  const base = `http://127.0.0.1:${server.port}`;
  return {
    ...server,
    db,
    async api<T>(path: string, init: { method?: string; body?: unknown; token?: string | null; headers?: Record<string, string> } = {}) {
      const headers: Record<string, string> = { ...init.headers };
      if (init.token !== null) headers.authorization = `Bearer ${init.token ?? TOKEN}`;
      if (init.body !== undefined) headers["content-type"] = "application/json";
      const r = await fetch(base + path, { method: init.method ?? "GET", headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
      const text = await r.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON (HTML pages)
      }
      return { status: r.status, body: body as T };
    },
    async checkIn(mac: string, o: CheckInOptions = {}) {
      const h = esp32Headers({ "x-ESP32-STA-MAC": mac, "x-ESP32-BASE-MAC": mac, ...(o.extra ?? {}) });
      delete h["x-ESP32-sketch-sha256"];
      if (o.md5) h["x-ESP32-sketch-md5"] = o.md5;
      if (o.version) h["x-ESP32-version"] = o.version;
      if (o.result) h["x-ESP32-update-result"] = o.result;
      if (o.resultVersion) h["x-ESP32-update-version"] = o.resultVersion;
      if (o.secret) {
        lastSignedAt = Math.max(Date.now(), lastSignedAt + 1);
        const [name, value] = checkInAuthHeader(nobleDigest, o.secret, Object.entries(h), lastSignedAt);
        h[name] = value;
      }
      const r = await rawRequest(server.port, requestText("/update", h));
      if (o.settle !== false) await server.fleet!.settled();
      return r;
    },
    async stop() {
      await server.close();
      await db.drop();
    },
  };
}

/** A MAC per index, 24:6F:28:10:XX:YY. */
export function macOf(i: number): string {
  return `24:6F:28:10:${((i >> 8) & 0xff).toString(16).toUpperCase().padStart(2, "0")}:${(i & 0xff).toString(16).toUpperCase().padStart(2, "0")}`;
}

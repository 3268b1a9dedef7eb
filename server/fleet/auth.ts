// The admin token: `Authorization: Bearer <token>` for scripts, or a session
// cookie set by the dashboard's sign-in form. Tokens are compared in constant
// time (SHA-256 of both, then timingSafeEqual, so the length leaks nothing
// either) and never logged. The cookie holds no token: it is the sign-in time,
// signed with a key derived from the token, so changing the token signs
// everyone out; signing out revokes that one cookie (revoked-sessions.ts).
// Cookie-authenticated writes must come from the same origin.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { redactUrl } from "../redact";
import "@fastify/cookie"; // request.cookies, parsed by the plugin the admin routes register
import { RevokedSessions } from "./revoked-sessions";

export const SESSION_COOKIE = "ota_admin";
export const SESSION_MAX_AGE_S = 12 * 60 * 60;
export const MIN_TOKEN_LENGTH = 16;
export const TOKEN_ENV = "OTA_ADMIN_TOKEN";

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

export function sameToken(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

export type AuthOutcome = { ok: true; via: "bearer" | "cookie" } | { ok: false; reason: string };

export class AdminAuth {
  private readonly sessionKey: Buffer | undefined;
  private readonly revoked = new RevokedSessions(SESSION_MAX_AGE_S * 1000);

  constructor(private readonly token: string | undefined) {
    if (token !== undefined && token.length < MIN_TOKEN_LENGTH)
      throw new Error(`the admin token must be at least ${MIN_TOKEN_LENGTH} characters (e.g. openssl rand -hex 16)`);
    this.sessionKey = token === undefined ? undefined : createHmac("sha256", token).update("ota-server dashboard session").digest();
  }

  get enabled(): boolean {
    return this.token !== undefined;
  }

  /** Checks a token typed into the sign-in form. */
  accepts(given: string): boolean {
    return this.token !== undefined && sameToken(given, this.token);
  }

  private sign(issued: string): string {
    return createHmac("sha256", this.sessionKey!).update(issued).digest("base64url");
  }

  /** The cookie value for a session starting now. */
  session(now = Date.now()): string {
    const issued = String(now);
    return `${issued}.${this.sign(issued)}`;
  }

  /** The session's sign-in time and signature when the cookie is genuine, unexpired and not signed out. */
  private validSession(value: string | undefined, now: number): { issued: number; signature: string } | undefined {
    if (!value || !this.sessionKey) return undefined;
    const m = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!m) return undefined;
    const issued = Number(m[1]);
    const age = now - issued;
    if (age < 0 || age > SESSION_MAX_AGE_S * 1000) return undefined;
    if (!timingSafeEqual(Buffer.from(m[2]), Buffer.from(this.sign(m[1])))) return undefined;
    return this.revoked.has(issued, m[2]) ? undefined : { issued, signature: m[2] };
  }

  /** Sign-out: the cookie stops working now, not when it expires (a copy of it included). */
  signOut(value: string | undefined, now = Date.now()): void {
    const session = this.validSession(value, now);
    if (session) this.revoked.revoke(session.issued, session.signature, now);
  }

  check(request: FastifyRequest, now = Date.now()): AuthOutcome {
    if (!this.token) return { ok: false, reason: `The admin surface is off: start ota-server with --admin-token or ${TOKEN_ENV}` };
    const header = request.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
      if (m && sameToken(m[1], this.token)) return { ok: true, via: "bearer" };
      return { ok: false, reason: "Wrong admin token" };
    }
    if (this.validSession(request.cookies?.[SESSION_COOKIE], now)) {
      if (!["GET", "HEAD"].includes(request.method) && !sameOrigin(request)) return { ok: false, reason: "Cross-site request refused" };
      return { ok: true, via: "cookie" };
    }
    return { ok: false, reason: "Admin token required (Authorization: Bearer <token>, or sign in at /dashboard)" };
  }
}

/** Origin (or Referer) names this server's Host: the browser's same-origin mark on a POST. */
export function sameOrigin(request: FastifyRequest): boolean {
  const host = request.headers.host;
  const from = request.headers.origin ?? request.headers.referer;
  if (!host || typeof from !== "string") return false;
  try {
    return new URL(from).host === host;
  } catch {
    return false;
  }
}

/** The 401 every admin route answers without the token. */
export function unauthorized(reply: FastifyReply, reason: string): FastifyReply {
  reply.raw.statusMessage = "Unauthorized";
  return reply.code(401).header("www-authenticate", 'Bearer realm="ota-server"').type("application/json").send({ error: reason });
}

/**
 * The log's request serializer (Fastify's fields): a secret some client put in
 * the query string (token=, api_key=, ...: redact.ts) is replaced before the URL is logged.
 */
export function requestForLog(req: { method: string; url: string; host?: string; ip?: string; socket?: { remotePort?: number } }) {
  return {
    method: req.method,
    url: redactUrl(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

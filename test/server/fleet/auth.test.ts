// AdminAuth without a server: the cookie's age window (inclusive 12 h, nothing
// from the future), sign-out revocation and its bound, the token's minimum
// length, and the same-origin rule for cookie writes (an Origin that does not
// parse is cross-site).
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import type { FastifyReply, FastifyRequest } from "fastify";
import { AdminAuth, MIN_TOKEN_LENGTH, SESSION_COOKIE, SESSION_MAX_AGE_S, sameOrigin, unauthorized } from "../../../server/fleet/auth";
import { RevokedSessions } from "../../../server/fleet/revoked-sessions";

const TOKEN = "0123456789abcdef-auth-test";
const T0 = 1_800_000_000_000;
const MAX_MS = SESSION_MAX_AGE_S * 1000;

function request(init: { method?: string; cookie?: string; headers?: Record<string, string> }): FastifyRequest {
  return { method: init.method ?? "GET", headers: { host: "ota.local:8000", ...init.headers }, cookies: init.cookie === undefined ? {} : { [SESSION_COOKIE]: init.cookie } } as unknown as FastifyRequest;
}

test("a session cookie is good from its sign-in time to exactly 12 hours after, and not from the future", () => {
  const auth = new AdminAuth(TOKEN);
  const cookie = auth.session(T0);
  const at = (now: number) => auth.check(request({ cookie }), now).ok;
  assert.equal(at(T0), true, "at its sign-in time");
  assert.equal(at(T0 + MAX_MS), true, "12 h on the dot");
  assert.equal(at(T0 + MAX_MS + 1), false, "1 ms past 12 h");
  assert.equal(at(T0 - 1), false, "issued 1 ms in the future (a forged or clock-skewed cookie)");
});

test("sign-out revokes that cookie (and copies of it) at once; other sessions stay", () => {
  const auth = new AdminAuth(TOKEN);
  const mine = auth.session(T0);
  const other = auth.session(T0 + 5);
  auth.signOut(mine, T0 + 10);
  assert.equal(auth.check(request({ cookie: mine }), T0 + 11).ok, false);
  assert.equal(auth.check(request({ cookie: other }), T0 + 11).ok, true);
  auth.signOut(`${T0}.${"A".repeat(43)}`, T0 + 12); // a forged cookie revokes nothing
  assert.equal(auth.check(request({ cookie: other }), T0 + 13).ok, true);
  // a later sign-out does not drop the earlier one while its cookie could still be good
  auth.signOut(other, T0 + MAX_MS - 1000);
  assert.equal(auth.check(request({ cookie: mine }), T0 + MAX_MS - 999).ok, false);
  assert.equal(auth.check(request({ cookie: other }), T0 + MAX_MS - 999).ok, false);
});

test("the revocation set is bounded: expired entries go, and an overflow refuses every older session instead of forgetting one", () => {
  const revoked = new RevokedSessions(1000, 3);
  revoked.revoke(10, "a", 100);
  revoked.revoke(20, "b", 100);
  revoked.revoke(30, "c", 100);
  assert.equal(revoked.size, 3);
  revoked.revoke(40, "d", 100); // full: collapses into a floor at 40
  assert.equal(revoked.size, 0);
  for (const [issued, sig] of [[10, "a"], [30, "c"], [40, "d"], [35, "unrevoked but older"]] as const) assert.equal(revoked.has(issued, sig), true, sig);
  assert.equal(revoked.has(41, "e"), false);
  revoked.revoke(39, "old", 100); // under the floor already: nothing stored
  assert.equal(revoked.size, 0);
  revoked.revoke(500, "x", 600);
  revoked.revoke(600, "y", 600);
  revoked.revoke(700, "z", 1600); // x (issued 500) expired at 1500: dropped, no overflow
  assert.equal(revoked.size, 2);
  assert.equal(revoked.has(500, "x"), false, "x expired from the set (its cookie is refused by age anyway)");
  assert.equal(revoked.has(600, "y"), true);
  assert.equal(revoked.has(41, "e"), false, "the floor did not move");
});

test(`the admin token needs at least ${MIN_TOKEN_LENGTH} characters`, () => {
  assert.throws(() => new AdminAuth("x".repeat(MIN_TOKEN_LENGTH - 1)), /at least 16 characters/);
  assert.equal(new AdminAuth("x".repeat(MIN_TOKEN_LENGTH)).enabled, true);
  assert.equal(new AdminAuth(undefined).enabled, false);
});

test("cookie writes need this server's origin: an Origin or Referer that does not parse, or names another host, is refused", () => {
  const auth = new AdminAuth(TOKEN);
  const cookie = auth.session(T0);
  const post = (headers: Record<string, string>) => auth.check(request({ method: "POST", cookie, headers }), T0 + 1);
  assert.deepEqual(post({ origin: "http://ota.local:8000" }), { ok: true, via: "cookie" });
  assert.deepEqual(post({ referer: "http://ota.local:8000/dashboard" }), { ok: true, via: "cookie" });
  for (const origin of ["not a url", "http://[ota.local:8000", "http://ota.local:8001", "null"]) {
    assert.deepEqual(post({ origin }), { ok: false, reason: "Cross-site request refused" }, origin);
  }
  assert.deepEqual(post({}), { ok: false, reason: "Cross-site request refused" });
  // a value whose text contains the host but does not parse is no origin at all
  assert.equal(sameOrigin(request({ headers: { origin: "ota.local:8000" } })), false);
  assert.equal(sameOrigin(request({ headers: { origin: "http://ota.local:8000", host: "" } })), false);
  assert.equal(sameOrigin(request({ headers: { origin: "file:///etc/passwd", host: "" } })), false, "no Host: nothing is same-origin, not even a hostless origin");
});

test("the cookie's format: sign-in time in ms, a dot, HMAC-SHA-256 of it (base64url) under a key derived from the token for this purpose alone", () => {
  const key = createHmac("sha256", TOKEN).update("ota-server dashboard session").digest();
  const expected = `${T0}.${createHmac("sha256", key).update(String(T0)).digest("base64url")}`;
  assert.equal(new AdminAuth(TOKEN).session(T0), expected, "a restart or an upgrade keeps everyone signed in");
});

test("malformed cookies are refused, never thrown on", () => {
  const auth = new AdminAuth(TOKEN);
  const good = auth.session(T0);
  const [issued, sig] = good.split(".");
  for (const bad of [`x${good}`, `${good}x`, `${issued}.${sig}A`, `${issued}.${sig.slice(1)}`, `${issued}${sig}`, `.${sig}`, `1${issued.padStart(15, "0")}.${sig}`, ""]) {
    assert.equal(auth.check(request({ cookie: bad }), T0).ok, false, bad);
  }
  // without a token nothing is signed in, and signing out is a no-op
  const off = new AdminAuth(undefined);
  assert.doesNotThrow(() => off.signOut(good, T0));
  assert.equal(off.accepts(""), false);
  assert.equal(off.accepts(TOKEN), false);
});

test("the Bearer header: scheme in any case, spaces around the token; anything else is a wrong token; reasons as the API says them", () => {
  const auth = new AdminAuth(TOKEN);
  const bearer = (authorization: string) => auth.check(request({ headers: { authorization } }), T0);
  for (const ok of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER   ${TOKEN}  `]) assert.deepEqual(bearer(ok), { ok: true, via: "bearer" }, ok);
  for (const wrong of [`Bearer ${TOKEN} x`, `xBearer ${TOKEN}`, `Bearer${TOKEN}`, `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, ""]) assert.deepEqual(bearer(wrong), { ok: false, reason: "Wrong admin token" }, wrong);
  assert.deepEqual(auth.check(request({}), T0), { ok: false, reason: "Admin token required (Authorization: Bearer <token>, or sign in at /dashboard)" });
  // a route outside the cookie plugin has no request.cookies at all
  const bare = { method: "GET", headers: { host: "ota.local:8000" } } as unknown as FastifyRequest;
  assert.deepEqual(auth.check(bare, T0), { ok: false, reason: "Admin token required (Authorization: Bearer <token>, or sign in at /dashboard)" });
  assert.deepEqual(new AdminAuth(undefined).check(request({ headers: { authorization: `Bearer ${TOKEN}` } }), T0), { ok: false, reason: "The admin surface is off: start ota-server with --admin-token or OTA_ADMIN_TOKEN" });
});

test("with the cookie, GET and HEAD need no Origin; every other method does", () => {
  const auth = new AdminAuth(TOKEN);
  const cookie = auth.session(T0);
  for (const method of ["GET", "HEAD"]) assert.deepEqual(auth.check(request({ method, cookie }), T0), { ok: true, via: "cookie" }, method);
  for (const method of ["POST", "PUT", "DELETE", "PATCH"]) assert.deepEqual(auth.check(request({ method, cookie }), T0), { ok: false, reason: "Cross-site request refused" }, method);
});

test("unauthorized(): 401 Unauthorized, the Bearer challenge, the reason as JSON", () => {
  const sent: Record<string, unknown> = { headers: {} };
  const reply = {
    raw: {} as { statusMessage?: string },
    code(status: number) {
      sent.status = status;
      return reply;
    },
    header(name: string, value: string) {
      (sent.headers as Record<string, string>)[name] = value;
      return reply;
    },
    type(type: string) {
      sent.type = type;
      return reply;
    },
    send(body: unknown) {
      sent.body = body;
      return reply;
    },
  };
  unauthorized(reply as unknown as FastifyReply, "Wrong admin token");
  assert.equal(reply.raw.statusMessage, "Unauthorized");
  assert.deepEqual(sent, { status: 401, headers: { "www-authenticate": 'Bearer realm="ota-server"' }, type: "application/json", body: { error: "Wrong admin token" } });
});

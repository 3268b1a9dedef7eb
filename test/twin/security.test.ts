// The twin with the board's defaults (requirePassword true) over real HTTP: no
// update until a portal password is set, the password page on the access point
// only (the twin's loopback is the AP while it is up, its station otherwise),
// wrong passwords held back per client address (loopback 127.0.0.2 against
// 127.0.0.1), and what /api/status `security` says.
import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { startStack, type Stack } from "../support/stack";
import { basicHeader, PORTAL_USER } from "../../modules/core/portal/basic-auth";
import { THROTTLE_DEFAULTS } from "../../modules/core/portal/login-throttle";

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function call(s: Stack, method: string, path: string, options: { form?: string; password?: string; from?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: `127.0.0.1:${s.twin.port}` };
    if (options.form !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
    if (options.password !== undefined) headers.authorization = basicHeader(PORTAL_USER, options.password);
    const req = request({ host: "127.0.0.1", port: s.twin.port, method, path, headers, localAddress: options.from }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end(options.form);
  });
}

test("the board's defaults: an update is refused until a password is set on the AP, then taken with it", async () => {
  const s = await startStack({ twin: { ap: { mode: "always" } } });
  try {
    await s.twin.booted(1);
    const status = JSON.parse((await call(s, "GET", "/api/status")).body) as { security: unknown };
    assert.deepEqual(status.security, { passwordSet: false, signedOnly: false, apMode: "always", apOpen: true });
    const refused = await call(s, "POST", "/api/update", { form: "fw=demo-1.1.0.bin" });
    assert.equal(refused.status, 403);
    assert.equal(JSON.parse(refused.body).error, "Set a portal password first");
    assert.match((await call(s, "GET", "/")).body, /id=password-first/);
    const set = await call(s, "POST", "/password", { form: "new=twin-pass-1&confirm=twin-pass-1" });
    assert.equal(set.status, 200, set.body);
    assert.equal((await call(s, "POST", "/api/update", { form: "fw=demo-1.1.0.bin" })).status, 401);
    await call(s, "POST", "/api/catalog", { form: "", password: "twin-pass-1" });
    for (let i = 0; i < 100 && JSON.parse((await call(s, "GET", "/api/catalog", { password: "twin-pass-1" })).body).state === "loading"; i++) await new Promise((r) => setTimeout(r, 50));
    const taken = await call(s, "POST", "/api/update", { form: "fw=demo-1.1.0.bin", password: "twin-pass-1" });
    assert.equal(taken.status, 202, taken.body);
    assert.equal(JSON.parse((await call(s, "GET", "/api/status")).body).security.passwordSet, true);
  } finally {
    await s.stop();
  }
});

test("fallback mode, AP down while on TwinLAN: the loopback portal is the station's, so the password page answers 403 there too", async () => {
  const s = await startStack();
  try {
    await s.twin.booted(1);
    const page = await call(s, "GET", "/password");
    assert.equal(page.status, 403);
    assert.match(page.body, /Join the board's access point and open \/password there/);
    assert.equal((await call(s, "POST", "/update/upload")).status, 403);
    assert.equal(JSON.parse((await call(s, "GET", "/api/status")).body).security.apOpen, false, "an AP that is down is not open");
  } finally {
    await s.stop();
  }
});

test("wrong passwords: one client address is held back (429, Retry-After); another gets in at once with the right password", async () => {
  const s = await startStack({ twin: { portalPassword: "seeded-pass" } });
  try {
    await s.twin.booted(1);
    for (let i = 0; i <= THROTTLE_DEFAULTS.freeFailures; i++) assert.equal((await call(s, "GET", "/api/progress", { password: `guess-${i}`, from: "127.0.0.2" })).status, 401);
    const held = await call(s, "GET", "/api/progress", { password: "seeded-pass", from: "127.0.0.2" });
    assert.equal(held.status, 429);
    assert.ok(Number(held.headers["retry-after"]) >= 1);
    assert.equal((await call(s, "GET", "/api/progress", { password: "seeded-pass", from: "127.0.0.1" })).status, 200, "the owner's other device");
  } finally {
    await s.stop();
  }
});

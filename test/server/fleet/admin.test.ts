// The admin surface: every admin route answers 401 without the token (each
// route on its own, so removing one check fails a test), with a wrong one, and
// when the server has none; device routes need nothing. The dashboard's
// sign-in sets an HttpOnly SameSite=Strict cookie that holds no token, expires,
// and cannot be forged; cookie writes must be same-origin. The token never
// reaches the log. Uploads stream into the catalog and only a complete valid
// image is renamed into place.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { AdminAuth, sameToken, SESSION_COOKIE } from "../../../server/fleet/auth";
import { buildImage } from "../../../tools/esp-image";
import { BACKENDS } from "../../support/databases";
import { esp32Headers, rawRequest, requestText } from "../helpers";
import { startFleetServer, TOKEN, type FleetServer } from "./helpers";

const sqlite = BACKENDS[0];
const v1 = Buffer.from(buildImage({ version: "1.0.0", size: 30_000 }));
const big = Buffer.from(buildImage({ version: "4.2.0", size: 3_000_000 }));
const RULES = "default: { firmware: fw/v1.bin }";
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");

/** Every admin route, with a body that would succeed given the token. */
const ROUTES: Array<{ method: string; path: string; body?: unknown; raw?: Buffer }> = [
  { method: "GET", path: "/api/devices" },
  { method: "GET", path: "/api/devices/24:6F:28:AA:BB:01/history" },
  { method: "GET", path: "/api/rollouts" },
  { method: "GET", path: "/api/rollouts/1" },
  { method: "POST", path: "/api/rollouts", body: { channel: "stable", image: "fw/v1.bin" } },
  { method: "POST", path: "/api/rollouts/1/advance" },
  { method: "POST", path: "/api/rollouts/1/halt" },
  { method: "POST", path: "/api/rollouts/1/resume" },
  { method: "GET", path: "/api/images" },
  { method: "PUT", path: "/api/images/sneaky.bin", raw: v1 },
  { method: "GET", path: "/dashboard" },
  { method: "GET", path: "/dashboard/devices/24:6F:28:AA:BB:01" },
  { method: "POST", path: "/dashboard/rollouts", body: { channel: "stable", image: "fw/v1.bin" } },
  { method: "POST", path: "/dashboard/rollouts/1/halt" },
];

function send(port: number, method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method, path, headers: { ...headers, ...(body !== undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const bodyOf = (r: (typeof ROUTES)[number]) => (r.raw ? { body: r.raw, type: "application/octet-stream" } : r.body ? { body: JSON.stringify(r.body), type: "application/json" } : undefined);

describe("admin token", () => {
  let s: FleetServer;
  let off: FleetServer;
  before(async () => {
    s = await startFleetServer(sqlite, { rules: RULES, files: { "fw/v1.bin": v1 }, logLevel: "trace" });
    off = await startFleetServer(sqlite, { rules: RULES, files: { "fw/v1.bin": v1 }, token: null });
    await s.checkIn("24:6F:28:AA:BB:01");
  });
  after(async () => {
    await s?.stop();
    await off?.stop();
  });

  const wrong: Array<[string, Record<string, string>]> = [
    ["no Authorization", {}],
    ["a wrong token of the same length", { authorization: `Bearer ${TOKEN.slice(0, -1)}X` }],
    ["a prefix of the token", { authorization: `Bearer ${TOKEN.slice(0, 8)}` }],
    ["the token with something after it", { authorization: `Bearer ${TOKEN}x` }],
    ["the token as Basic credentials", { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString("base64")}` }],
    ["the token in a query string", {}],
  ];
  for (const route of ROUTES) {
    test(`${route.method} ${route.path}: 401 without the right token, passes with it`, async () => {
      const b = bodyOf(route);
      for (const [label, headers] of wrong) {
        const path = label.includes("query") ? `${route.path}?token=${TOKEN}` : route.path;
        const r = await send(s.port, route.method, path, { ...headers, ...(b ? { "content-type": b.type } : {}) }, b?.body);
        assert.equal(r.status, 401, `${label}: ${r.status} ${r.text.slice(0, 200)}`);
      }
      const ok = await send(s.port, route.method, route.path, { authorization: `Bearer ${TOKEN}`, ...(b ? { "content-type": b.type } : {}) }, b?.body);
      assert.notEqual(ok.status, 401, ok.text.slice(0, 200));
      const disabled = await send(off.port, route.method, route.path, { authorization: `Bearer ${TOKEN}`, ...(b ? { "content-type": b.type } : {}) }, b?.body);
      assert.equal(disabled.status, 401);
      assert.match(disabled.text, /admin surface is off/);
    });
  }

  test("the API's 401 names the scheme; the dashboard's 401 is the sign-in form", async () => {
    const api = await send(s.port, "GET", "/api/devices", {});
    assert.equal(api.headers["www-authenticate"], 'Bearer realm="ota-server"');
    assert.match(JSON.parse(api.text).error, /Admin token required/);
    const page = await send(s.port, "GET", "/dashboard", {});
    assert.match(String(page.headers["content-type"]), /text\/html/);
    assert.match(page.text, /<form method="post" action="\/dashboard\/login"/);
  });

  test("device routes work without any token", async () => {
    assert.equal((await rawRequest(s.port, requestText("/_catalog?op=list&path=fw", { Host: "x" }))).status, 200);
    assert.equal((await rawRequest(s.port, requestText("/update", esp32Headers()))).status, 200);
    assert.equal((await rawRequest(s.port, requestText("/fw/v1.bin", esp32Headers()))).status, 200);
  });

  test("sign-in: a wrong token is refused; the right one sets a cookie that holds no token", async () => {
    const bad = await send(s.port, "POST", "/dashboard/login", { "content-type": "application/x-www-form-urlencoded" }, `token=${encodeURIComponent(TOKEN + "x")}`);
    assert.equal(bad.status, 401);
    assert.match(bad.text, /Wrong token/);
    assert.equal(bad.headers["set-cookie"], undefined);
    const good = await send(s.port, "POST", "/dashboard/login", { "content-type": "application/x-www-form-urlencoded" }, `token=${encodeURIComponent(TOKEN)}`);
    assert.equal(good.status, 303);
    assert.equal(good.headers.location, "/dashboard");
    const cookie = String(good.headers["set-cookie"]);
    assert.match(cookie, new RegExp(`^${SESSION_COOKIE}=\\d+\\.[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200$`));
    assert.ok(!cookie.includes(TOKEN));
    const session = cookie.split(";")[0];
    const page = await send(s.port, "GET", "/dashboard", { cookie: session });
    assert.equal(page.status, 200);
    assert.match(page.text, /24:6F:28:AA:BB:01/);
    // the same cookie with its signature changed, or too old, or from another token, is nothing
    const [name, value] = session.split("=");
    const forged = `${name}=${value.slice(0, -2)}${value.endsWith("AA") ? "BB" : "AA"}`;
    const old = `${SESSION_COOKIE}=${new AdminAuth(TOKEN).session(Date.now() - 13 * 3600 * 1000)}`;
    const otherToken = `${SESSION_COOKIE}=${new AdminAuth(`${TOKEN}-other`).session()}`;
    for (const c of [forged, old, otherToken, `${SESSION_COOKIE}=${TOKEN}`]) assert.equal((await send(s.port, "GET", "/dashboard", { cookie: c })).status, 401, c);
    const out = await send(s.port, "POST", "/dashboard/logout", { cookie: session, origin: `http://127.0.0.1:${s.port}` });
    assert.equal(out.status, 303);
    assert.match(String(out.headers["set-cookie"]), /Max-Age=0/);
    // a copy of the signed-out cookie is refused at once, not 12 hours later; a new sign-in works
    assert.equal((await send(s.port, "GET", "/dashboard", { cookie: session })).status, 401);
    assert.equal((await send(s.port, "GET", "/api/devices", { cookie: session })).status, 401);
    const again = await send(s.port, "POST", "/dashboard/login", { "content-type": "application/x-www-form-urlencoded" }, `token=${encodeURIComponent(TOKEN)}`);
    assert.equal((await send(s.port, "GET", "/dashboard", { cookie: String(again.headers["set-cookie"]).split(";")[0] })).status, 200);
  });

  test("with the cookie, writes must come from this origin", async () => {
    const session = `${SESSION_COOKIE}=${new AdminAuth(TOKEN).session()}`;
    const json = { "content-type": "application/json", cookie: session };
    const body = JSON.stringify({ channel: "cookie-test", image: "fw/v1.bin" });
    assert.equal((await send(s.port, "POST", "/api/rollouts", json, body)).status, 401);
    assert.equal((await send(s.port, "POST", "/api/rollouts", { ...json, origin: "http://evil.example" }, body)).status, 401);
    const ok = await send(s.port, "POST", "/api/rollouts", { ...json, origin: `http://127.0.0.1:${s.port}` }, body);
    assert.equal(ok.status, 201, ok.text);
    assert.equal((await send(s.port, "GET", "/api/rollouts", { cookie: session })).status, 200);
  });

  test("the token never reaches the log, whatever was sent", async () => {
    await send(s.port, "GET", "/api/devices", { authorization: `Bearer ${TOKEN}` });
    await send(s.port, "GET", "/api/devices", { authorization: `Bearer ${TOKEN}zz` });
    await send(s.port, "POST", "/dashboard/login", { "content-type": "application/x-www-form-urlencoded" }, `token=${TOKEN}`);
    await send(s.port, "GET", "/dashboard", { cookie: `${SESSION_COOKIE}=${TOKEN}` });
    // in a query string, under any name that says secret, escaped, after ; too
    for (const q of [`%74oken=${TOKEN}`, `t=1;token=${TOKEN}`, `admin_token=${TOKEN}`, `api_key=${TOKEN}`])
      await send(s.port, "GET", `/_catalog?op=list&path=.&${q}`, {});
    await s.fleet!.settled();
    const text = JSON.stringify(s.logs);
    assert.ok(s.logs.length > 10);
    assert.ok(!text.includes(TOKEN.slice(4)), "token in the log");
  });

  test("tokens are compared as digests (any length, no early exit on length); short tokens are refused", () => {
    assert.equal(sameToken("a", TOKEN), false);
    assert.equal(sameToken(TOKEN, TOKEN), true);
    assert.throws(() => new AdminAuth("short"), /at least 16 characters/);
  });
});

describe("image upload", () => {
  let s: FleetServer;
  before(async () => {
    s = await startFleetServer(sqlite, { rules: RULES, files: { "fw/v1.bin": v1 }, maxUploadBytes: 4_000_000 });
  });
  after(() => s?.stop());
  const put = (name: string, body: Buffer | string, headers: Record<string, string> = {}) =>
    send(s.port, "PUT", `/api/images/${name}`, { authorization: `Bearer ${TOKEN}`, "content-type": "application/octet-stream", ...headers }, body);
  const leftovers = async () => (await readdir(s.dir, { recursive: true })).filter((n) => n.includes(".upload"));

  test("an image streams into the catalog under its name, with its facts read from its header", async () => {
    const r = await put("up/app-4.2.0.bin", big, { "x-MD5": md5(big) });
    assert.equal(r.status, 201, r.text);
    const facts = JSON.parse(r.text);
    assert.deepEqual(
      { ...facts, project: undefined },
      { path: "up/app-4.2.0.bin", size: big.length, family: "esp32", chip: "ESP32", version: "4.2.0", project: undefined, md5: md5(big), sha256: createHash("sha256").update(big).digest("hex") },
    );
    assert.ok((await readFile(join(s.dir, "up", "app-4.2.0.bin"))).equals(big));
    assert.deepEqual(await leftovers(), []);
    const listed = await s.api<{ images: Array<{ path: string; version: string }> }>("/api/images");
    assert.ok(listed.body.images.some((i) => i.path === "up/app-4.2.0.bin" && i.version === "4.2.0"));
    const row = await s.fleet!.db.get<{ md5: string }>("SELECT md5 FROM images WHERE path = ?", ["up/app-4.2.0.bin"]);
    assert.equal(row?.md5, md5(big));
  });

  test("an existing name is kept unless overwrite=1, which replaces it whole", async () => {
    const again = await put("up/app-4.2.0.bin", v1);
    assert.equal(again.status, 409);
    assert.ok((await readFile(join(s.dir, "up", "app-4.2.0.bin"))).equals(big));
    assert.equal((await put("up/app-4.2.0.bin?overwrite=1", v1)).status, 201);
    assert.ok((await readFile(join(s.dir, "up", "app-4.2.0.bin"))).equals(v1));
    assert.deepEqual(await leftovers(), []);
  });

  test("refused uploads leave nothing in the catalog", async () => {
    const cases: Array<[string, Buffer | string, Record<string, string>, number, RegExp]> = [
      ["notes.bin", "hello, not an image", {}, 400, /not an ESP app image/],
      ["md5.bin", v1, { "x-MD5": "0".repeat(32) }, 400, /does not match/],
      ["too-big.bin", Buffer.concat([big, big]), {}, 413, /upload limit/],
      ["%2e%2e/escape.bin", v1, {}, 400, /inside the catalog|\.bin file name/],
      [".hidden.bin", v1, {}, 400, /hidden/],
      ["readme.txt", v1, {}, 400, /\.bin file name/],
      ["sub%5C..%5C..%5Cx.bin", v1, {}, 400, /no backslashes/],
      ["sub%5Cx.bin", v1, {}, 400, /no backslashes/],
      ["tab%09name.bin", v1, {}, 400, /control characters/],
      ["del%7Fname.bin", v1, {}, 400, /control characters/],
    ];
    for (const [name, body, headers, status, message] of cases) {
      const r = await put(name, body, headers);
      assert.equal(r.status, status, `${name}: ${r.text}`);
      assert.match(JSON.parse(r.text).error, message, name);
    }
    const files = await readdir(s.dir, { recursive: true });
    for (const name of ["notes.bin", "md5.bin", "too-big.bin", ".hidden.bin", "readme.txt", "sub\\..\\..\\x.bin", "sub\\x.bin", "tab\tname.bin"]) assert.ok(!files.includes(name), name);
    assert.ok(!(await readdir(join(s.dir, ".."))).includes("escape.bin"));
    assert.deepEqual(await leftovers(), []);
  });

  test("a body over the limit without Content-Length is cut off while streaming; a client gone mid-upload leaves nothing", async () => {
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        { host: "127.0.0.1", port: s.port, method: "PUT", path: "/api/images/chunked.bin", headers: { authorization: `Bearer ${TOKEN}`, "transfer-encoding": "chunked" } },
        (res) => (res.resume(), resolve(res.statusCode ?? 0)),
      );
      req.on("error", reject);
      req.write(big);
      req.end(big);
    });
    assert.equal(streamed, 413);
    await new Promise<void>((resolve) => {
      const req = httpRequest({ host: "127.0.0.1", port: s.port, method: "PUT", path: "/api/images/gone.bin", headers: { authorization: `Bearer ${TOKEN}`, "content-length": String(big.length) } });
      req.on("error", () => resolve());
      req.write(big.subarray(0, 500_000), () => setTimeout(() => (req.destroy(), resolve()), 100));
    });
    for (let i = 0; i < 40 && (await leftovers()).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await leftovers(), []);
    const files = await readdir(s.dir);
    assert.ok(!files.includes("chunked.bin") && !files.includes("gone.bin"));
  });
});

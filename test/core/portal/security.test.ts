// Secure by default (issue 21): the board's defaults, a password required. Until
// one is set every route that changes what the board runs answers 403, Wi-Fi
// set-up and the password page answer on the access point only; requirePassword
// false opens the board with a warning; /api/status says what is still open.
import { test, assert } from "../../harness/t";
import { AP_CLIENT, LAN_CLIENT, header, OPEN_PORTAL, portalRig, request, type PortalRig } from "../../fakes/portal-client";
import { basicHeader, PASSWORD_KEY } from "../../../modules/core/portal/basic-auth";
import { ROUTES } from "../../../modules/core/portal/portal";
import { PASSWORD_FIRST } from "../../../modules/core/portal/security";
import type { ApStatus } from "../../../modules/core/updater-api";
import { signaturePolicy } from "../../../modules/core/signature/policy";
import { nobleDigest } from "../../fakes/digest";
import { testKey } from "../../fakes/signature";

/** Every route that changes what the board runs (form posts; the uploads are streamed). */
const INSTALL_POSTS = ["/update", "/api/update", "/update/checkin", "/update/settings", "/rollback", "/api/rollback", "/mod/remove", "/mod/rollback", "/api/mod/remove", "/api/mod/rollback"];
const UPLOADS = ["/update/upload", "/update/mod"];
/** Wi-Fi set-up and the password page: on the access point only until a password is set. */
const SETUP_GETS = ["/wifi", "/api/scan", "/password"];
const SETUP_POSTS = ["/wifi/connect", "/wifi/forget", "/api/scan", "/password"];

const FIELDS = { fw: "a.bin", url: "http://192.168.1.10:8000/update", host: "h", port: "8000", path: ".", ssid: "x", password: "12345678" };
const isJson = (path: string) => path.startsWith("/api/");

function upload(rig: PortalRig, path: string, options: { authorization?: string; remoteAddress?: string } = {}) {
  const headers: Record<string, string> = { "content-type": "application/octet-stream", "content-length": "4" };
  if (options.authorization) headers.authorization = options.authorization;
  return rig.portal.bodyRouter(request("POST", path, { headers, remoteAddress: options.remoteAddress }));
}

test("the table marks exactly the routes that change what the board runs, and Wi-Fi set-up and the password page", () => {
  assert.deepEqual(ROUTES.filter((r) => r.lock === "installs").map((r) => r.path).sort(), [...INSTALL_POSTS, ...UPLOADS].sort());
  assert.deepEqual(ROUTES.filter((r) => r.lock === "setup").map((r) => r.path).sort(), ["/api/scan", "/password", "/wifi", "/wifi/connect", "/wifi/forget"]);
});

test("no password yet: every install, upload, Go back, mod action and the server settings answer 403 'Set a portal password first'", () => {
  const rig = portalRig();
  for (const path of INSTALL_POSTS) {
    const r = rig.post(path, FIELDS);
    assert.equal(r.status, 403, path);
    if (isJson(path)) {
      assert.equal(header(r, "content-type"), "application/json", path);
      assert.equal(JSON.parse(r.body).error, PASSWORD_FIRST, path);
    } else {
      assert.match(r.body, /<p id=error>Set a portal password first/, path);
      assert.match(r.body, /<a class=btn id=set-password href="\/password">/, `${path} links to the password page`);
    }
  }
  for (const path of UPLOADS) {
    const routed = upload(rig, path);
    if (!routed || !("respond" in routed)) return assert.fail(`${path} was not refused from its head`);
    assert.equal(routed.respond.status, 403, path);
    assert.equal(JSON.parse(routed.respond.body).error, PASSWORD_FIRST, path);
  }
  assert.deepEqual(rig.updater.calls, [], "nothing reached the updater");
  assert.equal(rig.boot.wentBack, 0, "no Go back");
});

test("a password set on the access point unlocks them, for whoever sends it", () => {
  const rig = portalRig();
  assert.equal(rig.post("/password", { new: "hunter22", confirm: "hunter22" }).status, 200);
  const right = { headers: { authorization: basicHeader("admin", "hunter22") } };
  assert.equal(rig.post("/api/update", { fw: "a.bin" }).status, 401, "without it: the prompt");
  assert.equal(rig.post("/api/update", { fw: "a.bin" }, right).status, 202);
  assert.equal(rig.post("/update/settings", FIELDS, right).status, 303);
  assert.equal(rig.post("/update/checkin", FIELDS, { ...right, remoteAddress: LAN_CLIENT }).status, 303, "from the station's LAN too");
  const routed = upload(rig, "/update/upload", { authorization: basicHeader("admin", "hunter22") });
  assert.ok(routed && "stream" in routed, "the upload is taken");
  assert.deepEqual(rig.updater.calls.filter((c) => c !== "loadCatalog"), ["start a.bin", "saveSettings h:8000 .", `checkIn ${FIELDS.url}`, "upload uploaded image 4"]);
});

test("the pages say so: home and UPDATE carry the notice with a link to the password page, the password page says why", () => {
  const rig = portalRig();
  for (const path of ["/", "/update?cached=1"]) {
    const body = rig.get(path).body;
    assert.match(body, /<section id=password-first><p class=error>Set a portal password first/, path);
    assert.match(body, /id=set-password href="\/password"/, path);
  }
  assert.match(rig.get("/password").body, /updates are refused until one is set/);
  rig.store.set(PASSWORD_KEY, "hunter22");
  const right = { headers: { authorization: basicHeader("admin", "hunter22") } };
  assert.doesNotMatch(rig.get("/").body, /password-first/, "gone once a password is set");
  assert.doesNotMatch(rig.get("/update?cached=1", right).body, /password-first/);
});

test("Wi-Fi set-up and the password page answer on the access point; from the station's LAN they answer 403 until a password is set", () => {
  const rig = portalRig();
  for (const path of SETUP_GETS) assert.equal(rig.get(path).status, 200, `GET ${path} on the AP`);
  assert.equal(rig.post("/wifi/connect", { ssid: "home", password: "12345678" }).status, 200, "joining a network on the AP");
  assert.equal(rig.wifi.connects.length, 1);
  for (const path of SETUP_GETS) {
    const r = rig.get(path, { remoteAddress: LAN_CLIENT });
    assert.equal(r.status, 403, `GET ${path} from the LAN`);
    if (isJson(path)) assert.match(JSON.parse(r.body).error, /^Set a portal password first: until then Wi-Fi set-up and the password page answer on the board's access point only$/);
    else assert.match(r.body, /Set a portal password first.*Join the board's access point and open \/password there/s, path);
  }
  for (const path of SETUP_POSTS) assert.equal(rig.post(path, { ssid: "evil", password: "12345678", new: "mine1234", confirm: "mine1234" }, { remoteAddress: LAN_CLIENT }).status, 403, `POST ${path} from the LAN`);
  assert.equal(rig.wifi.connects.length, 1, "no join from the LAN");
  assert.equal(rig.store.get(PASSWORD_KEY), undefined, "no password set from the LAN");
  assert.equal(rig.get("/wifi", { remoteAddress: null }).status, 403, "an unknown client address is not the AP");
  assert.equal(rig.get("/", { remoteAddress: LAN_CLIENT }).status, 200, "home and status stay open everywhere");
  assert.equal(rig.get("/api/status", { remoteAddress: LAN_CLIENT }).status, 200);
});

test("the interface: the local address decides when the adapter knows it; a station on the AP's own subnet is never taken for the AP", () => {
  const rig = portalRig();
  assert.equal(rig.get("/wifi", { remoteAddress: "127.0.0.1", localAddress: "192.168.4.1" }).status, 200, "arrived at the AP's address");
  assert.equal(rig.get("/wifi", { remoteAddress: AP_CLIENT, localAddress: "192.168.1.57" }).status, 403, "arrived at the station's address");
  assert.equal(rig.get("/wifi", { remoteAddress: "192.168.40.2" }).status, 403, "another subnet");
  rig.wifi.current = { ...rig.wifi.current, connected: true, stationAddress: "192.168.4.77" };
  assert.equal(rig.get("/wifi", { remoteAddress: AP_CLIENT }).status, 403, "the LAN uses 192.168.4.x too: ambiguous");
  rig.wifi.current = { ...rig.wifi.current, connected: false, stationAddress: undefined };
  assert.equal(rig.get("/wifi", { remoteAddress: AP_CLIENT }).status, 200);
  rig.wifi.current = { ...rig.wifi.current, apUp: false };
  assert.equal(rig.get("/wifi", { remoteAddress: AP_CLIENT }).status, 403, "nothing arrives on an AP that is down");
  const closed: ApStatus = { mode: "fallback", up: false, closesInS: null };
  const lifecycle = portalRig({ ap: { status: () => closed } });
  assert.equal(lifecycle.get("/wifi", { localAddress: "192.168.4.1" }).status, 403, "the lifecycle keeps the AP down");
  closed.up = true;
  assert.equal(lifecycle.get("/wifi", { localAddress: "192.168.4.1" }).status, 200);
});

test("the simulator (loopbackIsAp): a loopback client counts as on the AP while it is up, so its password can be set from the same machine", () => {
  const simulator = (): PortalRig => {
    const rig = portalRig({ security: { loopbackIsAp: true } });
    // The lin simulator: AP and station both report the machine's address.
    rig.wifi.current = { ...rig.wifi.current, apAddress: "192.0.2.2", connected: true, stationAddress: "192.0.2.2" };
    return rig;
  };
  for (const address of ["127.0.0.1", "::1", "::ffff:127.0.0.1"]) assert.equal(simulator().get("/password", { remoteAddress: address }).status, 200, address);
  const rig = simulator();
  assert.equal(rig.get("/password", { remoteAddress: "192.0.2.2" }).status, 403, "the machine's own address stays ambiguous");
  assert.equal(rig.post("/update/settings", FIELDS, { remoteAddress: "127.0.0.1" }).status, 403, "installs still wait for a password");
  assert.equal(rig.post("/password", { new: "Sim-pass-1", confirm: "Sim-pass-1" }, { remoteAddress: "127.0.0.1" }).status, 200);
  assert.equal(rig.store.get(PASSWORD_KEY), "Sim-pass-1");
  assert.equal(rig.get("/password", { remoteAddress: "127.0.0.1" }).status, 401, "then the password is asked for, loopback or not");
  const down = simulator();
  down.wifi.current = { ...down.wifi.current, apUp: false };
  assert.equal(down.get("/wifi", { remoteAddress: "127.0.0.1" }).status, 403, "nothing arrives on an AP that is down");
  assert.equal(portalRig().get("/wifi", { remoteAddress: "127.0.0.1" }).status, 403, "a board (no loopbackIsAp): loopback is not the AP");
});

test("once a password is set, Wi-Fi and the password page ask for it from anywhere, and are no longer limited to the AP", () => {
  const rig = portalRig();
  rig.store.set(PASSWORD_KEY, "hunter22");
  assert.equal(rig.get("/wifi", { remoteAddress: LAN_CLIENT }).status, 401);
  assert.equal(rig.get("/wifi", { remoteAddress: LAN_CLIENT, headers: { authorization: basicHeader("admin", "hunter22") } }).status, 200);
});

test("requirePassword false (a bench board): updates without a password, and the home page warns", () => {
  const rig = portalRig(OPEN_PORTAL);
  assert.equal(rig.post("/api/update", { fw: "a.bin" }).status, 202);
  assert.equal(rig.get("/wifi", { remoteAddress: LAN_CLIENT }).status, 200, "set-up from anywhere, as before");
  const home = rig.get("/").body;
  assert.match(home, /<li id=open-warning class=error>No portal password and none required/);
  assert.doesNotMatch(home, /password-first/);
  assert.doesNotMatch(portalRig().get("/").body, /open-warning/, "the board's defaults show the notice instead");
  rig.store.set(PASSWORD_KEY, "hunter22");
  assert.doesNotMatch(rig.get("/").body, /open-warning/, "a password set: nothing to warn of");
});

test("/api/status security: password, signatures and the access point, as the home page lists what is still open", () => {
  const status = (rig: PortalRig) => JSON.parse(rig.get("/api/status").body).security;
  const rig = portalRig();
  assert.deepEqual(status(rig), { passwordSet: false, signedOnly: false, apMode: "always", apOpen: true });
  const home = rig.get("/").body;
  assert.match(home, /<li id=open-unsigned>/);
  assert.match(home, /<li id=open-ap>The access point has no password and is always on\.<\/li>/);
  rig.store.set(PASSWORD_KEY, "hunter22");
  assert.equal(status(rig).passwordSet, true);

  const closed = portalRig({ signing: signaturePolicy([testKey(1).config], { chipId: 0, projectName: "ota-demo", secureVersion: 0 }, nobleDigest), security: { apHasPassword: true } });
  closed.store.set(PASSWORD_KEY, "hunter22");
  assert.deepEqual(status(closed), { passwordSet: true, signedOnly: true, apMode: "always", apOpen: false });
  assert.doesNotMatch(closed.get("/").body, /id=security/, "nothing open: no section");

  const ap: ApStatus = { mode: "setup", up: true, closesInS: 120 };
  const lifecycle = portalRig({ ap: { status: () => ap } });
  assert.deepEqual(status(lifecycle), { passwordSet: false, signedOnly: false, apMode: "setup", apOpen: true });
  assert.match(lifecycle.get("/").body, /<li id=open-ap>The access point has no password\.<\/li>/);
  ap.up = false;
  assert.equal(status(lifecycle).apOpen, false, "an AP that is down is not open");
});

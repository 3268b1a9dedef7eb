import { test, assert } from "../../harness/t";
import { header, portalRig } from "../../fakes/portal-client";
import { basicHeader, PASSWORD_KEY } from "../../../modules/core/portal/basic-auth";
import { ROUTES } from "../../../modules/core/portal/portal";
import { PROBE_PATHS } from "../../../modules/core/portal/captive";

/** The only routes anyone on the access point may use without the password. */
const OPEN = ["/", "/api/status"];

const GUARDED_GETS = ["/wifi", "/update", "/progress", "/password", "/api/catalog", "/api/progress", "/api/scan"];
const GUARDED_POSTS = ["/wifi/connect", "/wifi/forget", "/update", "/update/settings", "/update/cancel", "/api/update", "/api/cancel", "/api/catalog", "/api/scan", "/password"];

test("without a password every page opens on the access point (what changes the firmware is refused: security.test.ts)", () => {
  const rig = portalRig();
  for (const path of GUARDED_GETS) assert.equal(rig.get(path).status, 200, path);
});

test("a password set from the portal guards Wi-Fi, UPDATE and their APIs; home and status stay open", () => {
  const rig = portalRig();
  const set = rig.post("/password", { new: "hunter22", confirm: "hunter22" });
  assert.equal(set.status, 200);
  assert.match(set.body, /Password saved/);
  assert.equal(rig.store.get(PASSWORD_KEY), "hunter22");
  for (const path of GUARDED_GETS) {
    const r = rig.get(path);
    assert.equal(r.status, 401, path);
    assert.equal(header(r, "www-authenticate"), 'Basic realm="ota-demo portal", charset="UTF-8"');
  }
  for (const path of GUARDED_POSTS) assert.equal(rig.post(path, { fw: "a.bin", ssid: "x", password: "12345678" }).status, 401, `POST ${path}`);
  assert.equal(rig.wifi.connects.length, 0);
  assert.deepEqual(rig.updater.calls, []);
  assert.equal(rig.get("/").status, 200);
  assert.match(rig.get("/").body, /Portal password \(set\)/);
  assert.equal(rig.get("/api/status").status, 200, "the progress page finds the restarted device without a prompt");
  const wrong = { headers: { authorization: basicHeader("admin", "hunter2") } };
  assert.equal(rig.get("/wifi", wrong).status, 401);
  const right = { headers: { authorization: basicHeader("admin", "hunter22") } };
  for (const path of GUARDED_GETS) assert.equal(rig.get(path, right).status, 200, path);
  assert.equal(rig.post("/wifi/connect", { ssid: "x", password: "12345678" }, right).status, 200);
});

test("the password can be changed and removed only with the current one", () => {
  const rig = portalRig();
  rig.post("/password", { new: "first-pass", confirm: "first-pass" });
  assert.equal(rig.post("/password", { new: "", confirm: "" }).status, 401);
  const auth = { headers: { authorization: basicHeader("admin", "first-pass") } };
  const removed = rig.post("/password", { new: "", confirm: "" }, auth);
  assert.match(removed.body, /Password removed/);
  assert.equal(rig.store.get(PASSWORD_KEY), undefined);
  assert.equal(rig.get("/wifi").status, 200);
});

test("mismatched or over-long passwords are refused", () => {
  const rig = portalRig();
  const differ = rig.post("/password", { new: "aaaaaaaa", confirm: "aaaaaaab" });
  assert.equal(differ.status, 400);
  assert.match(differ.body, /<p id=error>The two passwords differ\.<\/p>/);
  const long = "x".repeat(70);
  assert.equal(rig.post("/password", { new: long, confirm: long }).status, 400);
  assert.equal(rig.store.get(PASSWORD_KEY), undefined);
});

test("with a password, every route in the portal's table asks for it except home and status; captive probes redirect", () => {
  const rig = portalRig();
  rig.post("/password", { new: "hunter22", confirm: "hunter22" });
  const checked: string[] = [];
  for (const route of ROUTES) {
    for (const method of ["GET", "POST"] as const) {
      if ((method === "GET" ? route.get : route.post) === undefined) continue;
      const r = method === "GET" ? rig.get(route.path) : rig.post(route.path, { fw: "a.bin", ssid: "x", password: "12345678", url: "http://192.168.4.2:8000/u" });
      const expected = OPEN.includes(route.path) ? 200 : 401;
      assert.equal(r.status, expected, `${method} ${route.path}`);
      checked.push(`${method} ${route.path}`);
    }
  }
  assert.ok(checked.includes("POST /update/checkin"), "the check-in that downloads from any URL is in the table");
  assert.ok(checked.length >= 20, checked.join(", "));
  assert.deepEqual(rig.updater.calls, [], "nothing reached the updater");
  assert.equal(rig.wifi.connects.length, 0);
  for (const probe of PROBE_PATHS) assert.equal(rig.get(probe).status, 302, probe);
});

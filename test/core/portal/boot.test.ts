// What the portal says about the running image and "Go back" (Node and XS):
// the /api/status contract (otaState, lastUpdate, previous), the home page's
// wording, and POST /rollback and /api/rollback.
import { test, assert } from "../../harness/t";
import { setPassword } from "../../../modules/core/portal/basic-auth";
import { portalRig, OPEN_PORTAL } from "../../fakes/portal-client";
import { bootStatus } from "../../fakes/scripted-boot";

const V200 = { version: "2.0.0", projectName: "ota-demo", secureVersion: 0 };

test("/api/status: otaState, lastUpdate {version, result}, previous {partition, version, bootable}", () => {
  const web = portalRig(OPEN_PORTAL);
  let s = JSON.parse(web.get("/api/status").body);
  assert.equal(s.otaState, "valid");
  assert.equal(s.lastUpdate, null);
  assert.deepEqual(s.previous, { partition: "ota_1", version: null, bootable: false });
  web.boot.current = bootStatus({
    otaState: "pending-verify",
    phase: "checking",
    remainingMs: 41_000,
    waitingFor: "Wi-Fi station: not joined to home",
    lastUpdate: { version: "2.1.0", result: "rolled-back", reason: "portal: answered 500" },
    previous: { partition: "ota_1", app: V200, state: "valid", bootable: true },
  });
  s = JSON.parse(web.get("/api/status").body);
  assert.equal(s.otaState, "pending-verify");
  assert.deepEqual(s.lastUpdate, { version: "2.1.0", result: "rolled-back" }, "exactly the two fields of the contract");
  assert.deepEqual(s.previous, { partition: "ota_1", version: "2.0.0", bootable: true });
  assert.deepEqual(s.validation, { phase: "checking", remainingMs: 41_000, waitingFor: "Wi-Fi station: not joined to home", reason: "portal: answered 500" });
});

test("home page: a rolled-back update says so plainly, with the reason, and offers no way back to it", () => {
  const web = portalRig(OPEN_PORTAL);
  web.boot.current = bootStatus({
    running: { partition: "ota_0", app: V200, state: "valid", bootable: true },
    lastUpdate: { version: "2.1.0", result: "rolled-back", reason: "Wi-Fi station: not joined to home after 60 s" },
    previous: { partition: "ota_1", app: { ...V200, version: "2.1.0" }, state: "invalid", bootable: false },
  });
  const page = web.get("/").body;
  assert.match(page, /<p id=last-update class=error>2\.1\.0 failed its start-up check and was rolled back; running 2\.0\.0<\/p>/);
  assert.match(page, /<p id=last-reason class=meta>Wi-Fi station: not joined to home after 60 s<\/p>/);
  assert.match(page, /<dd id=previous>2\.1\.0 <span class=meta>ota_1, not bootable<\/span><\/dd>/);
  assert.doesNotMatch(page, /rollback-form/);
});

test("home page: while checking, the time left and what it waits for; no Go back meanwhile", () => {
  const web = portalRig(OPEN_PORTAL);
  web.boot.current = bootStatus({ otaState: "pending-verify", phase: "checking", remainingMs: 12_400, waitingFor: "portal: <no answer>", previous: { partition: "ota_1", app: V200, state: "valid", bootable: true } });
  const page = web.get("/").body;
  assert.match(page, /<p id=boot-check>Checking the new firmware: 12\.4 s left <span class=meta>\(waiting for portal: &lt;no answer&gt;\)<\/span>/);
  assert.match(page, /<dd id=ota-state>pending-verify<\/dd>/);
  assert.doesNotMatch(page, /rollback-form/);
});

test("home page: a bootable previous image is offered as 'Go back to 2.0.0'; an old bootloader is pointed out", () => {
  const web = portalRig(OPEN_PORTAL);
  web.boot.current = bootStatus({ lastUpdate: { version: "2.1.0", result: "valid" }, previous: { partition: "ota_1", app: V200, state: "valid", bootable: true }, bootloaderWithoutRollback: true });
  const page = web.get("/").body;
  assert.match(page, /<p id=last-update class=ok>2\.1\.0 passed its start-up check<\/p>/);
  assert.match(page, /<form id=rollback-form method=post action="\/rollback"><button class=alt id=rollback-btn>Go back to 2\.0\.0<\/button><\/form>/);
  assert.match(page, /id=bootloader-warning/);
  web.updater.state = { ...web.updater.state, phase: "downloading" };
  assert.doesNotMatch(web.get("/").body, /rollback-form/, "not during an update");
});

test("home page: a previous image below the running secure_version (signed-only board) is named with the reason, no Go back button", () => {
  const web = portalRig(OPEN_PORTAL);
  const reason = "2.0.0 cannot be started again: its secure_version 1 is lower than the running firmware's 2";
  web.boot.current = bootStatus({ previous: { partition: "ota_1", app: { ...V200, secureVersion: 1 }, state: "valid", bootable: true }, goBackRefused: reason });
  const page = web.get("/").body;
  assert.doesNotMatch(page, /rollback-form/);
  assert.match(page, /<p id=rollback-refused class=meta>2\.0\.0 cannot be started again: its secure_version 1 is lower than the running firmware&#39;s 2<\/p>/);
});

test("POST /rollback and /api/rollback: go back, or 409 with the reason; guarded by the portal password", () => {
  const web = portalRig(OPEN_PORTAL);
  web.boot.current = bootStatus({ previous: { partition: "ota_1", app: V200, state: "valid", bootable: true } });
  const page = web.post("/rollback", {});
  assert.equal(page.status, 200);
  assert.match(page.body, /<p id=status>Restarting into 2\.0\.0…<\/p>/);
  assert.equal(web.boot.wentBack, 1);
  const api = web.post("/api/rollback", {});
  assert.deepEqual(JSON.parse(api.body), { ok: true, version: "2.0.0" });
  web.boot.goBackError = "ota_1 holds no bootable firmware";
  const refused = web.post("/api/rollback", {});
  assert.equal(refused.status, 409);
  assert.deepEqual(JSON.parse(refused.body), { ok: false, error: "ota_1 holds no bootable firmware" });
  assert.equal(web.post("/rollback", {}).status, 409);
  web.boot.goBackError = undefined;
  web.updater.state = { ...web.updater.state, phase: "downloading" };
  assert.equal(web.post("/api/rollback", {}).status, 409, "not while an update runs");
  assert.equal(web.boot.wentBack, 2);
  setPassword(web.store, "s3cret-pass");
  assert.equal(web.post("/rollback", {}).status, 401);
  assert.equal(web.post("/api/rollback", {}).status, 401);
  assert.equal(web.boot.wentBack, 2);
});

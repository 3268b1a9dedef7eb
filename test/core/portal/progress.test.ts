import { test, assert } from "../../harness/t";
import { header, portalRig } from "../../fakes/portal-client";
import { MISSES_BEFORE_WAITING, POLL_MS, statusLine } from "../../../modules/core/portal/page-progress";
import type { Progress } from "../../../modules/core/updater-api";

const base: Progress = { phase: "downloading", target: "fw-1.1.0.bin", received: 0, total: 0, rate: 0, resumes: 0 };

test("GET /api/progress is the updater's Progress plus the boot id", () => {
  const rig = portalRig();
  rig.updater.state = { ...base, received: 4096, total: 1572864, rate: 100000 };
  const r = rig.get("/api/progress");
  assert.equal(header(r, "content-type"), "application/json");
  const p = JSON.parse(r.body);
  assert.equal(p.phase, "downloading");
  assert.equal(p.received, 4096);
  assert.equal(p.total, 1572864);
  assert.equal(p.boot, JSON.parse(rig.get("/api/status").body).boot);
});

test("the progress page shows the bar, status and a cancel button while running, and polls once a second", () => {
  const rig = portalRig();
  rig.updater.state = { ...base, received: 786432, total: 1572864 };
  const page = rig.get("/progress").body;
  assert.match(page, /<p id=target>fw-1\.1\.0\.bin<\/p>/);
  assert.match(page, /<progress id=progress max=100 value=50 aria-valuenow=50 /);
  assert.match(page, /<p id=status>Downloading: 768 KB of 1\.5 MB \(50%\)<\/p>/);
  assert.match(page, /<form id=cancel-form method=post action="\/update\/cancel">/);
  assert.match(page, /<noscript><meta http-equiv=refresh content=3><\/noscript>/);
  assert.equal(POLL_MS, 1000);
  assert.ok(page.includes(`setTimeout(poll,${POLL_MS})`), "polls about once a second");
  assert.ok(page.includes(`miss>=${MISSES_BEFORE_WAITING}`), "waits through missed polls");
  assert.match(page, /"poll":true/);
  assert.doesNotMatch(page, /__[A-Z]+__/, "every placeholder filled");
});

test("cancel goes through the updater and back to the progress page", () => {
  const rig = portalRig();
  rig.updater.state = { ...base, received: 10, total: 100 };
  const r = rig.post("/update/cancel", {});
  assert.equal(r.status, 303);
  assert.equal(header(r, "location"), "/progress");
  assert.deepEqual(rig.updater.calls, ["cancel"]);
  assert.match(rig.get("/progress").body, /The update was cancelled; the running firmware is unchanged\./);
  assert.equal(JSON.parse(rig.post("/api/cancel", {}).body).phase, "cancelled");
});

test("failed, done and idle render their final words", () => {
  const rig = portalRig();
  rig.updater.state = { ...base, phase: "failed", received: 100, total: 200, error: "Wrong MD5" };
  const failed = rig.get("/progress").body;
  assert.match(failed, /<p id=error>Wrong MD5<\/p>/);
  assert.match(failed, /<progress id=progress class=bad /, "a failed update's bar is drawn as failed, not as a finished one");
  assert.doesNotMatch(failed, /<form id=cancel-form/);
  assert.match(failed, /"poll":false/);
  rig.updater.state = { ...base, phase: "done", received: 200, total: 200 };
  const done = rig.get("/progress").body;
  assert.match(done, /<p id=result class=ok>fw-1\.1\.0\.bin successfully updated\. Restarting…<\/p>/);
  assert.doesNotMatch(done, /<progress[^>]*class=bad/);
  assert.match(done, /"poll":true/, "keeps polling to see the device come back");
  rig.updater.state = { phase: "idle", target: "", received: 0, total: 0, rate: 0, resumes: 0 };
  assert.match(rig.get("/progress").body, /<p id=status>No update running<\/p>/);
});

test("statusLine words each phase", () => {
  assert.equal(statusLine({ ...base, phase: "connecting" }), "Connecting to the update server…");
  assert.equal(statusLine({ ...base, phase: "verifying", received: 2048, total: 2048 }), "Verifying…: 2 KB of 2 KB (100%)");
  assert.equal(statusLine({ ...base, phase: "current" }), "Firmware is up to date");
});

test("home links a running update's progress", () => {
  const rig = portalRig();
  rig.updater.state = { ...base, received: 1, total: 2 };
  assert.match(rig.get("/").body, /<a href="\/progress">Show progress<\/a>/);
});

// "Install a file from this phone" on the UPDATE page (Node and XS): the form
// and its stable ids, the no-script wording, and GET /update/upload.js, the
// page's script (its behaviour in Chromium: test/e2e/upload-form.test.ts).
import { test, assert } from "../../harness/t";
import { header, portalRig } from "../../fakes/portal-client";
import { basicHeader, setPassword } from "../../../modules/core/portal/basic-auth";
import { HASH_SLICE, MD5_JS, UPLOAD_SCRIPT, UPLOAD_SCRIPT_PATH } from "../../../modules/core/portal/page-upload";
import type { CatalogState } from "../../../modules/core/updater-api";

const STATES: CatalogState[] = [
  { state: "idle" },
  { state: "loading" },
  { state: "error", error: "Update server 192.168.1.10:8000 cannot be reached" },
  { state: "ready", entries: [] },
  { state: "ready", entries: [{ name: "fw.bin", date: "11/22/26", time: "10:55:15", size: 1000 }] },
];

test("the UPDATE page offers the upload form in every catalog state, its button off until the script runs", () => {
  const rig = portalRig();
  for (const state of STATES) {
    rig.updater.catalogState = state;
    const page = rig.get("/update?cached=1").body;
    assert.match(page, /<h2>Install a file from this phone<\/h2><form id=upload-form>/, state.state);
    assert.match(page, /<input type=file id=upload-file name=file accept="\.bin,application\/octet-stream" required>/);
    assert.match(page, /<button id=upload-btn disabled>Install this file<\/button>/);
    assert.match(page, /<p id=upload-status class=meta aria-live=polite><\/p>/);
    assert.match(page, /<progress id=upload-progress max=100 value=0 hidden><\/progress>/);
    assert.match(page, /<noscript><p class=why id=upload-noscript>Uploads need JavaScript, which is off in this browser\.<\/p><\/noscript>/);
    assert.equal(page.split("<script defer src=").length - 1, 1, "the script is linked once");
  }
});

test("the page links the script for this boot: a restart (maybe into another firmware) fetches it again", () => {
  const rig = portalRig();
  const page = rig.get("/update?cached=1").body;
  const src = /<script defer src="([^"]*)"><\/script>/.exec(page)?.[1] ?? "";
  const boot = JSON.parse(rig.get("/api/status").body).boot as string;
  assert.equal(src, `${UPLOAD_SCRIPT_PATH}?boot=${encodeURIComponent(boot)}`);
});

test("GET /update/upload.js: the script, as JavaScript, cached privately; HEAD has no body", () => {
  const rig = portalRig();
  const r = rig.get(`${UPLOAD_SCRIPT_PATH}?boot=x`);
  assert.equal(r.status, 200);
  assert.equal(header(r, "content-type"), "text/javascript; charset=utf-8");
  assert.equal(header(r, "cache-control"), "private, max-age=86400");
  assert.equal(header(r, "x-content-type-options"), "nosniff");
  assert.equal(r.body, UPLOAD_SCRIPT);
  assert.ok(UPLOAD_SCRIPT.length < 4096, `${UPLOAD_SCRIPT.length} bytes`);
  assert.equal(rig.portal({ ...rigRequest("HEAD"), path: UPLOAD_SCRIPT_PATH }).body, "");
});

function rigRequest(method: string) {
  return { method, path: "/", query: "", headers: new Map([["host", "192.168.4.1"]]), body: "" };
}

test("the script is guarded by the portal password like the UPDATE page", () => {
  const rig = portalRig();
  setPassword(rig.store, "hunter22");
  assert.equal(rig.get(UPLOAD_SCRIPT_PATH).status, 401);
  assert.equal(rig.get(UPLOAD_SCRIPT_PATH, { headers: { authorization: basicHeader("admin", "hunter22") } }).status, 200);
});

test("the script is one self-contained function: the MD5 built in with its 64 KB slice, no placeholder left", () => {
  assert.ok(UPLOAD_SCRIPT.includes(MD5_JS));
  assert.ok(MD5_JS.includes(`Z=${HASH_SLICE},`));
  assert.equal(HASH_SLICE % 64, 0, "only the last slice has a partial block");
  assert.doesNotMatch(UPLOAD_SCRIPT, /__[A-Z0-9]+__/);
  assert.match(UPLOAD_SCRIPT, /^\(function\(\)\{.*\}\)\(\)$/);
});

test("while a file is picked or sent, the loading catalog does not reload the page over it", () => {
  const rig = portalRig();
  rig.updater.catalogState = { state: "loading" };
  const page = rig.get("/update?cached=1").body;
  assert.match(page, /else if\(!window\.B\)location\.replace\('\/update\?cached=1'\)/);
  assert.match(UPLOAD_SCRIPT, /I\.onchange=function\(\)\{window\.B=1\}/);
});

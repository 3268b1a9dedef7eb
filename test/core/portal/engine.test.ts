// The portal over the REAL update engine (createUpdater) on the engine's
// hardware fakes: scripted HTTP, byte-exact flash, manual clock.
import { test, assert } from "../../harness/t";
import type { HttpRequest } from "../../../modules/core/ports";
import { utf8Encode } from "../../../modules/core/bytes";
import { createPortal } from "../../../modules/core/portal/portal";
import { createRig, type Rig } from "../../fakes/rig";
import { serveBytes, type ScriptedResponse } from "../../fakes/http";
import { buildImage } from "../../fakes/image";
import { md5Hex } from "../../fakes/digest";
import { FakeWifi } from "../../fakes/wifi";
import { formBody, header, request, OPEN_PORTAL } from "../../fakes/portal-client";

const IMAGE = buildImage({ size: 60_000, seed: 11 });

function engineRig(md5 = md5Hex(IMAGE)): Rig {
  // Row shape of AutoConnect's updateserver.py catalog (protocol.md section 1); too-big.bin exceeds the 1 MB slot.
  const catalog = utf8Encode(
    `[{"name":"fw-2.0.0.bin","type":"bin","date":"11/22/26","time":"10:55:15","size":${IMAGE.length}},` +
      `{"name":"too-big.bin","type":"bin","date":"11/22/26","time":"11:00:00","size":3000000},` +
      `{"name":"notes.txt","type":"file","date":"11/22/26","time":"11:00:00","size":10}]`,
  );
  return createRig({
    route: (r: HttpRequest): ScriptedResponse =>
      r.path === "/update.php"
        ? { status: 304 }
        : r.path.startsWith("/_catalog") ? { status: 200, headers: [["Content-Type", "application/json"], ["Content-Length", String(catalog.length)]], body: catalog } : serveBytes(IMAGE, r, { headers: [["x-MD5", md5]] }),
  });
}

function portalOver(rig: Rig) {
  const wifi = new FakeWifi({ connected: true, stationSsid: "lab", stationAddress: "192.168.1.57" });
  const portal = createPortal({ ...OPEN_PORTAL, updater: rig.updater, boot: rig.boot, device: rig.device, wifi, store: rig.store, system: rig.system, clock: rig.clock, portalHost: "192.168.4.1" });
  return {
    get: (target: string) => portal(request("GET", target)),
    post: (target: string, fields: Record<string, string>) => portal(request("POST", target, { body: formBody(fields) })),
  };
}

test("UPDATE click through to done: catalog, radio list, streaming, restart", async () => {
  const rig = engineRig();
  const web = portalOver(rig);

  assert.match(web.get("/update").body, /Loading the catalog from 192\.168\.4\.2:8000/);
  assert.equal(JSON.parse(web.get("/api/catalog").body).state, "loading");
  await rig.settle();
  assert.equal(JSON.parse(web.get("/api/catalog").body).state, "ready");

  const page = web.get("/update?cached=1").body;
  assert.match(page, /<input type=radio name=fw value="fw-2\.0\.0\.bin" required>/);
  assert.match(page, /11\/22\/26 10:55 · 58\.6 KB/);
  assert.match(page, /value="too-big\.bin" disabled>.*<span class=why>Too large/);
  assert.doesNotMatch(page, /notes\.txt/, "only bin rows are offered");

  const click = web.post("/update", { fw: "fw-2.0.0.bin" });
  assert.equal(click.status, 303);
  assert.equal(header(click, "location"), "/progress");
  await rig.settle();

  const progress = JSON.parse(web.get("/api/progress").body);
  assert.equal(progress.phase, "done");
  assert.equal(progress.received, IMAGE.length);
  assert.equal(progress.total, IMAGE.length);
  assert.deepEqual(rig.flash.slots[1].subarray(0, IMAGE.length), IMAGE, "the image is in the next slot");
  assert.equal(rig.flash.bootSlot, 1);
  assert.match(web.get("/progress").body, /fw-2\.0\.0\.bin successfully updated\. Restarting…/);

  assert.equal(rig.system.restarts, 0);
  rig.clock.advance(3000);
  assert.equal(rig.system.restarts, 1, "the engine restarts the board after the page could see done");
});

test("a wrong MD5 ends on the progress page in red and the boot slot is untouched", async () => {
  const rig = engineRig("00000000000000000000000000000000");
  const web = portalOver(rig);
  web.get("/update");
  await rig.settle();
  assert.equal(web.post("/update", { fw: "fw-2.0.0.bin" }).status, 303);
  await rig.settle();
  const progress = JSON.parse(web.get("/api/progress").body);
  assert.equal(progress.phase, "failed");
  assert.ok(progress.error && progress.error.length > 0);
  const page = web.get("/progress").body;
  assert.ok(page.includes(`<p id=error>`) && !page.includes("<p id=error></p>"), "the error text is shown");
  assert.equal(rig.flash.bootSlot, 0);
  rig.clock.advance(10000);
  assert.equal(rig.system.restarts, 0);
});

test("settings saved from the portal reach the engine and its next catalog request", async () => {
  const rig = engineRig();
  const web = portalOver(rig);
  const r = web.post("/update/settings", { host: "10.0.0.7", port: "8080", path: "bin" });
  assert.equal(r.status, 303);
  await rig.settle();
  const last = rig.http.requests.filter((q) => q.path.startsWith("/_catalog")).pop()!;
  assert.deepEqual([last.host, last.port, last.path], ["10.0.0.7", 8080, "/_catalog?op=list&path=bin"]);
  assert.match(web.get("/update?cached=1").body, /name=host maxlength=64 value="10\.0\.0\.7"/);
  const bad = web.post("/update/settings", { host: "10.0.0.7", port: "0", path: "bin" });
  assert.equal(bad.status, 400);
});

test("a check-in the server answers 304 ends as 'current' on the progress page", async () => {
  const rig = engineRig();
  const web = portalOver(rig);
  assert.equal(web.post("/update/checkin", { url: "http://192.168.4.2:8000/update.php" }).status, 303);
  await rig.settle();
  assert.equal(JSON.parse(web.get("/api/progress").body).phase, "current");
  assert.match(web.get("/progress").body, /The server says this firmware is current\./);
  assert.equal(rig.flash.bootSlot, 0);
});

// The update engine and the boot policy together (Node and XS): updates wait
// while the running image awaits its verdict, a commit leaves the open
// verdict for the next boot, a failure of an offered image is recorded, and
// the outcome travels to update servers in x-ESP32-update-result.
import { test, assert } from "../../harness/t";
import type { HttpRequest } from "../../../modules/core/ports";
import { utf8Encode } from "../../../modules/core/bytes";
import { BootJournal } from "../../../modules/core/boot/journal";
import { createRig, type Rig, type RigOptions } from "../../fakes/rig";
import { serveBytes, type ScriptedResponse } from "../../fakes/http";
import { buildImage } from "../../fakes/image";
import { md5Hex } from "../../fakes/digest";

const IMAGE = buildImage({ size: 30_000, seed: 5, version: "2.2.0" });
const CATALOG = utf8Encode(`[{"name":"fw.bin","type":"bin","date":"11/22/26","time":"10:55:15","size":${IMAGE.length}}]`);

function rig(serve: (r: HttpRequest) => ScriptedResponse, extra: Partial<RigOptions> = {}, facts = ""): Rig {
  const list = CATALOG;
  const factsBody = utf8Encode(facts);
  return createRig({
    route: (r) =>
      r.path.startsWith("/_catalog")
        ? { status: 200, headers: [["Content-Length", String(list.length)]], body: list }
        : r.path.startsWith("/api/catalog")
          ? facts
            ? { status: 200, headers: [["Content-Length", String(factsBody.length)]], body: factsBody }
            : { status: 404, headers: [["Content-Length", "0"]] }
          : serve(r),
    ...extra,
  });
}

const header = (r: HttpRequest | undefined, name: string) => r?.headers?.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];

async function update(x: Rig): Promise<string | undefined> {
  x.updater.loadCatalog();
  await x.settle();
  const refused = x.updater.start("fw.bin");
  await x.settle();
  return refused;
}

test("a commit records the open verdict: the update slot and the image's own version, before the boot switch", async () => {
  const x = rig((r) => serveBytes(IMAGE, r, { headers: [["x-MD5", md5Hex(IMAGE)]] }));
  const complete = x.flash.writer.complete.bind(x.flash.writer);
  let pendingAtSwitch: unknown;
  x.flash.writer.complete = () => {
    pendingAtSwitch = new BootJournal(x.store).pending();
    complete();
  };
  assert.equal(await update(x), undefined);
  assert.equal(x.updater.progress().phase, "done");
  assert.deepEqual(pendingAtSwitch, { partition: "ota_1", version: "2.2.0" });
  assert.equal(x.boot.lastUpdate(), undefined, "the verdict is the next boot's");
});

test("while the running image awaits its verdict no update starts (esp_ota_begin would refuse it)", async () => {
  const x = rig((r) => serveBytes(IMAGE, r, { headers: [["x-MD5", md5Hex(IMAGE)]] }), { flash: { runningState: "pending-verify" }, boot: { windowMs: 30_000 } });
  assert.match((await update(x)) ?? "", /^The new firmware is still being checked \(30 s left\); update after it is confirmed$/);
  assert.match(x.updater.checkIn("http://192.168.4.2:8000/update") ?? "", /still being checked/);
  assert.equal(x.flash.writer.begins, 0);
});

test("an offered image that fails is recorded with its version; an unreachable server is not an update", async () => {
  const bad = rig((r) => serveBytes(IMAGE, r, { headers: [["x-MD5", md5Hex(IMAGE.subarray(1))]] }));
  await update(bad);
  assert.deepEqual(bad.boot.lastUpdate(), { version: "2.2.0", result: "failed", reason: "MD5 mismatch: the download was corrupted" });
  const refusedEarly = rig((r) => serveBytes(IMAGE, r, { headers: [["x-MD5", md5Hex(IMAGE)]] }), { slotSize: 20_000 });
  // too large for the slot: refused from the catalog size, before any request
  assert.match((await update(refusedEarly)) ?? "", /Too large/);
  assert.equal(refusedEarly.boot.lastUpdate(), undefined);
  const down = rig(() => ({ refuse: "connection refused" }));
  await update(down);
  assert.equal(down.updater.progress().phase, "failed");
  assert.equal(down.boot.lastUpdate(), undefined);
});

test("a failure before the descriptor is read is recorded with the catalog's version, else the name", async () => {
  const noMd5 = rig((r) => serveBytes(IMAGE, r), {}, '[{"name":"fw.bin","chipId":0,"version":"2.2.0-rc1"}]');
  await update(noMd5);
  assert.deepEqual(noMd5.boot.lastUpdate(), { version: "2.2.0-rc1", result: "failed", reason: "Server sent no MD5 checksum (x-MD5 header)" });
  const unnamed = rig((r) => serveBytes(IMAGE, r));
  await update(unnamed);
  assert.equal(unnamed.boot.lastUpdate()?.version, "fw.bin");
});

test("the last outcome goes with check-ins and catalog requests as x-ESP32-update-result / -version", async () => {
  const x = rig((r) => (r.path === "/update" ? { status: 304 } : serveBytes(IMAGE, r, { headers: [["x-MD5", md5Hex(IMAGE.subarray(1))]] })));
  x.updater.checkIn("http://192.168.4.2:8000/update");
  await x.settle();
  assert.equal(header(x.http.requests[0], "x-ESP32-update-result"), undefined, "nothing before the first update");
  await update(x);
  x.updater.checkIn("http://192.168.4.2:8000/update");
  await x.settle();
  const checkIn = x.http.requests.filter((r) => r.path === "/update").at(-1);
  assert.equal(header(checkIn, "x-ESP32-update-result"), "failed");
  assert.equal(header(checkIn, "x-ESP32-update-version"), "2.2.0");
  x.updater.loadCatalog();
  await x.settle();
  for (const prefix of ["/_catalog", "/api/catalog"]) {
    const request = x.http.requests.filter((r) => r.path.startsWith(prefix)).at(-1);
    assert.equal(header(request, "x-ESP32-update-result"), "failed", prefix);
  }
});

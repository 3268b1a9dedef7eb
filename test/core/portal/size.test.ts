// Pages are sent from the device's RAM: each stays under 8 KB with realistic
// data (a full catalog page of 20 rows, 20 scanned networks, 5 stored credentials).
import { test, assert } from "../../harness/t";
import { OPEN_PORTAL, portalRig, type PortalRig } from "../../fakes/portal-client";
import { utf8Length } from "../../../modules/core/portal/form";
import { rememberCredential } from "../../../modules/core/portal/wifi-credentials";

const LIMIT = 8192;

test("every page is under 8 KB", () => {
  const rig = portalRig();
  rig.updater.catalogState = {
    state: "ready",
    entries: Array.from({ length: 64 }, (_, i) => ({
      name: `firmware-release-${i}.bin`,
      date: "11/22/26",
      time: "10:55:15",
      size: 1500000 + i,
      disabled: i % 3 === 0 ? "Built for ESP32-S3, this is an ESP32" : undefined,
    })),
  };
  rig.wifi.synchronousScan = true;
  rig.wifi.networks = Array.from({ length: 30 }, (_, i) => ({ ssid: `Network number ${i} with long name`, rssi: -40 - i, secure: true }));
  for (let i = 0; i < 5; i++) rememberCredential(rig.store, { ssid: `Stored network ${i} name`, password: "password123" });
  rig.get("/wifi?scan"); // scan before the update starts: no scan runs during one
  assert.match(rig.get("/wifi?cached=1").body, /Network number 14 /, "the scan list is on the measured page");
  rig.updater.state = { phase: "downloading", target: "firmware-release-1.bin", received: 1000, total: 1500001, rate: 1, resumes: 0 };
  const sizes: Record<string, number> = {};
  for (const path of ["/", "/wifi?cached=1", "/update?cached=1", "/progress", "/password", "/nope"]) {
    const r = rig.get(path);
    sizes[path] = utf8Length(r.body);
    assert.ok(sizes[path] < LIMIT, `${path} is ${sizes[path]} bytes`);
  }
  rig.updater.catalogState = { state: "loading" };
  const loading = utf8Length(rig.get("/update?cached=1").body);
  assert.ok(loading < LIMIT, `loading UPDATE page is ${loading} bytes`);
});

test("the UPDATE page stays under 8 KB when everything on it is long: notes, an error, settings of escaped quotes, a running row, both paging links", () => {
  // The settings form is refused (400) on an open bench board; the locked board's pages carry the set-a-password notice instead.
  const rig = portalRig(OPEN_PORTAL);
  const locked = portalRig();
  for (const r of [rig, locked]) fill(r);
  const r = rig.post("/update/settings?from=20", { host: '"'.repeat(64), port: "x", path: '"'.repeat(128) });
  assert.equal(r.status, 400);
  const sizes = [utf8Length(r.body)];
  for (const from of [0, 20, 40]) for (const board of [rig, locked]) sizes.push(utf8Length(board.get(`/update?cached=1&from=${from}`).body));
  for (const size of sizes) assert.ok(size < LIMIT, `UPDATE pages of ${sizes.join(", ")} bytes`);
  assert.match(locked.get("/update?cached=1").body, /id=password-first/, "the locked board's notice is on the measured page");
  assert.match(rig.get("/update?cached=1&from=20").body, /class="ok running"/, "the measured rows carry the running mark");
});

function fill(rig: PortalRig): void {
  const md5 = "0123456789abcdef0123456789abcdef";
  rig.updater.catalogState = {
    state: "ready",
    entries: Array.from({ length: 64 }, (_, i) => ({
      name: `${"<".repeat(40)}-${i}.bin`,
      date: "11/22/26",
      time: "10:55:15",
      size: 1500000 + i,
      version: "&".repeat(32),
      projectName: "ota-demo",
      md5,
      disabled: i % 2 === 0 ? `Too large: 4.2 MB, the update partition holds 1.9 MB; Image is for ESP32-S3, this board is ESP32` : undefined,
    })),
  };
  rig.updater.state = { phase: "downloading", target: "x.bin", received: 1, total: 2, rate: 1, resumes: 0 };
  rig.wifi.current = { ...rig.wifi.current, connected: false };
  // A refused settings form (above) shows what was typed: 64 and 128 quotes, each escaped to 6 bytes.
}

// Which catalog entry is the running image: by MD5 where the server gives
// one, or by esp_app_desc_t version and project name together.
import { test, assert } from "../../harness/t";
import type { CatalogEntry } from "../../../modules/core/updater-api";
import type { SlotInfo } from "../../../modules/core/ports";
import { isRunningImage, runningImage, type RunningImage } from "../../../modules/core/engine/installed";
import { fakeDevice } from "../../fakes/device";

const MD5 = "0123456789abcdef0123456789abcdef";
const OTHER_MD5 = "fedcba9876543210fedcba9876543210";
const RUNNING: RunningImage = { version: "1.1.0", projectName: "thermostat", md5: MD5 };
const entry = (extra: Partial<CatalogEntry>): CatalogEntry => ({ name: "fw.bin", date: "11/22/26", time: "10:55:15", size: 1000, ...extra });
const slot = (app?: SlotInfo["app"]): SlotInfo => ({ partition: "ota_1", state: "valid", bootable: true, ...(app ? { app } : {}) });

test("version and project name both equal: running, whatever the MD5 says (the file may carry a signature block after the image)", () => {
  assert.equal(isRunningImage(entry({ version: "1.1.0", projectName: "thermostat" }), RUNNING), true);
  assert.equal(isRunningImage(entry({ version: "1.1.0", projectName: "thermostat", md5: OTHER_MD5 }), RUNNING), true);
});

test("the same version of another project, or with no project name from the server, is not running", () => {
  assert.equal(isRunningImage(entry({ version: "1.1.0", projectName: "doorbell" }), RUNNING), false);
  assert.equal(isRunningImage(entry({ version: "1.1.0" }), RUNNING), false, "AutoConnect-style facts: version only");
  assert.equal(isRunningImage(entry({ version: "1.1.1", projectName: "thermostat" }), RUNNING), false);
  assert.equal(isRunningImage(entry({ projectName: "thermostat" }), RUNNING), false);
  assert.equal(isRunningImage(entry({}), RUNNING), false, "a bare AutoConnect row");
});

test("an equal MD5 is running on its own (any case); a board that does not know its project matches only by MD5", () => {
  assert.equal(isRunningImage(entry({ md5: MD5 }), RUNNING), true);
  assert.equal(isRunningImage(entry({ md5: MD5.toUpperCase() }), RUNNING), true);
  assert.equal(isRunningImage(entry({ md5: OTHER_MD5 }), RUNNING), false);
  const noProject: RunningImage = { version: "1.1.0", md5: MD5 };
  assert.equal(isRunningImage(entry({ version: "1.1.0", projectName: "thermostat" }), noProject), false);
  assert.equal(isRunningImage(entry({ version: "1.1.0", projectName: "thermostat", md5: MD5 }), noProject), true);
  assert.equal(isRunningImage(entry({ md5: MD5 }), { version: "1.1.0" }), false, "the board's MD5 unknown");
});

test("the running image: the slot's app descriptor first, the MD5 measured at boot in lowercase", () => {
  const device = fakeDevice({ appVersion: "from-config", sketchMd5: MD5.toUpperCase() });
  assert.deepEqual(runningImage(device, slot({ version: "1.1.0", projectName: "thermostat", secureVersion: 0 })), RUNNING);
  assert.deepEqual(runningImage(fakeDevice({ appVersion: "0.9.0", sketchMd5: undefined }), slot()), { version: "0.9.0" }, "no descriptor: the device's version, no project");
  assert.deepEqual(runningImage(fakeDevice({ sketchMd5: undefined }), slot({ version: "1.1.0", projectName: "", secureVersion: 0 })), { version: "1.1.0" });
});

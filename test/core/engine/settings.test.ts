import { test, assert } from "../../harness/t";
import { SETTINGS_KEYS, loadSettings, normalizePath, validateSettings } from "../../../modules/core/engine/settings";
import { firmwarePath } from "../../../modules/core/engine/paths";
import { createRig, TEST_SERVER } from "../../fakes/rig";
import { MemoryStore } from "../../fakes/store";

test("defaults until settings are saved; saved settings survive a new updater (a reboot)", () => {
  const store = new MemoryStore();
  const rig = createRig({ route: [], store });
  assert.deepEqual(rig.updater.settings(), TEST_SERVER);
  assert.equal(rig.updater.saveSettings({ host: " updates.lan ", port: 8080, path: "/fw/esp32/" }), undefined);
  assert.deepEqual(rig.updater.settings(), { host: "updates.lan", port: 8080, path: "fw/esp32" });
  assert.deepEqual(createRig({ route: [], store }).updater.settings(), { host: "updates.lan", port: 8080, path: "fw/esp32" });
  for (const key of Object.values(SETTINGS_KEYS)) assert.ok(key.length <= 15, `${key} fits an NVS key`);
});

test("invalid settings are refused with a reason and nothing is stored", () => {
  const rig = createRig({ route: [] });
  const cases: Array<[{ host: string; port: number; path: string }, string]> = [
    [{ host: "", port: 8000, path: "." }, "Enter the update server's host name or address"],
    [{ host: "a b", port: 8000, path: "." }, "Not a host name or address: a b"],
    [{ host: "h", port: 0, path: "." }, "Port must be a number from 1 to 65535"],
    [{ host: "h", port: 65536, path: "." }, "Port must be a number from 1 to 65535"],
    [{ host: "h", port: Number("x"), path: "." }, "Port must be a number from 1 to 65535"],
    [{ host: "h", port: 80, path: "../etc" }, "Catalog path may not contain .."],
    [{ host: "h", port: 80, path: "a b" }, "Catalog path may not contain spaces, ?, #, % or \\"],
  ];
  for (const [s, error] of cases) assert.equal(rig.updater.saveSettings(s), error);
  assert.equal(rig.store.data.size, 0);
  assert.deepEqual(rig.updater.settings(), TEST_SERVER);
});

test("unusable stored settings fall back to the defaults", () => {
  const store = new MemoryStore({ [SETTINGS_KEYS.host]: "bad host!", [SETTINGS_KEYS.port]: "80" });
  assert.deepEqual(loadSettings(store, TEST_SERVER), TEST_SERVER);
  assert.equal(validateSettings(TEST_SERVER), undefined);
});

test("catalog folder and firmware paths", () => {
  assert.equal(normalizePath(""), ".");
  assert.equal(normalizePath("/"), ".");
  assert.equal(normalizePath("/bin/"), "bin");
  assert.equal(firmwarePath(".", "fw.bin"), "/fw.bin");
  assert.equal(firmwarePath("bin", "fw v2.bin"), "/bin/fw%20v2.bin");
});

test("firmware names go out literally; only what a request line cannot carry is encoded", () => {
  // updateserver.py serves the raw request target and decodes nothing
  for (const name of ["a+b.bin", "hash#1.bin", "100%.bin", "%41.bin", "q?x=1.bin", "del\x7f.bin", "[x]{y}|z.bin"])
    assert.equal(firmwarePath(".", name), `/${name}`);
  assert.equal(firmwarePath("my fw", "a b.bin"), "/my%20fw/a%20b.bin");
  assert.equal(firmwarePath(".", "tab\there.bin"), "/tab%09here.bin");
  assert.equal(firmwarePath(".", "fïrmwäre-€.bin"), "/f%C3%AFrmw%C3%A4re-%E2%82%AC.bin");
  assert.equal(firmwarePath(".", "emoji-\ud83d\ude00.bin"), "/emoji-%F0%9F%98%80.bin");
  assert.equal(firmwarePath(".", "lone-\ud83d.bin"), "/lone-%EF%BF%BD.bin");
});

test("the fake store enforces NVS limits", () => {
  const store = new MemoryStore();
  assert.throws(() => store.set("a.key.of.16.char", "x"), "1 to 15 characters");
  assert.throws(() => store.set("k", "é".repeat(2001)), "over 4000 bytes");
  store.set("k", "x".repeat(4000));
  assert.equal(store.get("k")?.length, 4000);
});

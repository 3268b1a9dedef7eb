// Advanced-updater rules files: JSON and YAML, validation, and which target a
// device gets (own entry by STA, BASE or AP MAC, then group, then default).
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { DeviceRequest } from "../../server/device-headers";
import { loadRules, parseRules, RulesError, selectTarget } from "../../server/rules";
import { tempDir } from "./helpers";

const YAML = `
endpoint: /fw/check
default: app/v2.bin
groups:
  lab:
    firmware: app/lab.bin
    chip: ESP32-S3
    members: ["24:6f:28:00:00:01"]
  kiosk: { firmware: app/kiosk.bin }
devices:
  "de-ba-7a-b1-e0-42": { firmware: app/special.bin, chip: esp8266, version: 7 }
  "24:6F:28:00:00:02": { group: kiosk }
  "246F28000003": { firmware: app/s.bin, filesystem: fs/s.bin }
`;

function device(macs: Partial<Pick<DeviceRequest, "staMac" | "apMac" | "baseMac">>): DeviceRequest {
  return { family: "esp32", userAgentOk: true, mode: "sketch", modeName: "sketch", ...macs };
}

describe("rules", () => {
  test("YAML: endpoint, default, groups and devices, MACs in any notation", () => {
    const rules = parseRules(YAML, "yaml");
    assert.equal(rules.endpoint, "/fw/check");
    assert.equal(rules.fallback?.firmware, "app/v2.bin");
    assert.deepEqual([...rules.devices.keys()], ["DE:BA:7A:B1:E0:42", "24:6F:28:00:00:03"]);
    assert.equal(rules.devices.get("DE:BA:7A:B1:E0:42")?.version, "7");
    assert.deepEqual(rules.devices.get("DE:BA:7A:B1:E0:42")?.chip, { family: "esp8266", label: "ESP8266" });
    assert.deepEqual(rules.groups.get("lab")?.chip, { family: "esp32", chipId: 9, label: "ESP32-S3" });
    assert.equal(rules.groupMembers.get("24:6F:28:00:00:01"), "lab");
    assert.equal(rules.groupMembers.get("24:6F:28:00:00:02"), "kiosk");
  });

  test("JSON files load like YAML ones", async () => {
    const dir = await tempDir();
    const file = join(dir, "rules.json");
    await writeFile(file, JSON.stringify({ default: { firmware: "a.bin", chip: "esp32c3" }, devices: { "AA:BB:CC:DD:EE:FF": "b.bin" } }));
    const rules = await loadRules(file);
    assert.equal(rules.endpoint, "/update");
    assert.equal(rules.fallback?.chip?.chipId, 5);
    assert.equal(rules.devices.get("AA:BB:CC:DD:EE:FF")?.firmware, "b.bin");
    await writeFile(join(dir, "rules.yaml"), YAML);
    assert.equal((await loadRules(join(dir, "rules.yaml"))).endpoint, "/fw/check");
  });

  test("selection: own entry (STA, then BASE, then AP) over group over default", () => {
    const rules = parseRules(YAML, "yaml");
    assert.equal(selectTarget(rules, device({ staMac: "DE:BA:7A:B1:E0:42" }))?.source, "device DE:BA:7A:B1:E0:42");
    assert.equal(selectTarget(rules, device({ staMac: "00:00:00:00:00:01", apMac: "DE:BA:7A:B1:E0:42" }))?.firmware, "app/special.bin");
    assert.equal(selectTarget(rules, device({ staMac: "00:00:00:00:00:01", baseMac: "24:6F:28:00:00:03" }))?.firmware, "app/s.bin");
    assert.equal(selectTarget(rules, device({ staMac: "24:6F:28:00:00:01" }))?.source, "group lab");
    assert.equal(selectTarget(rules, device({ staMac: "24:6F:28:00:00:02" }))?.firmware, "app/kiosk.bin");
    // own entry by AP MAC beats a group membership by STA MAC
    assert.equal(selectTarget(rules, device({ staMac: "24:6F:28:00:00:01", apMac: "24:6F:28:00:00:03" }))?.firmware, "app/s.bin");
    assert.equal(selectTarget(rules, device({ staMac: "11:22:33:44:55:66" }))?.source, "default");
    assert.equal(selectTarget(parseRules("devices: {}", "yaml"), device({ staMac: "11:22:33:44:55:66" })), undefined);
  });

  test("channel: on the target that matches the board, group members inherit it, absent by default", () => {
    const rules = parseRules(
      'default: { firmware: a.bin, channel: stable }\ngroups: { testers: { firmware: a.bin, channel: beta, members: ["24:6F:28:00:00:01"] } }\ndevices: { "24:6F:28:00:00:02": b.bin }',
      "yaml",
    );
    assert.equal(selectTarget(rules, device({ staMac: "24:6F:28:00:00:01" }))?.channel, "beta");
    assert.equal(selectTarget(rules, device({ staMac: "11:22:33:44:55:66" }))?.channel, "stable");
    assert.equal(selectTarget(rules, device({ staMac: "24:6F:28:00:00:02" }))?.channel, undefined);
  });

  for (const [label, text, message] of [
    ["a key that is not a MAC", "devices: { kitchen: a.bin }", /"kitchen" is not a MAC address/],
    ["an unknown chip", "default: { firmware: a.bin, chip: esp31 }", /unknown chip "esp31"/],
    ["an unknown key", "default: { firmware: a.bin, colour: red }", /unknown key "colour"/],
    ["a path leaving the catalog", "default: ../etc/passwd", /inside the catalog/],
    ["an absolute path", "default: /etc/passwd", /inside the catalog/],
    ["a hidden file", "default: .secret/app.bin", /hidden files/],
    ["a hidden folder on the way", "default: { firmware: app/.git/x.bin }", /hidden files/],
    ["a target without an image", "default: { chip: esp32 }", /names no firmware/],
    ["a group that does not exist", 'devices: { "AA:BB:CC:DD:EE:FF": { group: nope } }', /no group "nope"/],
    ["a MAC in two groups", 'groups: { a: { firmware: a.bin, members: ["AA:BB:CC:DD:EE:FF"] }, b: { firmware: b.bin, members: ["aa:bb:cc:dd:ee:ff"] } }', /already in group a/],
    ["an endpoint over the catalog", "endpoint: /_catalog", /endpoint/],
    ["a list at the top", "- a.bin", /top level/],
    ["broken YAML", "default: [a.bin", /not valid YAML/],
    ["a channel with spaces", "default: { firmware: a.bin, channel: my beta }", /channel: letters, digits/],
  ] as const) {
    test(`refuses ${label}`, () => {
      assert.throws(() => parseRules(text, "yaml"), (e: unknown) => e instanceof RulesError && message.test(e.message));
    });
  }
});

test("the example rules file shipped in server/ is valid", async () => {
  const rules = await loadRules(join(import.meta.dirname, "..", "..", "server", "rules.example.yaml"));
  assert.equal(rules.endpoint, "/update");
  assert.equal(rules.groupMembers.get("24:6F:28:AA:BB:03"), "greenhouse");
  assert.equal(rules.devices.get("24:6F:28:AA:BB:04")?.filesystem, "esp32/littlefs-1.2.0.bin");
  assert.equal(rules.groups.get("greenhouse")?.channel, "beta");
});

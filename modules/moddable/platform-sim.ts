// The lin simulator side of "modules/moddable/platform". The simulator has no flash, no OTA
// and cannot bind a unicast UDP port: the legacy lin socket binds UDP only
// when a multicast address is given, and then rejects every valid one
// (modules/network/socket/lin/modSocket.c checks inet_pton() != 0), so no DNS
// responder can run here. OTA slots and otadata are files under the ECMA-419
// files root (config "files"); sim-flash.ts plays the bootloader at each launch.

import config from "mc/config";
import { FileOtaWriter } from "./ota-writer-file";
import { SimBootControl, SimFlash } from "./sim-flash";
import type { Platform } from "./platform-api";

const flash = new SimFlash("ota-sim-", { version: String(config.appVersion ?? "0.0.0"), projectName: String(config.appName ?? "ota-device"), secureVersion: 0 });
flash.boot(); // what the bootloader does at a reset: this launch is one
const slots = new FileOtaWriter(flash, Number(config.simOtaCapacity ?? 0x1fe000));
let dnsWarned = false;

const platform: Platform = {
  name: "sim",
  createOtaWriter: () => slots,
  bootControl: () => new SimBootControl(flash, () => platform.restart()),
  startCaptiveDns: () => {
    if (!dnsWarned) trace("captive DNS: not available in the simulator (no unicast UDP bind on lin)\n");
    dnsWarned = true;
    return undefined;
  },
  restart: () => {
    // A real restart would boot the slot otadata now names; the simulator keeps running.
    trace(`restart requested: the next launch runs ${flash.running()}\n`);
  },
  runningPartition: () => flash.running(),
  chipId: () => Number(config.simChipId ?? 0),
  flashSize: () => 4 * 1024 * 1024,
  sdkVersion: () => "Moddable simulator (lin)",
  macs: () => {
    const mac = String(config.simMac ?? "02:00:00:00:00:01");
    return { sta: mac, ap: mac, base: mac };
  },
};

export default platform;

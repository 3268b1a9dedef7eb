// The lin simulator side of "modules/moddable/platform". The simulator has no flash, no OTA
// and cannot bind a unicast UDP port: the legacy lin socket binds UDP only
// when a multicast address is given, and then rejects every valid one
// (modules/network/socket/lin/modSocket.c checks inet_pton() != 0), so no DNS
// responder can run here. OTA slots are files under config.file.root.

import config from "mc/config";
import { FileOtaWriter } from "./ota-writer-file";
import type { Platform } from "./platform-api";

const slots = new FileOtaWriter(`${String(config.file.root)}ota-sim-`, Number(config.simOtaCapacity ?? 0x1fe000));
let dnsWarned = false;

const platform: Platform = {
  name: "sim",
  createOtaWriter: () => slots,
  startCaptiveDns: () => {
    if (!dnsWarned) trace("captive DNS: not available in the simulator (no unicast UDP bind on lin)\n");
    dnsWarned = true;
    return undefined;
  },
  restart: () => {
    // A real restart would boot the slot otadata now names; the simulator keeps running.
    trace(`restart requested: next boot would run ${slots.running()}\n`);
  },
  runningPartition: () => slots.running(),
  chipId: () => Number(config.simChipId ?? 0),
  flashSize: () => 4 * 1024 * 1024,
  sdkVersion: () => "Moddable simulator (lin)",
  macs: () => {
    const mac = String(config.simMac ?? "02:00:00:00:00:01");
    return { sta: mac, ap: mac, base: mac };
  },
};

export default platform;

// The lin simulator side of "modules/moddable/platform". The simulator has no flash and no
// OTA: slots, otadata and the mod partitions are files under the ECMA-419 files root (config "files"), and
// sim-flash.ts plays the bootloader at each launch. Captive DNS runs on an unprivileged UDP
// port (config.dnsPort): ECMA-419 UDP on lin binds unicast ports (modules/io/socket/lin/udp.c),
// unlike the legacy socket, which bound UDP only for multicast. Before the portal binds its
// port, portProbe checks that no other program listens there.

import config from "mc/config";
import Net from "net";
import { openCaptiveDns } from "./captive-dns";
import { tcp, udp } from "./network-io";
import { FileOtaWriter } from "./ota-writer-file";
import { fileModFlash } from "./flash-area-file";
import { ModdableModHost } from "./mod-host";
import { SimBootControl, SimFlash } from "./sim-flash";
import type { Platform } from "./platform-api";
import { portProbe } from "./port-probe";
import { TimerClock } from "./timer-clock";

const flash = new SimFlash("ota-sim-", { version: String(config.appVersion ?? "0.0.0"), projectName: String(config.appName ?? "ota-device"), secureVersion: 0 });
flash.boot(); // what the bootloader does at a reset: this launch is one
const slots = new FileOtaWriter(flash, Number(config.simOtaCapacity ?? 0x1d0000));

const platform: Platform = {
  name: "sim",
  createOtaWriter: () => slots,
  bootControl: () => new SimBootControl(flash, () => platform.restart()),
  runningPartitionReader: () => flash.reader(flash.running()),
  startCaptiveDns: (address) => openCaptiveDns(udp, address, { port: Number(config.dnsPort ?? 8053), log: (line) => trace(line) }),
  // The lin listener crashes the app when its bind fails (port-probe.ts): look first, on
  // loopback and on the address lin's Net.get("IP") reports (the first non-loopback one).
  portProbe: portProbe(tcp, () => ["127.0.0.1", ...[Net.get("IP")].filter((ip): ip is string => typeof ip === "string" && ip !== "")], new TimerClock()),
  modFlash: () => fileModFlash("ota-sim-", Number(config.simModSize ?? 0x18000)),
  modHost: () => new ModdableModHost(),
  restart: () => {
    // A real restart would boot the slot otadata now names; the simulator keeps running.
    trace(`restart requested: the next launch runs ${flash.running()}\n`);
  },
  runningPartition: () => flash.running(),
  chipId: () => Number(config.simChipId ?? 0),
  chipRevision: () => undefined,
  flashSize: () => 4 * 1024 * 1024,
  sdkVersion: () => "Moddable simulator (lin)",
  mdnsUnavailable: "the SDK's lin socket cannot join a multicast group (platform-api.ts)",
  // The simulator's AP and station both report the machine's address, so no client could be
  // told to be on the AP: loopback stands for it while it is up (docs/device.md, "Simulator").
  loopbackIsAp: true,
  macs: () => {
    const mac = String(config.simMac ?? "02:00:00:00:00:01");
    return { sta: mac, ap: mac, base: mac };
  },
};

export default platform;

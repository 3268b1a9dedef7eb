// The esp32 side of "modules/moddable/platform": flash OTA slots, captive DNS on UDP 53, ESP-IDF facts.

import Net from "net";
import { chipId, chipRevision, flashSize, idfVersion, restart, runningPartition, slotRead, slotSize } from "esp32-system";
import { openCaptiveDns } from "./captive-dns";
import { udp } from "./network-io";
import { FlashOtaWriter } from "./ota-writer-flash";
import { Esp32BootControl } from "./boot-esp32";
import { esp32ModFlash } from "./flash-area-esp32";
import { ModdableModHost } from "./mod-host";
import type { Platform } from "./platform-api";

const platform: Platform = {
  name: "esp32",
  createOtaWriter: () => new FlashOtaWriter(),
  bootControl: () => new Esp32BootControl(),
  runningPartitionReader: () => ({ size: slotSize(0), read: (offset, into) => slotRead(0, offset, into) }),
  startCaptiveDns: (address) => openCaptiveDns(udp, address, { port: 53, log: (line) => trace(line) }),
  modFlash: esp32ModFlash,
  modHost: () => new ModdableModHost(),
  restart,
  runningPartition: () => runningPartition() ?? "unknown",
  chipId,
  chipRevision,
  flashSize,
  sdkVersion: () => `Moddable SDK; ESP-IDF ${idfVersion()}`,
  macs: () => {
    const sta = Net.get("MAC", "station") ?? "";
    const ap = Net.get("MAC", "ap") ?? "";
    // The base MAC is the station MAC on ESP32 (esp_read_mac(ESP_MAC_WIFI_STA) = base).
    return { sta, ap, base: sta };
  },
};

export default platform;

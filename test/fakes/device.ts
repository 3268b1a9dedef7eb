// DeviceInfo of a plain ESP32 running "ota_0", overridable per test.
import type { DeviceInfo, SystemControl } from "../../modules/core/ports";

export function fakeDevice(overrides: Partial<DeviceInfo> = {}): DeviceInfo {
  return {
    appName: "ota-demo",
    appVersion: "1.0.0",
    chipId: 0,
    runningPartition: "ota_0",
    flashSize: 4 * 1024 * 1024,
    sketchSize: 400000,
    sketchMd5: "0123456789abcdef0123456789abcdef",
    macs: { sta: "DE:BA:7A:B1:E0:42", ap: "DE:BA:7A:B1:E0:43", base: "DE:BA:7A:B1:E0:42" },
    sdkVersion: "moddable-8.2.1/esp-idf-5.4",
    ...overrides,
  };
}

/** Counts restarts instead of rebooting. */
export class FakeSystem implements SystemControl {
  restarts = 0;
  restart(): void {
    this.restarts++;
  }
}

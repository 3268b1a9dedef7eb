// A WifiControl whose scans finish when the test says so, and whose connect()
// joins instantly unless the SSID is listed as failing. Records every call.
import type { WifiControl, WifiNetwork, WifiStatus } from "../../modules/core/ports";

export class FakeWifi implements WifiControl {
  current: WifiStatus;
  /** Networks the next finished scan reports. */
  networks: WifiNetwork[] = [];
  /** Scans started and not yet finished. */
  private pending: Array<(networks: WifiNetwork[]) => void> = [];
  scans = 0;
  readonly connects: Array<{ ssid: string; password: string }> = [];
  /** When true, scan() calls back before returning (some radios do). */
  synchronousScan = false;

  constructor(status: Partial<WifiStatus> = {}) {
    this.current = { apSsid: "ota-demo-AP", apAddress: "192.168.4.1", connected: false, ...status };
  }

  status(): WifiStatus {
    return { ...this.current };
  }

  scan(done: (networks: WifiNetwork[]) => void): void {
    this.scans++;
    if (this.synchronousScan) done(this.networks.slice());
    else this.pending.push(done);
  }

  /** Finishes every scan under way with `networks` (default: this.networks). */
  finishScans(networks: WifiNetwork[] = this.networks): void {
    const waiting = this.pending;
    this.pending = [];
    for (const done of waiting) done(networks.slice());
  }

  get scanning(): boolean {
    return this.pending.length > 0;
  }

  connect(ssid: string, password: string): void {
    this.connects.push({ ssid, password });
    this.current = { ...this.current, connected: true, stationSsid: ssid, stationAddress: "192.168.1.57" };
  }
}

// A WifiControl whose scans finish when the test says so, and whose connect()
// joins instantly (unless `joins` is false). Records every call; the AP goes up and down as told
// (startAccessPoint throws while `apRefuses` is set) and station events are
// sent by the test with station().
import type { StationEvent, WifiControl, WifiNetwork, WifiStatus } from "../../modules/core/ports";

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
  /** AP starts and stops, in order. */
  readonly apCalls: Array<"start" | "stop"> = [];
  /** When set, startAccessPoint() throws this message (the radio refused). */
  apRefuses: string | undefined;
  /** false: connect() only records the attempt (the network is not there; the test sends station events). */
  joins = true;
  /** When set, connect() throws this message (the radio refused the attempt). */
  connectRefuses: string | undefined;
  private readonly listeners: Array<(event: StationEvent) => void> = [];

  constructor(status: Partial<WifiStatus> = {}) {
    this.current = { apSsid: "ota-demo-AP", apAddress: "192.168.4.1", apUp: true, connected: false, ...status };
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
    if (this.connectRefuses !== undefined) throw new Error(this.connectRefuses);
    if (!this.joins) return;
    this.current = { ...this.current, connected: true, stationSsid: ssid, stationAddress: "192.168.1.57" };
  }

  startAccessPoint(): void {
    this.apCalls.push("start");
    if (this.apRefuses !== undefined) throw new Error(this.apRefuses);
    this.current = { ...this.current, apUp: true };
  }

  stopAccessPoint(): void {
    this.apCalls.push("stop");
    this.current = { ...this.current, apUp: false };
  }

  onStation(listener: (event: StationEvent) => void): void {
    this.listeners.push(listener);
  }

  /** The station joined (with an address) or lost its link: updates status() and tells the listeners. */
  station(event: StationEvent, ssid = "home"): void {
    this.current = event === "joined" ? { ...this.current, connected: true, stationSsid: ssid, stationAddress: "192.168.1.57" } : { ...this.current, connected: false, stationSsid: undefined, stationAddress: undefined };
    for (const listener of this.listeners) listener(event);
  }
}

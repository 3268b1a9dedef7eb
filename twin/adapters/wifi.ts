// Simulated Wi-Fi: the twin's soft AP plus a station that joins a simulated
// LAN when told to (the twin joins the stored network at boot, as main.ts
// does; the update server is reached over loopback). Scans answer a few
// made-up networks after a short delay, like a real scan.
//
// As the board's radio (modules/moddable/wifi-control.ts over ESP-IDF): the AP
// goes up and down without touching the station; station events come through
// the event loop, never inside the call that caused them; and a station that
// lost its link does not join again by itself (Moddable's xs6wifi.c retries
// only a join under way, zeroing its retries once connected): the firmware's
// StationRejoin does. A test makes a network go away with dropNetwork() and
// come back with restoreNetwork().
import type { Clock, StationEvent, WifiControl, WifiNetwork, WifiStatus } from "../../modules/core/ports";

export const SIMULATED_NETWORKS: readonly WifiNetwork[] = [
  { ssid: "TwinLAN", rssi: -48, secure: true },
  { ssid: "Workshop-2.4G", rssi: -63, secure: true },
  { ssid: "Cafe Guest", rssi: -77, secure: false },
];

export interface SimulatedWifiOptions {
  apSsid?: string;
  /** Address the station "has" on the LAN: the twin is reached on loopback. */
  stationAddress?: string;
  scanMs?: number;
  /** Networks that are off the air (their router is off); the rest of SIMULATED_NETWORKS are there. */
  down?: Iterable<string>;
}

export class SimulatedWifi implements WifiControl {
  private station: string | undefined;
  private apUp = false;
  private readonly down: Set<string>;
  private readonly listeners: Array<(event: StationEvent) => void> = [];

  constructor(
    private readonly clock: Clock,
    private readonly options: SimulatedWifiOptions = {},
  ) {
    this.down = new Set(options.down ?? []);
  }

  status(): WifiStatus {
    return {
      apSsid: this.options.apSsid ?? "esp32-twin",
      apAddress: "192.168.4.1",
      apUp: this.apUp,
      stationSsid: this.station,
      stationAddress: this.station ? (this.options.stationAddress ?? "127.0.0.1") : undefined,
      connected: this.station !== undefined,
    };
  }

  scan(done: (networks: WifiNetwork[]) => void): void {
    this.clock.setTimeout(() => done(SIMULATED_NETWORKS.filter((n) => !this.down.has(n.ssid)).map((n) => ({ ...n }))), this.options.scanMs ?? 300);
  }

  /** Joins a simulated network: known SSIDs on the air join when open or given a WPA2-length password; else the join fails ("lost"). */
  connect(ssid: string, password: string): void {
    const network = SIMULATED_NETWORKS.find((n) => n.ssid === ssid && !this.down.has(n.ssid));
    this.station = network && (!network.secure || password.length >= 8) ? ssid : undefined;
    this.emit(this.station ? "joined" : "lost");
  }

  startAccessPoint(): void {
    this.apUp = true;
  }

  stopAccessPoint(): void {
    this.apUp = false;
  }

  onStation(listener: (event: StationEvent) => void): void {
    this.listeners.push(listener);
  }

  /** The network goes off the air: a station on it loses its link, and joins to it fail until restoreNetwork(). */
  dropNetwork(ssid: string): void {
    this.down.add(ssid);
    if (this.station !== ssid) return;
    this.station = undefined;
    this.emit("lost");
  }

  /** The network is back on the air (the station still has to join it). */
  restoreNetwork(ssid: string): void {
    this.down.delete(ssid);
  }

  private emit(event: StationEvent): void {
    // ESP-IDF posts Wi-Fi events to the app's event loop: never inside connect().
    this.clock.setTimeout(() => {
      for (const listener of this.listeners) listener(event);
    }, 0);
  }
}

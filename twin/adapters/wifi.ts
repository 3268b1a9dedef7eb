// Simulated Wi-Fi: the twin's soft AP plus a station that joins a simulated
// LAN when told to (the twin joins the stored network at boot, as main.ts
// does; the update server is reached over loopback). Scans answer a few
// made-up networks after a short delay, like a real scan.
import type { Clock, WifiControl, WifiNetwork, WifiStatus } from "../../modules/core/ports";

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
}

export class SimulatedWifi implements WifiControl {
  private station: string | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly options: SimulatedWifiOptions = {},
  ) {}

  status(): WifiStatus {
    return {
      apSsid: this.options.apSsid ?? "esp32-twin",
      apAddress: "192.168.4.1",
      stationSsid: this.station,
      stationAddress: this.station ? (this.options.stationAddress ?? "127.0.0.1") : undefined,
      connected: this.station !== undefined,
    };
  }

  scan(done: (networks: WifiNetwork[]) => void): void {
    this.clock.setTimeout(() => done(SIMULATED_NETWORKS.map((n) => ({ ...n }))), this.options.scanMs ?? 300);
  }

  /** Joins a simulated network: known SSIDs join when open or given a WPA2-length password. */
  connect(ssid: string, password: string): void {
    const network = SIMULATED_NETWORKS.find((n) => n.ssid === ssid);
    this.station = network && (!network.secure || password.length >= 8) ? ssid : undefined;
  }
}

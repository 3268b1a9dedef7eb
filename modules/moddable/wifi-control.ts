// WifiControl over the legacy `wifi` module (modules/network/wifi/esp32/xs6wifi.c;
// modules/network/wifi/sim/wifi.js in the simulator) and `net` for addresses.
//
// AP+STA: xs_wifi_accessPoint only honours `station: true` when Wi-Fi is not
// yet initialised in AP mode, and initialises it in AP mode itself, so the
// mode is set to station|accessPoint (3) first; the simulator also requires
// mode 3 before WiFi.connect() once an access point runs.

import Net from "net";
import WiFi from "wifi";
import type { WifiControl, WifiNetwork, WifiStatus } from "../core/ports";

const STATION_AND_AP = 3;

export interface AccessPointSettings {
  ssid: string;
  /** Empty or absent = open network; otherwise 8 to 64 characters. */
  password?: string;
  channel?: number;
}

/** The scan items this adapter reads (xs6wifi.c reportScan). */
interface ScanItem {
  ssid: string;
  rssi: number;
  authentication?: string;
}

export class ModdableWifi implements WifiControl {
  #apSsid = "";
  #stationSsid: string | undefined;
  #connected = false;
  #scanning: Array<(networks: WifiNetwork[]) => void> = [];
  #monitor: WiFi | undefined;
  /** Called on station link changes ("gotIP", "disconnect", ...), for logs. */
  onChange: ((message: string) => void) | undefined;

  /** Starts the access point with the station interface kept up. */
  startAccessPoint(settings: AccessPointSettings): void {
    WiFi.mode = STATION_AND_AP;
    const options: { ssid: string; password?: string; channel?: number; station: boolean } = { ssid: settings.ssid, station: true };
    if (settings.password) options.password = settings.password;
    if (settings.channel) options.channel = settings.channel;
    WiFi.accessPoint(options);
    this.#apSsid = settings.ssid;
    this.#connected = this.#stationAddress() !== undefined;
    this.#monitor ??= new WiFi(undefined, (message) => this.#notify(message));
  }

  status(): WifiStatus {
    const status: WifiStatus = { apSsid: this.#apSsid, apAddress: address(Net.get("IP", "ap")) ?? "192.168.4.1", connected: this.#connected };
    const station = this.#stationAddress();
    if (this.#connected && station) {
      status.stationAddress = station;
      const ssid = this.#stationSsid ?? address(Net.get("SSID"));
      if (ssid) status.stationSsid = ssid;
    }
    return status;
  }

  scan(done: (networks: WifiNetwork[]) => void): void {
    this.#scanning.push(done);
    if (this.#scanning.length > 1) return; // one radio scan serves every caller
    const found = new Map<string, WifiNetwork>();
    try {
      WiFi.scan({}, (item?: ScanItem | null) => {
        if (item) {
          if (!item.ssid) return; // hidden network
          const earlier = found.get(item.ssid);
          if (!earlier || earlier.rssi < item.rssi) found.set(item.ssid, { ssid: item.ssid, rssi: item.rssi, secure: item.authentication !== "none" });
          return;
        }
        this.#finishScan([...found.values()].sort((a, b) => b.rssi - a.rssi));
      });
    } catch (e) {
      trace(`wifi: scan failed: ${e instanceof Error ? e.message : String(e)}\n`);
      this.#finishScan([]);
    }
  }

  /** Stops watching the station link. */
  close(): void {
    this.#monitor?.close();
    this.#monitor = undefined;
  }

  connect(ssid: string, password: string): void {
    this.#stationSsid = ssid;
    this.#connected = false;
    WiFi.connect(password ? { ssid, password } : { ssid });
  }

  #finishScan(networks: WifiNetwork[]): void {
    const waiting = this.#scanning;
    this.#scanning = [];
    for (const done of waiting) done(networks.slice());
  }

  #notify(message: string): void {
    if (message === "gotIP") this.#connected = true;
    else if (message === "disconnect" || message === "lostIP") this.#connected = false;
    this.onChange?.(message);
  }

  #stationAddress(): string | undefined {
    return address(Net.get("IP", "station"));
  }
}

/** Net.get returns undefined (or "0.0.0.0" on some ports) when an interface has no address. */
function address(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" && value !== "0.0.0.0" ? value : undefined;
}

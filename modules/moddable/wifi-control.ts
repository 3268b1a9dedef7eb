// WifiControl over the legacy `wifi` module (modules/network/wifi/esp32/xs6wifi.c;
// modules/network/wifi/sim/wifi.js in the simulator) and `net` for addresses.
//
// AP+STA: xs_wifi_accessPoint only honours `station: true` when Wi-Fi is not
// yet initialised in AP mode, and initialises it in AP mode itself, so the
// mode is set to station|accessPoint (3) first; the simulator also requires
// mode 3 before WiFi.connect() once an access point runs.
//
// AP down, station kept: `WiFi.mode = 1` is xs_wifi_set_mode -> esp_wifi_set_mode
// (WIFI_MODE_STA) on the running driver: ESP-IDF stops the soft-AP
// (WIFI_EVENT_AP_STOP; wifi_default.c stops its netif and DHCP server) and leaves
// the station and its link alone. The AP's netif (gAP) is kept, so a later
// mode 3 + WiFi.accessPoint() starts it again (WIFI_EVENT_AP_START). The
// simulator's wifi.js only records the mode.

import Net from "net";
import WiFi from "wifi";
import type { StationEvent, WifiControl, WifiNetwork, WifiStatus } from "../core/ports";

const STATION_ONLY = 1;
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
  #stationSsid: string | undefined;
  #connected = false;
  #apUp = false;
  #scanning: Array<(networks: WifiNetwork[]) => void> = [];
  #monitor: WiFi | undefined;
  #listeners: Array<(event: StationEvent) => void> = [];
  /** Called on station link changes ("gotIP", "disconnect", ...), for logs. */
  onChange: ((message: string) => void) | undefined;

  /** The AP's settings, used at each start; nothing goes on air until startAccessPoint(). */
  constructor(private readonly settings: AccessPointSettings) {}

  /**
   * Starts Wi-Fi in station mode when nothing has started it yet. On ESP32 the SDK starts
   * lwIP's tcpip task with Wi-Fi (xs6wifi.c initWiFi -> esp_netif_init) and every socket
   * needs it: with the AP down at boot, the portal's listener and the captive DNS socket
   * would otherwise come first. (WiFi.mode reads -5 on ESP32, 0 in the simulator, until then.)
   */
  powerOn(): void {
    if (WiFi.mode <= 0) WiFi.mode = STATION_ONLY;
  }

  /** Starts the access point with the station interface kept up. */
  startAccessPoint(): void {
    WiFi.mode = STATION_AND_AP;
    const options: { ssid: string; password?: string; channel?: number; station: boolean } = { ssid: this.settings.ssid, station: true };
    if (this.settings.password) options.password = this.settings.password;
    if (this.settings.channel) options.channel = this.settings.channel;
    WiFi.accessPoint(options);
    this.#apUp = true;
    this.#watch();
  }

  /** Takes the access point down; the station keeps its link (see the top of this file). */
  stopAccessPoint(): void {
    WiFi.mode = STATION_ONLY;
    this.#apUp = false;
  }

  onStation(listener: (event: StationEvent) => void): void {
    this.#listeners.push(listener);
    this.#watch();
  }

  status(): WifiStatus {
    const status: WifiStatus = { apSsid: this.settings.ssid, apAddress: address(Net.get("IP", "ap")) ?? "192.168.4.1", apUp: this.#apUp, connected: this.#connected };
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
    this.#watch();
    WiFi.connect(password ? { ssid, password } : { ssid });
  }

  /** One WiFi instance gets the station's notifications (the simulator allows only one). */
  #watch(): void {
    if (this.#monitor) return;
    this.#connected = this.#stationAddress() !== undefined;
    this.#monitor = new WiFi(undefined, (message) => this.#notify(message));
  }

  #finishScan(networks: WifiNetwork[]): void {
    const waiting = this.#scanning;
    this.#scanning = [];
    for (const done of waiting) done(networks.slice());
  }

  #notify(message: string): void {
    let event: StationEvent | undefined;
    if (message === "gotIP") event = "joined";
    else if (message === "disconnect" || message === "lostIP") event = "lost";
    if (event) this.#connected = event === "joined";
    this.onChange?.(message);
    if (event) for (const listener of this.#listeners) listener(event);
  }

  #stationAddress(): string | undefined {
    return address(Net.get("IP", "station"));
  }
}

/** Net.get returns undefined (or "0.0.0.0" on some ports) when an interface has no address. */
function address(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" && value !== "0.0.0.0" ? value : undefined;
}

// Legacy `wifi` module.
// Sources: Moddable-OpenSource/moddable modules/network/wifi/esp32/wifi.js and
// xs6wifi.c (xs_wifi_accessPoint reads ssid, password (8-64), channel (1-13),
// hidden, max, interval, station), modules/network/wifi/sim/wifi.js (lin/mac).
// @moddable/typings 5.6.0 wifi.d.ts lacks the `station` (AP+STA) option and
// the `station_connect` names; this file replaces it (it is not in tsconfig).

declare module "wifi" {
  export interface ConnectOptions {
    ssid: string;
    password?: string;
    bssid?: ArrayBuffer;
    channel?: number;
  }
  export interface AccessPointOptions {
    ssid: string;
    /** 8 to 64 characters; omit for an open network. */
    password?: string;
    channel?: number;
    hidden?: boolean;
    max?: number;
    interval?: number;
    /** Keep the station interface too (WIFI_MODE_APSTA), esp32 only. */
    station?: boolean;
  }
  export type Notification = "connect" | "gotIP" | "lostIP" | "disconnect" | "station_connect" | "station_disconnect";
  export interface ScanItem {
    ssid: string;
    rssi: number;
    channel: number;
    hidden: boolean;
    bssid?: ArrayBuffer;
    authentication?: "none" | "wep" | "wpa_psk" | "wpa2_psk" | "wpa_wpa2_psk" | string;
  }
  /** Called once per network, then once with null (esp32) or undefined (simulator). */
  export type ScanCallback = (item?: ScanItem | null) => void;
  /** -5 off (esp32 only), 0 none, 1 station, 2 access point, 3 both. */
  export type Mode = -5 | 0 | 1 | 2 | 3;

  export default class WiFi {
    constructor(options?: ConnectOptions, onNotify?: (message: Notification) => void);
    close(): void;
    set onNotify(callback: ((message: Notification) => void) | undefined);
    static mode: Mode;
    static scan(options: { hidden?: boolean; channel?: number }, callback: ScanCallback): void;
    /** No argument disconnects. */
    static connect(options?: ConnectOptions): void;
    static disconnect(): void;
    static accessPoint(options: AccessPointOptions): void;
    static readonly Mode: { readonly none: 0; readonly station: 1; readonly accessPoint: 2; readonly off?: -5 };
    static readonly gotIP: "gotIP";
    static readonly lostIP: "lostIP";
    static readonly connected: "connect";
    static readonly disconnected: "disconnect";
  }
}

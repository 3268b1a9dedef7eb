// The board announces itself on the LAN it joined, for `ota discover`: DNS-SD
// service _moddable-ota._tcp on the portal's port, with the TXT record of
// modules/core/announce.ts, over Moddable's mdns module (SDK 8.2.3
// modules/network/mdns/mdns.js: the MDNS class probes the host name (250 ms
// apart, 3 probes), calls back (MDNS.hostName = 1, name) once it is claimed,
// renaming "name-2", "name-3"... on a conflict; add() then announces the
// service under that name (instance = host name) at 0.5, 1, 2... 16 s; its A
// record is Net.get("IP"), the station's address once joined). Started when
// the station has an address, closed when it loses it.
import MDNS from "mdns";
import { OTA_SERVICE_NAME, OTA_SERVICE_PROTOCOL, type AnnounceTxt } from "../core/announce";

/** A DNS label from the AP SSID: letters, digits and hyphens, at most 63. */
export function mdnsHostName(ssid: string): string {
  const label = ssid.replace(/[^A-Za-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63);
  return label === "" ? "moddable-ota" : label;
}

export class MdnsAnnouncer {
  #mdns: MDNS | undefined;
  #service: { name: string; protocol: string; port: number; txt: Record<string, string> } | undefined;

  constructor(
    private readonly name: string,
    private readonly port: number,
    private txt: () => AnnounceTxt,
    private readonly log: (line: string) => void,
  ) {}

  /** Claims the name and announces the service (call once the station has an address). */
  start(): void {
    if (this.#mdns) return;
    const hostName = mdnsHostName(this.name);
    try {
      this.#mdns = new MDNS({ hostName }, (message, value) => {
        if (message !== 1 || !value || !this.#mdns) return; // MDNS.hostName with the claimed name
        this.#service = { name: OTA_SERVICE_NAME, protocol: OTA_SERVICE_PROTOCOL, port: this.port, txt: { ...this.txt() } };
        this.#mdns.add(this.#service);
        this.log(`mdns: ${value}._${OTA_SERVICE_NAME}._${OTA_SERVICE_PROTOCOL}.local port ${this.port}\n`);
      });
    } catch (e) {
      this.#mdns = undefined;
      this.log(`mdns: cannot start: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }

  /** Sends the TXT record again (the password was set or removed). */
  refresh(): void {
    if (!this.#mdns || !this.#service) return;
    this.#service.txt = { ...this.txt() };
    this.#mdns.update(this.#service);
  }

  stop(): void {
    const mdns = this.#mdns as (MDNS & { close?: () => void }) | undefined;
    this.#mdns = undefined;
    this.#service = undefined;
    mdns?.close?.();
  }
}

// The twin announces itself on the LAN as a board does (modules/core/announce.ts):
// DNS-SD service _moddable-ota._tcp on the portal's port, named by its AP SSID,
// with the TXT record the board sends, over real multicast DNS with
// bonjour-service (multicast-dns underneath). Each boot announces afresh (the
// version may have changed); a reset withdraws it (a goodbye packet).
import Bonjour from "bonjour-service";
import { OTA_SERVICE_NAME, OTA_SERVICE_PROTOCOL, type AnnounceTxt } from "../../modules/core/announce";

export interface AnnouncerOptions {
  /** Local IPv4 address of the interface to announce on (multicast membership and outgoing interface). */
  interface?: string;
  log?: (line: string) => void;
}

export class TwinAnnouncer {
  private readonly bonjour: Bonjour;
  private service: Bonjour.Service | undefined;

  constructor(private readonly options: AnnouncerOptions = {}) {
    // multicast-dns binds 0.0.0.0:5353 (a socket bound to a unicast address gets no multicast on Linux)
    // and joins the group on `interface`; the options reach it through Bonjour, typed as a service config.
    const mdns = options.interface ? { interface: options.interface, bind: "0.0.0.0" } : {};
    this.bonjour = new Bonjour(mdns as Partial<Bonjour.ServiceConfig>, (error: unknown) => options.log?.(`mDNS: ${error instanceof Error ? error.message : String(error)}`));
  }

  announce(name: string, port: number, txt: AnnounceTxt): void {
    this.withdraw();
    this.service = this.bonjour.publish({ name, type: OTA_SERVICE_NAME, protocol: OTA_SERVICE_PROTOCOL, port, txt: { ...txt }, host: `${name}.local`, disableIPv6: true, probe: false });
    this.options.log?.(`mDNS: announcing ${name}._${OTA_SERVICE_NAME}._${OTA_SERVICE_PROTOCOL}.local port ${port} (${txt.app} ${txt.ver})`);
  }

  withdraw(): void {
    this.service?.stop?.();
    this.service = undefined;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.bonjour.unpublishAll(() => this.bonjour.destroy(() => resolve()));
    });
  }
}

// `ota discover`: browses mDNS/DNS-SD for `_moddable-ota._tcp` (what boards and
// the twin announce, modules/core/announce.ts) for a while and lists what
// answered, with bonjour-service (multicast-dns underneath: real packets on
// 224.0.0.251:5353).
import Bonjour from "bonjour-service";
import { isIPv4 } from "node:net";
type Service = Bonjour.Service;
import { announcedBoard, OTA_SERVICE_NAME, OTA_SERVICE_PROTOCOL, type AnnouncedBoard } from "../modules/core/announce";

export interface DiscoverOptions {
  timeoutMs: number;
  /** Local address of the interface to use (default: all). */
  interface?: string;
}

function address(service: Service): string | undefined {
  const all = service.addresses ?? [];
  return all.find((a) => isIPv4(a)) ?? all[0] ?? service.referer?.address;
}

export function discover(options: DiscoverOptions): Promise<AnnouncedBoard[]> {
  return new Promise((resolve, reject) => {
    const found = new Map<string, AnnouncedBoard>();
    let bonjour: Bonjour;
    try {
      // The options go to multicast-dns (join the group on `interface`, bind 0.0.0.0:5353 to receive
      // multicast), though typed as a service config.
      bonjour = new Bonjour((options.interface ? { interface: options.interface, bind: "0.0.0.0" } : {}) as Partial<Bonjour.ServiceConfig>, (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))));
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    const keep = (service: Service) => {
      const at = address(service);
      if (!at) return;
      const board = announcedBoard(service.name, at, service.port, (service.txt ?? {}) as Record<string, unknown>);
      found.set(`${board.address}:${board.port}`, board);
    };
    const browser = bonjour.find({ type: OTA_SERVICE_NAME, protocol: OTA_SERVICE_PROTOCOL }, keep);
    browser.on("txt-update", keep);
    browser.on("srv-update", keep);
    // Ask again halfway: a board that missed the first query (or joined later) answers the second.
    const again = setTimeout(() => browser.update(), Math.min(1000, options.timeoutMs / 2));
    setTimeout(() => {
      clearTimeout(again);
      browser.stop();
      bonjour.destroy();
      resolve([...found.values()].sort((a, b) => a.name.localeCompare(b.name) || a.address.localeCompare(b.address)));
    }, options.timeoutMs);
  });
}

/** One line per board for people. */
export function discoverTable(boards: AnnouncedBoard[]): string {
  const rows = [["NAME", "ADDRESS", "APP", "VERSION", "MOD", "CHIP", "MAC", "AUTH"], ...boards.map((b) => [b.name, `${b.address}:${b.port}`, b.app, b.version, b.mod || "-", b.chip, b.mac, b.auth ? "password" : "open"])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n") + "\n";
}

// `net` status queries.
// Sources: Moddable-OpenSource/moddable modules/network/net/net.js,
// modules/network/net/esp/modNet.c (xs_net_get reads an optional interface,
// "station" | "ap" | "ethernet" or an IPv4 address, for IP and MAC; an
// interface without an address yields undefined) and lin/modNet.c (the lin
// simulator answers "IP" only, with the host's first non-loopback address).
// Replaces @moddable/typings 5.6.0 net.d.ts, which lacks the interface argument.

declare module "net" {
  type Interface = "station" | "ap" | "ethernet";
  const Net: {
    get(what: "IP", nif?: Interface): string | undefined;
    get(what: "MAC", nif?: Interface): string | undefined;
    get(what: "SSID" | "BSSID"): string | undefined;
    get(what: "RSSI" | "CHANNEL"): number | undefined;
    get(what: "DNS"): string[] | undefined;
    resolve(name: string, callback: (name: string, address?: string) => void): void;
  };
  export default Net;
}

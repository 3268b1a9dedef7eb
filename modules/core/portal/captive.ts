// Captive-portal behaviour: phones and laptops probe well-known URLs after
// joining a network; answering them (and any foreign Host) with a redirect to
// the portal makes the OS pop the portal up.

/** Connectivity-check paths of Android, iOS/macOS, Windows, Firefox and Linux desktops. */
export const PROBE_PATHS: readonly string[] = [
  "/generate_204", // Android, Chrome OS
  "/gen_204",
  "/hotspot-detect.html", // Apple
  "/library/test/success.html",
  "/connecttest.txt", // Windows 10+
  "/ncsi.txt", // Windows 7/8
  "/redirect", // Windows
  "/canonical.html", // Firefox
  "/success.txt", // Firefox
  "/check_network_status.txt", // NetworkManager
];

export function isProbePath(path: string): boolean {
  return PROBE_PATHS.indexOf(path.toLowerCase()) >= 0;
}

/** "Host: Example.COM:80" -> "example.com"; IPv6 literals keep their brackets. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) {
    const close = h.indexOf("]");
    return close < 0 ? h : h.slice(0, close + 1);
  }
  const colon = h.indexOf(":");
  return colon < 0 ? h : h.slice(0, colon);
}

/**
 * True when the Host header names the portal: no header (HTTP/1.0), the exact
 * portal host (which may carry a port on a host twin), or one of the device's
 * own names/addresses ignoring the port.
 */
export function isPortalHost(host: string | undefined, own: ReadonlyArray<string | undefined>): boolean {
  if (host === undefined || host.trim() === "") return true;
  const exact = host.trim().toLowerCase();
  const name = hostName(host);
  for (const candidate of own) {
    if (!candidate) continue;
    const c = candidate.toLowerCase();
    if (c === exact || hostName(c) === name) return true;
  }
  return false;
}

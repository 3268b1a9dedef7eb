// Wording shared by the engine's user-facing errors: sizes, percentages,
// HTTP status lines. Short and plain, as the portal shows them verbatim.
import type { HttpFailure } from "./ports";

// Node's http.STATUS_CODES wording (what the twin's server sends); the portal's
// statuses all have one (test/device/guarded-socket.test.ts).
const REASONS: Readonly<Record<number, string>> = {
  200: "OK",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** The reason phrase of a status line ("Unprocessable Entity" for 422), when we know one. */
export function reasonPhrase(status: number): string | undefined {
  return REASONS[status];
}

/** "Server answered 404 Not Found" */
export function serverAnswered(status: number): string {
  const reason = REASONS[status];
  return `Server answered ${status}${reason ? ` ${reason}` : ""}`;
}

/** A status code an HTTP/1.x status line can carry (100-599): anything else means the peer does not speak HTTP. */
export function isHttpStatus(status: number): boolean {
  return Number.isInteger(status) && status >= 100 && status <= 599;
}

/** Longest piece of a peer's non-HTTP answer quoted in a message. */
const QUOTED = 40;

/** The first non-empty line of what a peer sent, printable ASCII only ("?" for anything else), at most QUOTED characters. */
export function quotePeer(got: string): string {
  const line = got.split(/\r?\n|\r/).find((l) => l.length > 0) ?? "";
  let out = "";
  for (const c of line.slice(0, QUOTED)) {
    const code = c.charCodeAt(0);
    out += code >= 0x20 && code < 0x7f ? c : "?";
  }
  return line.length > QUOTED ? `${out}...` : out;
}

/** "Server at 10.0.0.2:22 did not answer HTTP (got 'SSH-2.0-OpenSSH_9.2')" */
export function notHttp(where: string, got?: string): string {
  const quoted = got === undefined ? "" : quotePeer(got);
  return `Server at ${where} did not answer HTTP${quoted ? ` (got '${quoted}')` : ""}`;
}

/** The failure of an exchange that never got an answer, named by its cause. */
export function connectFailed(where: string, failure: HttpFailure | undefined): string {
  switch (failure?.kind) {
    case "resolve":
      return `Cannot connect to ${where}: name not found`;
    case "refused":
      return `Cannot connect to ${where}: connection refused`;
    case "not-http":
      return notHttp(where, failure.got);
    case "lost":
      return `Server at ${where} closed the connection without answering`;
    default:
      return `Cannot connect to ${where}`;
  }
}

/** "4.2 MB", "2.3 KB", "100 B": binary units, one decimal below 100, none above, no ".0". */
export function formatSize(bytes: number): string {
  if (!(bytes >= 0)) return "?";
  if (bytes < 1024) return `${Math.floor(bytes)} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1023.5 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  // One decimal below 100, none above; "2" rather than "2.0".
  const text = String(value >= 100 ? Math.round(value) : Math.round(value * 10) / 10);
  return `${text} ${units[unit]}`;
}

/** Whole percent, never 100 before the end. */
export function percent(received: number, total: number): number {
  if (total <= 0) return 0;
  if (received >= total) return 100;
  return Math.min(99, Math.floor((received * 100) / total));
}

export function hostPort(host: string, port: number): string {
  return `${host}:${port}`;
}

/** "8 s" for a timeout in milliseconds. */
export function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** "Image is 4.2 MB, the update partition holds 1.9 MB" */
export function tooLarge(size: number, capacity: number): string {
  return `Image is ${formatSize(size)}, the update partition holds ${formatSize(capacity)}`;
}

/** "Image is for ESP32-S3, this board is ESP32": pre-flight and the catalog list say it the same way. */
export function wrongChip(imageChip: string, boardChip: string): string {
  return `Image is for ${imageChip}, this board is ${boardChip}`;
}

/** "Image is for unknown chip 0x0099, a chip id no ESP-IDF target has": no board boots it (its bootloader compares the id with its own). */
export function unknownChip(imageChip: string): string {
  return `Image is for ${imageChip}, a chip id no ESP-IDF target has`;
}

// Mods (modules/core/mods/).

/** "Mod built for XS 16.7; this board's firmware has XS 17.7: rebuild it with this firmware's SDK" */
export function modWrongXs(mod: { major: number; minor: number }, board: { major: number; minor: number }): string {
  return `Mod built for XS ${mod.major}.${mod.minor}; this board's firmware has XS ${board.major}.${board.minor}: rebuild it with this firmware's SDK`;
}

/** "Mod is 70 KB, the mod partition holds 64 KB" */
export function modTooLarge(size: number, capacity: number): string {
  return `Mod is ${formatSize(size)}, the mod partition holds ${formatSize(capacity)}`;
}

// Secrets some clients put in a URL's query string (?token=, ?api_key=,
// ?%74oken=, ?t=1;password=) never reach the log: each parameter's name is
// percent-decoded first, so an escaped name is judged by what it means, and
// both & and ; separate parameters (the separators servers and proxies accept).
const SECRET_NAME = /token|key|secret|password/i;

function decodedName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, " "));
  } catch {
    // A broken escape: judge the raw text, and the text with its valid escapes decoded.
    return raw.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
}

/** The URL as it may be logged: the value of every parameter whose name says secret becomes [redacted]. */
export function redactUrl(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return url;
  const hash = url.indexOf("#", q);
  const query = hash < 0 ? url.slice(q + 1) : url.slice(q + 1, hash);
  const redacted = query.replace(/([^&;=]*)=([^&;]*)/g, (whole, name: string) => (SECRET_NAME.test(decodedName(name)) ? `${name}=[redacted]` : whole));
  return url.slice(0, q + 1) + redacted + (hash < 0 ? "" : url.slice(hash));
}

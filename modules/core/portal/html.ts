// HTML building blocks of the portal: escaping, number/time display and the one
// page layout. Pages are small strings sent from RAM, so the CSS is one shared
// constant and nothing is loaded from elsewhere (a phone on the AP has no internet).

export { formatSize } from "../messages"; // one size wording for engine messages and pages

const SPECIAL = /[&<>"']/;

/** Escapes text for HTML text and quoted attribute values alike. */
export function esc(value: string | number): string {
  // A plain loop: XS runs a global regex replace with a callback far slower,
  // and most strings (names, versions) need no change at all.
  const text = String(value);
  const first = text.search(SPECIAL);
  if (first < 0) return text;
  let out = "";
  let from = 0;
  for (let i = first; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let entity: string;
    if (c === 0x26) entity = "&amp;";
    else if (c === 0x3c) entity = "&lt;";
    else if (c === 0x3e) entity = "&gt;";
    else if (c === 0x22) entity = "&quot;";
    else if (c === 0x27) entity = "&#39;";
    else continue;
    out += text.slice(from, i) + entity;
    from = i + 1;
  }
  return out + text.slice(from);
}

/**
 * Serializes a value as JSON safe to embed in an inline <script>:
 * "<", ">" and "&" become \u escapes so no text can close the script element,
 * and U+2028/2029 are escaped for old JS parsers.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => "\\u" + ("000" + c.charCodeAt(0).toString(16)).slice(-4));
}

/** Byte counts as people read them: "812 B", "12.5 KB", "1.5 MB". */

/** The catalog's time annotation shown as AutoConnect does: its first five chars (HH:MM). */
export function formatHHMM(time: string): string {
  return time.slice(0, 5);
}

/** Shared inline CSS: fluid, readable at 375 px, tap targets >= 44 px. */
export const CSS =
  "*{box-sizing:border-box}body{margin:0;font:16px/1.4 system-ui,sans-serif;color:#222;background:#f4f5f7}" +
  "header{background:#1f5f8b;color:#fff;padding:12px 16px}header a{color:#fff;text-decoration:none;font-weight:600}" +
  "main{max-width:560px;margin:0 auto;padding:12px}section{background:#fff;border-radius:8px;padding:12px 14px;margin:0 0 12px}" +
  "h1{font-size:1.25em;margin:0}h2{font-size:1.05em;margin:0 0 8px}" +
  "dl{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;margin:0}dt{color:#666}dd{margin:0;word-break:break-all}" +
  "nav a,.btn,button{display:block;width:100%;min-height:44px;padding:10px;margin:8px 0;border:0;border-radius:6px;" +
  "background:#1f5f8b;color:#fff;font-size:1em;text-align:center;text-decoration:none}" +
  "button.alt,a.alt{background:#e3e7ec;color:#222}button:disabled{background:#9aa9b5}" +
  "label{display:block;margin:8px 0 2px}input[type=text],input[type=password],input[type=number],input[type=file]{width:100%;min-height:44px;" +
  "padding:8px;font-size:1em;border:1px solid #bbb;border-radius:6px}" +
  "ul.list{list-style:none;padding:0;margin:0}ul.list li{border-bottom:1px solid #eee;padding:6px 0}" +
  "ul.list label{display:flex;gap:10px;align-items:flex-start;margin:0;min-height:44px}ul.list input{width:22px;height:22px;flex:none}" +
  ".meta{color:#666;font-size:.9em}.off{color:#999}.why{color:#a33;font-size:.9em}" +
  "#error,.error{color:#b00020;font-weight:600}.ok{color:#1b7a2e;font-weight:600}" +
  "progress{width:100%;height:24px}progress.bad{accent-color:#b00020}";

export interface PageOptions {
  /** Extra markup for <head> (e.g. a <noscript> refresh). Must already be safe. */
  head?: string;
  /** Inline script, placed at the end of <body>. Must already be safe. */
  script?: string;
  /** Application name shown in the header (escaped here). */
  appName?: string;
}

/** A whole page. `title` and `appName` are escaped; `body` is trusted markup built with esc(). */
export function layout(title: string, body: string, options: PageOptions = {}): string {
  const app = options.appName ?? "Device";
  return (
    "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>" +
    "<meta name=viewport content=\"width=device-width,initial-scale=1\">" +
    `<title>${esc(title)} - ${esc(app)}</title><style>${CSS}</style>${options.head ?? ""}</head>` +
    `<body><header><a href="/">${esc(app)}</a></header><main><h2>${esc(title)}</h2>${body}</main>` +
    (options.script ? `<script>${options.script}</script>` : "") +
    "</body></html>"
  );
}

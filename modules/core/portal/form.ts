// application/x-www-form-urlencoded bodies and query strings, decoded to UTF-8
// text with the core's own byte helpers (no URLSearchParams or TextDecoder in XS).
import { utf8Decode, utf8Encode } from "../bytes";

/**
 * Largest form body the portal accepts, in bytes. Adapters read at most this
 * many bytes and pass the request's Content-Length header through unchanged:
 * the portal answers 413 when the header (or the body) is larger.
 */
export const MAX_FORM_BODY = 2048;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  c |= 0x20;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

const NEEDS_BYTES = /[%\u0080-\uffff]/;

/** Decodes one component: "+" is a space, "%XX" a byte; malformed escapes stay literal. */
export function decodeComponent(text: string): string {
  // Fast path (XS is slow at the byte loop): plain ASCII with at most "+" for spaces.
  if (!NEEDS_BYTES.test(text)) return text.indexOf("+") < 0 ? text : text.split("+").join(" ");
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2b) bytes.push(0x20);
    else if (c === 0x25 && i + 2 < text.length && hexValue(text.charCodeAt(i + 1)) >= 0 && hexValue(text.charCodeAt(i + 2)) >= 0) {
      bytes.push((hexValue(text.charCodeAt(i + 1)) << 4) | hexValue(text.charCodeAt(i + 2)));
      i += 2;
    } else if (c < 0x80) bytes.push(c);
    else {
      // A raw non-ASCII character (some clients skip encoding): keep it as UTF-8.
      let end = i + 1;
      if (c >= 0xd800 && c <= 0xdbff && end < text.length) end++;
      const encoded = utf8Encode(text.slice(i, end));
      for (let k = 0; k < encoded.length; k++) bytes.push(encoded[k]);
      i = end - 1;
    }
  }
  return utf8Decode(Uint8Array.from(bytes));
}

/** Parses "a=1&b=x+y" into a map; the first value of a repeated name wins. */
export function parseForm(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  if (text === "") return fields;
  for (const part of text.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = decodeComponent(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? "" : decodeComponent(part.slice(eq + 1));
    if (!fields.has(name)) fields.set(name, value);
  }
  return fields;
}

/** Encodes a value for a query string or form body. */
export function encodeComponent(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    // A lone surrogate (it arrives from scans) makes encodeURIComponent throw: replace it.
  }
  return encodeURIComponent(text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"));
}

/** Length of a string in UTF-8 bytes, without allocating. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

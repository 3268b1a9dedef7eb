// Request targets for the update server.
//
// Query values (the catalog folder in /_catalog?path=, /api/catalog?path=) are
// percent-encoded per segment: both AutoConnect's updateserver.py (parse_qs)
// and ours decode them, and "&", "#", "+" and "%" mean something there.
//
// Firmware names in the path are sent as they are, encoding only what a
// request line cannot carry (controls, space, non-ASCII): updateserver.py
// serves the raw request target and decodes nothing, so "a+b.bin",
// "hash#1.bin" or "100%.bin" must arrive literally, as AutoConnect's own
// device sends them. Our server looks a target up literally first, then
// percent-decoded (server/downloads.ts), so both spellings reach it.
import { utf8Encode } from "../bytes";

const HEX = "0123456789ABCDEF";

export function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

/** `text` for a request line: bytes 0x21-0x7E (and DEL) as they are, the rest as %XX of their UTF-8. */
export function requestLineText(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x20 && c <= 0x7f) {
      out += text[i];
      continue;
    }
    // a surrogate pair is one character: encode both halves together
    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    const pair = c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff;
    for (const b of utf8Encode(pair ? text.slice(i, i + 2) : text[i])) out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
    if (pair) i++;
  }
  return out;
}

/** Download target of a catalog entry: "/fw.bin" for folder ".", "/bin/fw.bin" otherwise. */
export function firmwarePath(folder: string, name: string): string {
  const dir = folder.replace(/^\/+|\/+$/g, "");
  return dir === "" || dir === "." ? `/${requestLineText(name)}` : `/${requestLineText(dir)}/${requestLineText(name)}`;
}

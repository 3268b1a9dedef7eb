// Byte helpers the core needs on every engine. Moddable has no TextEncoder
// unless a module is added, so UTF-8 and hex are done here.

const HEX = "0123456789abcdef";

/** Lowercase hex of the bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15];
  return out;
}

/** True for exactly `length` hex digits (either case). */
export function isHex(text: string, length: number): boolean {
  if (text.length !== length) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) | 0x20; // fold A-F onto a-f
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** UTF-8 encoding of a string; lone surrogates become U+FFFD. */
export function utf8Encode(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 3);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out[n++] = c;
    else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 63);
    } else if (c < 0x10000) {
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    } else {
      out[n++] = 0xf0 | (c >> 18);
      out[n++] = 0x80 | ((c >> 12) & 63);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    }
  }
  return out.slice(0, n);
}

/** UTF-8 decoding; malformed sequences become U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    let need = 0;
    let c = 0xfffd;
    if (b < 0x80) c = b;
    else if (b >= 0xc2 && b < 0xe0) {
      need = 1;
      c = b & 0x1f;
    } else if (b >= 0xe0 && b < 0xf0) {
      need = 2;
      c = b & 0x0f;
    } else if (b >= 0xf0 && b < 0xf5) {
      need = 3;
      c = b & 0x07;
    }
    i++;
    let k = 0;
    for (; k < need && i < bytes.length && (bytes[i] & 0xc0) === 0x80; k++) c = (c << 6) | (bytes[i++] & 63);
    if (k < need || (need === 2 && c < 0x800) || (need === 3 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff)) c = 0xfffd;
    out += String.fromCodePoint(c);
  }
  return out;
}

/** Little-endian unsigned 16-bit value at `at`. */
export function readU16(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8);
}

/** Little-endian unsigned 32-bit value at `at`. */
export function readU32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

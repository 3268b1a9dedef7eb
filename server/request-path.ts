// Which catalog file a request target names. AutoConnect's device sends the
// name raw (`GET bin/100%.bin`, `GET /q?x=1.bin`) and updateserver.py serves
// the raw target, decoding nothing; browsers, curl and our own device escape
// what a request line cannot carry (`/my%20fw.bin`). So a target is looked up
// literally first (the whole target, "?" and "#" included), then fully
// percent-decoded without its query.
//
// "Literally" still undoes escapes of bytes a request line cannot carry raw
// (controls, space, DEL, non-ASCII): the connection-level repair
// (request-target.ts) escapes raw DEL and UTF-8 bytes so Node's parser accepts
// them, and nobody's literal name can hold such a byte unescaped anyway.

const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** Decodes the %XX escapes whose byte `keep` accepts, leaves the rest (and stray "%") as they are; bytes are UTF-8. */
function decodeSome(text: string, decode: (byte: number) => boolean): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && i + 2 < text.length && isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2))) {
      const b = parseInt(text.slice(i + 1, i + 3), 16);
      if (decode(b)) {
        bytes.push(b);
        i += 2;
        continue;
      }
    }
    if (c < 0x80) bytes.push(c);
    else bytes.push(...Buffer.from(text[i], "utf8"));
  }
  return Buffer.from(bytes).toString("utf8");
}

const unsendable = (b: number) => b <= 0x20 || b >= 0x7f;

/** Catalog paths to try for a request target, most literal first (no duplicates). */
export function targetCandidates(target: string): string[] {
  const literal = decodeSome(target, unsendable);
  const end = target.search(/[?#]/);
  const decoded = decodeSome(end < 0 ? target : target.slice(0, end), () => true);
  return decoded === literal ? [literal] : [literal, decoded];
}

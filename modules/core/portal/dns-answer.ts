// Captive DNS: the answer to one DNS query packet (RFC 1035 section 4), engine-neutral.
// Every A query (class IN or ANY, any name) is answered with the access point
// address, so a phone's connectivity probe lands on the portal. Other types
// (AAAA, HTTPS, MX, ...) get an empty NOERROR answer at once ("no such record")
// so the phone falls back to A instead of waiting for a timeout. Responses are
// never answered; other opcodes get NOTIMP, a malformed question FORMERR, a
// class other than IN/ANY REFUSED. The query's additional records (EDNS OPT)
// are not echoed: a server without EDNS answers without OPT (RFC 6891 section 7).

const HEADER = 12;
const TYPE_A = 1;
const TYPE_ANY = 255;
const CLASS_IN = 1;
const CLASS_ANY = 255;

export const RCODE = { noError: 0, formErr: 1, servFail: 2, notImp: 4, refused: 5 } as const;

/** What a query asked, for logs and tests. */
export interface DnsQuestion {
  name: string;
  type: number;
  klass: number;
}

/** Parses the single question of a query; undefined when the packet is not a well-formed one-question query. */
export function dnsQuestion(query: Uint8Array): DnsQuestion | undefined {
  const end = questionEnd(query);
  if (end < 0) return undefined;
  let name = "";
  for (let i = HEADER; query[i] !== 0; i += query[i] + 1) {
    if (name) name += ".";
    for (let j = 1; j <= query[i]; j++) name += String.fromCharCode(query[i + j]);
  }
  return { name, type: (query[end - 4] << 8) | query[end - 3], klass: (query[end - 2] << 8) | query[end - 1] };
}

/**
 * The response to send for `query`, or undefined when nothing should be sent
 * (too short to carry an id, or itself a response). `address` is the dotted
 * IPv4 address every A answer carries; ttl in seconds.
 */
export function dnsAnswer(query: Uint8Array, address: string, ttl = 60): Uint8Array | undefined {
  if (query.length < HEADER) return undefined;
  if (query[2] & 0x80) return undefined; // QR set: a response, never answer it (no reflection loops)
  const opcode = (query[2] >> 3) & 0x0f;
  if (opcode !== 0) return headerOnly(query, RCODE.notImp);
  const end = questionEnd(query);
  if (end < 0) return headerOnly(query, RCODE.formErr);
  const type = (query[end - 4] << 8) | query[end - 3];
  const klass = (query[end - 2] << 8) | query[end - 1];
  if (klass !== CLASS_IN && klass !== CLASS_ANY) return withQuestion(query, end, RCODE.refused, undefined, ttl);
  if (type !== TYPE_A && type !== TYPE_ANY) return withQuestion(query, end, RCODE.noError, undefined, ttl);
  const ip = ipv4(address);
  if (!ip) return withQuestion(query, end, RCODE.servFail, undefined, ttl);
  return withQuestion(query, end, RCODE.noError, ip, ttl);
}

/** Offset just past QTYPE and QCLASS of the only question, or -1 when malformed. */
function questionEnd(query: Uint8Array): number {
  if (query.length < HEADER) return -1;
  const questions = (query[4] << 8) | query[5];
  if (questions !== 1) return -1;
  let i = HEADER;
  let nameLength = 0;
  for (;;) {
    if (i >= query.length) return -1;
    const label = query[i];
    if (label === 0) break;
    if (label > 63) return -1; // a compression pointer (0xC0) or reserved label type has no place in a question
    nameLength += label + 1;
    if (nameLength > 254) return -1; // names are at most 255 bytes on the wire, the root label included
    i += label + 1;
  }
  i += 1;
  return i + 4 <= query.length ? i + 4 : -1;
}

/** The query's header with QR, AA and the rcode set, all counts zero: for queries we cannot read. */
function headerOnly(query: Uint8Array, rcode: number): Uint8Array {
  const out = new Uint8Array(HEADER);
  out[0] = query[0];
  out[1] = query[1];
  out[2] = 0x80 | (query[2] & 0x79); // QR, opcode and RD kept; AA and TC cleared
  out[3] = rcode;
  return out;
}

function withQuestion(query: Uint8Array, end: number, rcode: number, ip: Uint8Array | undefined, ttl: number): Uint8Array {
  const out = new Uint8Array(end + (ip ? 16 : 0));
  out.set(query.subarray(0, end));
  out[2] = 0x80 | 0x04 | (query[2] & 0x01); // QR, AA (we are the authority for every name here), RD echoed; opcode 0
  out[3] = rcode; // RA 0: no recursion offered
  out[6] = 0;
  out[7] = ip ? 1 : 0; // ANCOUNT
  out.fill(0, 8, 12); // NSCOUNT, ARCOUNT: the query's EDNS record is not echoed
  if (ip) {
    let i = end;
    out[i++] = 0xc0; // name: pointer to the question's name at offset 12
    out[i++] = HEADER;
    out[i++] = 0;
    out[i++] = TYPE_A;
    out[i++] = 0;
    out[i++] = CLASS_IN;
    const seconds = ttl >>> 0;
    out[i++] = (seconds >>> 24) & 0xff;
    out[i++] = (seconds >>> 16) & 0xff;
    out[i++] = (seconds >>> 8) & 0xff;
    out[i++] = seconds & 0xff;
    out[i++] = 0;
    out[i++] = 4;
    out.set(ip, i);
  }
  return out;
}

/** Four bytes of a dotted IPv4 address, or undefined. */
export function ipv4(address: string): Uint8Array | undefined {
  const parts = address.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^[0-9]{1,3}$/.test(parts[i])) return undefined;
    const n = Number(parts[i]);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

import { test, assert } from "../../harness/t";
import { dnsAnswer, dnsQuestion, ipv4, RCODE } from "../../../modules/core/portal/dns-answer";
import { toHex } from "../../../modules/core/bytes";

// Queries as Node 20's resolver (c-ares) sends them, captured on a UDP socket.
const A_QUERY = "82250100000100000000000011636f6e6e6563746976697479636865636b076773746174696303636f6d0000010001"; // connectivitycheck.gstatic.com A
const AAAA_QUERY = "0fbd010000010000000000000763617074697665056170706c6503636f6d00001c0001"; // captive.apple.com AAAA
const ANY_QUERY = "945f01000001000000000000037777770f6d736674636f6e6e6563747465737403636f6d0000ff0001"; // www.msftconnecttest.com ANY
const MX_QUERY = "59ad01000001000000000000076578616d706c6503636f6d00000f0001"; // example.com MX
// The OPT pseudo-record dig appends (RFC 6891 6.1.2: root name, type 41, UDP size 4096, no options).
const OPT = "0000291000000000000000";

function bytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
const u16 = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];

test("an A query gets the access point address: id, question and RD echoed, AA set, one answer", () => {
  const query = bytes(A_QUERY);
  const answer = dnsAnswer(query, "192.168.4.1", 60)!;
  assert.equal(toHex(answer.subarray(0, 2)), "8225", "same id");
  assert.equal(u16(answer, 2), 0x8500, "QR, AA, RD; opcode 0, rcode 0");
  assert.deepEqual([u16(answer, 4), u16(answer, 6), u16(answer, 8), u16(answer, 10)], [1, 1, 0, 0]);
  assert.equal(toHex(answer.subarray(12, query.length)), A_QUERY.slice(24), "the question as asked");
  // name pointer to offset 12, type A, class IN, TTL 60, 4 bytes of address
  assert.equal(toHex(answer.subarray(query.length)), "c00c000100010000003c0004c0a80401");
});

test("ANY is answered like A; the TTL is the one given", () => {
  const answer = dnsAnswer(bytes(ANY_QUERY), "10.0.0.7", 5)!;
  assert.equal(u16(answer, 6), 1);
  assert.equal(toHex(answer.subarray(answer.length - 10)), "000000050004" + "0a000007");
});

test("AAAA and other types get an empty NOERROR answer at once, so the phone falls back to A", () => {
  for (const hex of [AAAA_QUERY, MX_QUERY]) {
    const query = bytes(hex);
    const answer = dnsAnswer(query, "192.168.4.1")!;
    assert.equal(answer.length, query.length, "header and question only");
    assert.equal(answer[3] & 0x0f, RCODE.noError);
    assert.equal(u16(answer, 6), 0, "no answer records");
    assert.ok(answer[2] & 0x80, "a response");
  }
});

test("an EDNS query is answered without echoing its OPT record", () => {
  const query = bytes(A_QUERY.slice(0, 20) + "0001" + A_QUERY.slice(24) + OPT); // ARCOUNT 1 + OPT
  const answer = dnsAnswer(query, "192.168.4.1")!;
  assert.equal(u16(answer, 10), 0, "ARCOUNT 0");
  assert.equal(answer.length, A_QUERY.length / 2 + 16, "question + one A record, nothing else");
  assert.equal(toHex(answer.subarray(answer.length - 4)), "c0a80401");
});

test("the name is copied byte for byte (case kept, as resolvers using 0x20 randomisation check)", () => {
  const mixed = A_QUERY.replace("636f6d0000010001", "436f4d0000010001"); // "CoM"
  const answer = dnsAnswer(bytes(mixed), "192.168.4.1")!;
  assert.equal(toHex(answer.subarray(12, mixed.length / 2)), mixed.slice(24));
});

test("responses and packets shorter than a header are never answered", () => {
  const response = dnsAnswer(bytes(A_QUERY), "192.168.4.1")!;
  assert.equal(dnsAnswer(response, "192.168.4.1"), undefined, "QR set: answering it could start a loop");
  assert.equal(dnsAnswer(new Uint8Array(11), "192.168.4.1"), undefined);
  assert.equal(dnsAnswer(new Uint8Array(0), "192.168.4.1"), undefined);
});

test("malformed questions get FORMERR with only the header", () => {
  const noQuestion = bytes("123401000000000000000000");
  const truncated = bytes(A_QUERY.slice(0, A_QUERY.length - 4)); // QCLASS missing
  const pointer = bytes("123401000001000000000000c00c00010001"); // a compression pointer as the name
  const nameOnly = bytes("1234010000010000000000000361626300"); // no QTYPE/QCLASS after the name
  const twoQuestions = bytes(A_QUERY.slice(0, 8) + "0002" + A_QUERY.slice(12));
  const longLabels = bytes("123401000001000000000000" + "3f" + "61".repeat(63) + "3f" + "61".repeat(63) + "3f" + "61".repeat(63) + "3f" + "61".repeat(63) + "0000010001");
  for (const [what, query] of [["no question", noQuestion], ["truncated", truncated], ["pointer", pointer], ["name only", nameOnly], ["two questions", twoQuestions], ["name over 255 bytes", longLabels]] as const) {
    const answer = dnsAnswer(query, "192.168.4.1");
    assert.ok(answer, what);
    assert.equal(answer!.length, 12, what);
    assert.equal(answer![3], RCODE.formErr, what);
    assert.equal(u16(answer!, 0), u16(query, 0), `${what}: id kept`);
    assert.deepEqual([u16(answer!, 4), u16(answer!, 6), u16(answer!, 8), u16(answer!, 10)], [0, 0, 0, 0], what);
  }
});

test("other opcodes get NOTIMP, other classes REFUSED, an unusable address SERVFAIL", () => {
  const status = bytes(A_QUERY.slice(0, 4) + "1100" + A_QUERY.slice(8)); // opcode 2 (STATUS), RD
  const notImp = dnsAnswer(status, "192.168.4.1")!;
  assert.equal(notImp[3], RCODE.notImp);
  assert.equal(notImp[2], 0x91, "QR, opcode 2 and RD kept");
  const chaos = bytes(A_QUERY.slice(0, A_QUERY.length - 4) + "0003"); // class CH
  assert.equal(dnsAnswer(chaos, "192.168.4.1")![3] & 0x0f, RCODE.refused);
  const failed = dnsAnswer(bytes(A_QUERY), "not an address")!;
  assert.equal(failed[3] & 0x0f, RCODE.servFail);
  assert.equal(u16(failed, 6), 0);
});

test("dnsQuestion reads the name, type and class; ipv4 parses dotted quads only", () => {
  assert.deepEqual(dnsQuestion(bytes(AAAA_QUERY)), { name: "captive.apple.com", type: 28, klass: 1 });
  assert.equal(dnsQuestion(bytes("123401000000000000000000")), undefined);
  assert.deepEqual(ipv4("192.168.4.1"), new Uint8Array([192, 168, 4, 1]));
  for (const bad of ["192.168.4", "192.168.4.256", "a.b.c.d", "1.2.3.4.5", "", "1..2.3"]) assert.equal(ipv4(bad), undefined, bad);
});

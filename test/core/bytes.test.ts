import { test, assert } from "../harness/t";
import { isHex, toHex, utf8Decode, utf8Encode } from "../../modules/core/bytes";

test("toHex gives lowercase pairs", () => {
  assert.equal(toHex(new Uint8Array([0, 1, 0xab, 0xff])), "0001abff");
});

test("isHex accepts exactly N hex digits of either case", () => {
  assert.ok(isHex("d2a01b7710dae3fbd2d1c16aa499f328", 32));
  assert.ok(isHex("D2A01B7710DAE3FBD2D1C16AA499F328", 32));
  assert.ok(!isHex("d2a01b7710dae3fbd2d1c16aa499f32", 32), "31 digits");
  assert.ok(!isHex("g2a01b7710dae3fbd2d1c16aa499f328", 32), "non-hex digit");
  assert.ok(!isHex("d2a01b7710dae3fbd2d1c16aa499f32 ", 32), "trailing space");
});

test("UTF-8 round-trips ASCII, accents, CJK and astral characters", () => {
  for (const text of ["fw.bin", "héllo", "固件", "🚀 v2"]) assert.equal(utf8Decode(utf8Encode(text)), text);
  assert.deepEqual(utf8Encode("é"), new Uint8Array([0xc3, 0xa9]));
  assert.deepEqual(utf8Encode("🚀"), new Uint8Array([0xf0, 0x9f, 0x9a, 0x80]));
});

test("malformed UTF-8 decodes to replacement characters, never throws", () => {
  assert.equal(utf8Decode(new Uint8Array([0x66, 0xc3])), "f\ufffd");
  assert.equal(utf8Decode(new Uint8Array([0xc0, 0x80])), "\ufffd\ufffd");
  assert.equal(utf8Decode(new Uint8Array([0xed, 0xa0, 0x80])), "\ufffd");
});

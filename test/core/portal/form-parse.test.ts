import { test, assert } from "../../harness/t";
import { decodeComponent, encodeComponent, MAX_FORM_BODY, parseForm, utf8Length } from "../../../modules/core/portal/form";

test("parseForm decodes plus, percent escapes and UTF-8", () => {
  const f = parseForm("ssid=My+Home%21&password=p%C3%A4ss%20w&empty=&flag");
  assert.equal(f.get("ssid"), "My Home!");
  assert.equal(f.get("password"), "päss w");
  assert.equal(f.get("empty"), "");
  assert.equal(f.get("flag"), "");
  assert.equal(f.size, 4);
});

test("the first of repeated names wins and empty parts are skipped", () => {
  const f = parseForm("fw=a.bin&&fw=b.bin&");
  assert.equal(f.get("fw"), "a.bin");
  assert.equal(f.size, 1);
  assert.equal(parseForm("").size, 0);
});

test("malformed escapes stay literal and bad UTF-8 becomes U+FFFD, never a throw", () => {
  assert.equal(decodeComponent("100%"), "100%");
  assert.equal(decodeComponent("%zz%4"), "%zz%4");
  assert.equal(decodeComponent("%C3"), "\ufffd");
  assert.equal(decodeComponent("%F0%9F%9A%80"), "🚀");
  assert.equal(decodeComponent("a%3Db%26c"), "a=b&c");
});

test("raw non-ASCII characters (clients that skip encoding) survive", () => {
  assert.equal(decodeComponent("固件 🚀"), "固件 🚀");
});

test("encodeComponent round-trips through decodeComponent, lone surrogates included", () => {
  for (const s of ["a b&c=d", "固件", "🚀", "%+"]) assert.equal(decodeComponent(encodeComponent(s)), s);
  assert.equal(decodeComponent(encodeComponent("x\ud800y")), "x\ufffdy");
});

test("utf8Length counts bytes; the body cap is exported for adapters", () => {
  assert.equal(utf8Length("abc"), 3);
  assert.equal(utf8Length("é"), 2);
  assert.equal(utf8Length("固"), 3);
  assert.equal(utf8Length("🚀"), 4);
  assert.equal(MAX_FORM_BODY, 2048);
});

import { test, assert } from "../../harness/t";
import { base64Decode, base64Encode } from "../../../modules/core/base64";
import { authorized, basicHeader, parseBasic, PASSWORD_KEY, PORTAL_USER, setPassword, storedPassword } from "../../../modules/core/portal/basic-auth";
import { utf8Decode, utf8Encode } from "../../../modules/core/bytes";
import { MemoryStore } from "../../fakes/store";

test("base64 decodes RFC 4648 test vectors, padded or not", () => {
  const vectors: Array<[string, string]> = [["", ""], ["f", "Zg=="], ["fo", "Zm8="], ["foo", "Zm9v"], ["foob", "Zm9vYg=="], ["fooba", "Zm9vYmE="], ["foobar", "Zm9vYmFy"]];
  for (const [plain, coded] of vectors) {
    assert.equal(utf8Decode(base64Decode(coded) ?? new Uint8Array([0xff])), plain, coded);
    assert.equal(utf8Decode(base64Decode(coded.replace(/=+$/, "")) ?? new Uint8Array([0xff])), plain, `${coded} unpadded`);
    assert.equal(base64Encode(utf8Encode(plain)), coded);
  }
  assert.deepEqual(base64Decode("+/8="), new Uint8Array([0xfb, 0xff]));
});

test("base64 refuses what is not base64", () => {
  assert.equal(base64Decode("Zm9v!"), undefined);
  assert.equal(base64Decode("Z"), undefined, "one leftover char carries no byte");
  assert.equal(base64Decode("Zm=9"), undefined, "padding in the middle");
  assert.equal(base64Decode("Zm9 v"), undefined);
});

test("parseBasic reads the RFC 7617 example and UTF-8 credentials", () => {
  // RFC 7617 section 2: Aladdin / open sesame.
  assert.deepEqual(parseBasic("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="), { user: "Aladdin", password: "open sesame" });
  assert.deepEqual(parseBasic("basic   QWxhZGRpbjpvcGVuIHNlc2FtZQ=="), { user: "Aladdin", password: "open sesame" });
  assert.deepEqual(parseBasic(basicHeader("admin", "pä:ss")), { user: "admin", password: "pä:ss" }, "password may hold a colon");
  assert.equal(parseBasic("Bearer abc"), undefined);
  assert.equal(parseBasic("Basic " + base64Encode(utf8Encode("nocolon"))), undefined);
  assert.equal(parseBasic("Basic %%%"), undefined);
  assert.equal(parseBasic(undefined), undefined);
});

test("authorized: open without a password, then only admin with the right one", () => {
  const store = new MemoryStore();
  assert.ok(authorized(store, undefined));
  assert.equal(setPassword(store, "s3cret pass"), undefined);
  assert.equal(store.get(PASSWORD_KEY), "s3cret pass");
  assert.equal(storedPassword(store), "s3cret pass");
  assert.ok(!authorized(store, undefined));
  assert.ok(!authorized(store, basicHeader(PORTAL_USER, "s3cret pas")));
  assert.ok(!authorized(store, basicHeader(PORTAL_USER, "s3cret pass!")));
  assert.ok(!authorized(store, basicHeader("root", "s3cret pass")));
  // Same lengths: only the character compare can tell these apart.
  assert.ok(!authorized(store, basicHeader(PORTAL_USER, "s3cret pasS")), "a wrong password of the right length");
  assert.ok(!authorized(store, basicHeader(PORTAL_USER, "t3cret pass")), "differing in the first character");
  assert.ok(!authorized(store, basicHeader("admiN", "s3cret pass")), "a wrong user of the right length");
  assert.ok(authorized(store, basicHeader(PORTAL_USER, "s3cret pass")));
  assert.equal(setPassword(store, ""), undefined);
  assert.equal(store.get(PASSWORD_KEY), undefined);
  assert.ok(authorized(store, undefined));
});

test("setPassword refuses an over-long password and stores nothing", () => {
  const store = new MemoryStore();
  assert.match(setPassword(store, "x".repeat(65)) ?? "", /64 bytes/);
  assert.equal(store.get(PASSWORD_KEY), undefined);
  assert.equal(setPassword(store, "é".repeat(32)), undefined, "32 two-byte characters = 64 bytes");
});

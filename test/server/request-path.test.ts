// Which catalog paths a request target is looked up as (server/request-path.ts),
// and the router's view of a stray "%" (server/app.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { routableUrl } from "../../server/app";
import { targetCandidates } from "../../server/request-path";

test("literal first (AutoConnect's raw names), then percent-decoded without the query", () => {
  assert.deepEqual(targetCandidates("/fw.bin"), ["/fw.bin"]);
  assert.deepEqual(targetCandidates("/%41.bin"), ["/%41.bin", "/A.bin"]);
  assert.deepEqual(targetCandidates("/100%.bin"), ["/100%.bin"]);
  assert.deepEqual(targetCandidates("/q?x=1.bin"), ["/q?x=1.bin", "/q"]);
  assert.deepEqual(targetCandidates("/hash#1.bin"), ["/hash#1.bin", "/hash"]);
  assert.deepEqual(targetCandidates("/a%2Bb.bin"), ["/a%2Bb.bin", "/a+b.bin"]);
});

test("escapes of bytes no request line carries raw are undone even in the literal look-up", () => {
  assert.deepEqual(targetCandidates("/my%20fw.bin"), ["/my fw.bin"]);
  assert.deepEqual(targetCandidates("/del%7F.bin"), ["/del\x7f.bin"]);
  assert.deepEqual(targetCandidates("/f%C3%AFr.bin"), ["/fïr.bin"]);
  assert.deepEqual(targetCandidates("/%2e%2e/x.bin"), ["/%2e%2e/x.bin", "/../x.bin"], "both then go through containment");
});

test("routing sees a stray % escaped; real escapes are left alone", () => {
  assert.equal(routableUrl("/100%.bin"), "/100%25.bin");
  assert.equal(routableUrl("/%41%zz%"), "/%41%25zz%25");
  assert.equal(routableUrl("/fw.bin"), "/fw.bin");
});

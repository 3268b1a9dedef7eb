// The request log's URL redaction: every parameter whose decoded name says
// secret (token, key, secret, password, in any case or escape, after & or ;)
// loses its value; everything else is logged as sent.
import assert from "node:assert/strict";
import { test } from "node:test";
import { requestForLog } from "../../server/fleet/auth";
import { redactUrl } from "../../server/redact";

const SECRET = "s3cr3t-value";

test("secret parameters are redacted by their decoded name, whatever separates them", () => {
  const cases = [
    `/x?token=${SECRET}`,
    `/x?access_token=${SECRET}`,
    `/x?%74oken=${SECRET}`,
    `/x?%74%6F%6B%65%6E=${SECRET}`,
    `/x?t=1;token=${SECRET}`,
    `/x?admin_token=${SECRET}`,
    `/x?api_key=${SECRET}`,
    `/x?a=1&API%5FKEY=${SECRET}&b=2`,
    `/x?client_secret=${SECRET}#frag`,
    `/x?Password=${SECRET}`,
    `/x?pass+word=1&my+password=${SECRET}`,
    `/x?%zz&token%zz=${SECRET}`,
    `/x?token=${SECRET}=more`,
  ];
  for (const url of cases) {
    const logged = redactUrl(url);
    assert.ok(!logged.includes(SECRET), `${url} -> ${logged}`);
    assert.match(logged, /=\[redacted\]/, url);
  }
});

test("other parameters, the path and the fragment are kept as sent", () => {
  assert.equal(redactUrl("/fw/token.bin"), "/fw/token.bin");
  assert.equal(redactUrl("/_catalog?op=list&path=."), "/_catalog?op=list&path=.");
  assert.equal(redactUrl("/x?t=1;token=abc#top"), "/x?t=1;token=[redacted]#top");
  assert.equal(redactUrl("/x?channel=beta&api_key=abc&limit=5"), "/x?channel=beta&api_key=[redacted]&limit=5");
  assert.equal(redactUrl("/x?flag&tokenless"), "/x?flag&tokenless");
});

test("the log's request serializer uses it", () => {
  assert.equal(requestForLog({ method: "GET", url: `/api/devices?%74oken=${SECRET}` }).url, "/api/devices?%74oken=[redacted]");
});

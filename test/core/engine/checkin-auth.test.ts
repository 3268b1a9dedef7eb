// Board credentials on check-ins (engine/checkin-auth.ts): the HMAC-SHA256 the
// board computes through its DigestFactory matches RFC 4231 and an independent
// HMAC, covers exactly the board's device headers, and each request of a
// check-in (a resend too) carries a fresh, later time.
import { test, assert } from "../../harness/t";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { authPieces, checkInAuthHeader, hmacSha256 } from "../../../modules/core/engine/checkin-auth";
import { toHex, utf8Encode } from "../../../modules/core/bytes";
import { nobleDigest } from "../../fakes/digest";
import { createRig } from "../../fakes/rig";

test("HMAC-SHA256 as RFC 4231 test case 2, and as an independent HMAC for a key longer than the block", () => {
  assert.equal(toHex(hmacSha256(nobleDigest, "Jefe", ["what do ya want ", "for nothing?"])), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  const long = "k".repeat(131);
  const text = "Test Using Larger Than Block-Size Key - Hash Key First";
  assert.equal(toHex(hmacSha256(nobleDigest, long, [text])), toHex(hmac(sha256, utf8Encode(long), utf8Encode(text))));
});

test("the signed text: time, then the device headers by lower-cased name, values trimmed; other headers left out", () => {
  const pieces = authPieces(
    [["User-Agent", "ESP32-http-Update"], ["x-ESP32-STA-MAC", "24:6F:28:AA:BB:01"], ["x-ESP32-free-space", " 1966080 "], ["x-Ota-Mod", "hello@1.0.0"], ["Range", "bytes=5-"]],
    1_700_000_000_123,
  );
  assert.deepEqual(pieces, ["ota-checkin-v1\n1700000000123\n", "x-esp32-free-space:1966080\n", "x-esp32-sta-mac:24:6F:28:AA:BB:01\n", "x-ota-mod:hello@1.0.0\n"]);
  const [name, value] = checkInAuthHeader(nobleDigest, "fleet-secret-0123456789", [["x-ESP32-STA-MAC", "24:6F:28:AA:BB:01"]], 1_700_000_000_123.7);
  assert.equal(name, "x-Ota-Auth");
  const m = /^v1 (\d+) ([0-9a-f]{64})$/.exec(value);
  assert.ok(m);
  assert.equal(m![1], "1700000000123");
  const expected = hmac(sha256, utf8Encode("fleet-secret-0123456789"), utf8Encode("ota-checkin-v1\n1700000000123\nx-esp32-sta-mac:24:6F:28:AA:BB:01\n"));
  assert.equal(m![2], toHex(expected));
});

test("a check-in carries credentials over its own headers with a later time on every request; none without a secret", async () => {
  let wall = 1_800_000_005_000;
  const rig = createRig({ route: [{ status: 304 }, { status: 304 }], options: { boardAuth: { secret: "fleet-secret-0123456789", hostTime: () => wall } } });
  rig.updater.checkIn("http://192.168.4.2:8000/u");
  await rig.settle();
  rig.updater.checkIn("http://192.168.4.2:8000/u"); // same millisecond: still later than the last
  await rig.settle();
  const sent = [0, 1].map((i) => rig.http.header(i, "x-Ota-Auth"));
  assert.equal(sent[0]?.split(" ")[1], "1800000005000");
  assert.equal(sent[1]?.split(" ")[1], "1800000005001");
  const headers = rig.http.requests[1].headers ?? [];
  const own = headers.filter(([n]) => n !== "x-Ota-Auth");
  assert.deepEqual(checkInAuthHeader(nobleDigest, "fleet-secret-0123456789", own, 1_800_000_005_001)[1], sent[1]);
  wall = 1_800_000_009_000;
  const plain = createRig({ route: [{ status: 304 }] });
  plain.updater.checkIn("http://192.168.4.2:8000/u");
  await plain.settle();
  assert.equal(plain.http.header(0, "x-Ota-Auth"), undefined);
});

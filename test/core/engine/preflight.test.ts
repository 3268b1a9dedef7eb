import { test, assert } from "../../harness/t";
import type { HttpResponseHead } from "../../../modules/core/ports";
import { checkHead, checkImageHeader } from "../../../modules/core/engine/preflight";
import { buildImage } from "../../fakes/image";
import { REFERENCE_BINARY_HEAD } from "../../fakes/fixtures"; // /work/shared/fixtures/autoconnect-updateserver-binary-response-head.http

function head(headers: ReadonlyArray<readonly [string, string]>, status = 200): HttpResponseHead {
  return { status, headers: new Map(headers.map(([n, v]) => [n.toLowerCase(), v])) };
}

const LIMITS = { capacity: 1_966_080, requireMd5: true };

test("the reference server's binary response head passes", () => {
  assert.deepEqual(checkHead(head(REFERENCE_BINARY_HEAD), LIMITS), { size: 1028, md5: "d2a01b7710dae3fbd2d1c16aa499f328", sha256: undefined });
});

test("size limits: exactly the partition size fits, one byte more does not", () => {
  const h = (n: number) => head([["Content-Length", String(n)], ["x-MD5", "d2a01b7710dae3fbd2d1c16aa499f328"]]);
  assert.equal((checkHead(h(1_966_080), LIMITS) as { size: number }).size, 1_966_080);
  assert.deepEqual(checkHead(h(1_966_081), LIMITS), { error: "Image is 1.9 MB, the update partition holds 1.9 MB" });
  assert.deepEqual(checkHead(h(4_404_019), LIMITS), { error: "Image is 4.2 MB, the update partition holds 1.9 MB" });
});

test("an x-SHA256 is kept lowercase; transfer-encoding identity is not chunked", () => {
  const sha = "A".repeat(64);
  const r = checkHead(head([["Content-Length", "100"], ["x-MD5", "D2A01B7710DAE3FBD2D1C16AA499F328"], ["x-SHA256", sha], ["Transfer-Encoding", "identity"]]), LIMITS);
  assert.deepEqual(r, { size: 100, md5: "d2a01b7710dae3fbd2d1c16aa499f328", sha256: "a".repeat(64) });
});

test("the image header must carry the ESP magic and this board's chip", () => {
  assert.equal(checkImageHeader(buildImage({ size: 24 }), 0), undefined);
  assert.equal(checkImageHeader(buildImage({ size: 24, chipId: 5 }), 0), "Image is for ESP32-C3, this board is ESP32");
  assert.equal(checkImageHeader(buildImage({ size: 24, chipId: 0 }), 9), "Image is for ESP32, this board is ESP32-S3");
  assert.equal(checkImageHeader(buildImage({ size: 24, chipId: 0x77 }), 0), "Image is for unknown chip 0x0077, this board is ESP32");
  assert.equal(checkImageHeader(buildImage({ size: 24, magic: 0x1f }), 0), "Not an ESP32 app image (first byte 0x1F, expected 0xE9)");
});

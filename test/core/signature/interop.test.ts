// Issue 12, interop: an image that Espressif's `espsecure sign-data --version 2`
// signed (padded to 4 KB, signature sector appended) goes through today's
// update engine untouched: Content-Length, x-MD5 and x-SHA256 all describe the
// whole file, and the slot gets every byte of it, sector included, so ESP-IDF's
// own signed-app check at esp_ota_end still finds it. Then our decision on the
// same bytes, as the session will ask for it before commit.
import { test, assert } from "../../harness/t";
import { utf8Encode } from "../../../modules/core/bytes";
import { checkSignature, signaturePolicy } from "../../../modules/core/signature/policy";
import { ImageFactsReader } from "../../../modules/core/signature/statement";
import { createRig } from "../../fakes/rig";
import { serveBytes } from "../../fakes/http";
import { appendEspSignatureSector, buildAppImage } from "../../fakes/app-image";
import { md5Hex, nobleDigest, sha256Hex } from "../../fakes/digest";
import { nobleVerifier, sha256Bytes, signImage, testKey } from "../../fakes/signature";

const ESP_SIGNED = appendEspSignatureSector(buildAppImage({ size: 61_000, version: "2.0.0", secureVersion: 1, seed: 11 }), sha256Bytes);

test("an espsecure-signed image streams, verifies (MD5 and SHA-256 of the whole file) and commits byte for byte", async () => {
  const catalog = utf8Encode(`[{"name":"fw.bin","type":"bin","date":"11/22/26","time":"10:55:15","size":${ESP_SIGNED.length}}]`);
  const rig = createRig({
    route: (r) =>
      r.path.startsWith("/_catalog")
        ? { status: 200, headers: [["Content-Length", String(catalog.length)]], body: catalog }
        : r.path.startsWith("/api/catalog")
          ? { status: 404, headers: [["Content-Length", "0"]] }
          : serveBytes(ESP_SIGNED, r, { headers: [["x-MD5", md5Hex(ESP_SIGNED)], ["x-SHA256", sha256Hex(ESP_SIGNED)]] }),
  });
  rig.updater.loadCatalog();
  await rig.settle();
  assert.equal(rig.updater.start("fw.bin"), undefined);
  await rig.settle();
  const p = rig.updater.progress();
  assert.equal(p.phase, "done", p.error);
  assert.equal(p.total, ESP_SIGNED.length);
  assert.deepEqual(rig.flash.written(ESP_SIGNED.length), ESP_SIGNED, "the signature sector is in the slot too");
});

test("the facts of an espsecure-signed image read from its head as streamed, and our signature of the whole file passes", () => {
  const reader = new ImageFactsReader();
  const digest = nobleDigest("SHA256");
  for (let i = 0; i < ESP_SIGNED.length; i += 4096) {
    reader.push(ESP_SIGNED.subarray(i, i + 4096));
    digest.write(ESP_SIGNED.subarray(i, i + 4096));
  }
  const owner = testKey(1);
  const policy = signaturePolicy([owner.config], { chipId: 0, projectName: "ota-device", secureVersion: 1 }, nobleDigest);
  const verdict = checkSignature(signImage(ESP_SIGNED, owner), { sha256: digest.close(), size: ESP_SIGNED.length, facts: reader.facts() }, policy, nobleVerifier);
  assert.equal(verdict.ok && verdict.signed && verdict.claim.version, "2.0.0");
});

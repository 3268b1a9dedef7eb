// "Signed updates only" in the portal (Node and XS): the home and UPDATE pages
// and /api/status show whether the board takes only signed images and the
// keys' fingerprints; the upload route hands the x-Firmware-Signature header
// to the updater. Nothing changes while signatures are off.
import { test, assert } from "../../harness/t";
import { OPEN_PORTAL, portalRig, request } from "../../fakes/portal-client";
import { signaturePolicy } from "../../../modules/core/signature/policy";
import { utf8Length } from "../../../modules/core/portal/form";
import { nobleDigest } from "../../fakes/digest";
import { testKey } from "../../fakes/signature";

const OWNER = testKey(1);
const NEXT = testKey(2);
const BOARD = { chipId: 0, projectName: "ota-device", secureVersion: 0 };
const fp = (id: string) => `${id.slice(0, 4)} ${id.slice(4, 8)} ${id.slice(8, 12)} ${id.slice(12, 16)}`;

test("home and UPDATE pages show 'Signed updates only' with each key's fingerprint", () => {
  const rig = portalRig({ signing: signaturePolicy([OWNER.config, NEXT.pem], BOARD, nobleDigest) });
  for (const path of ["/", "/update?cached=1"]) {
    const body = rig.get(path).body;
    assert.match(body, /<section id=signing><h2>Signed updates only<\/h2>/, path);
    assert.ok(body.includes(`<dt>Key 1</dt><dd class=fingerprint>${fp(OWNER.id)}</dd>`), `${path}: first key`);
    assert.ok(body.includes(`<dt>Key 2</dt><dd class=fingerprint>${fp(NEXT.id)}</dd>`), `${path}: second key`);
  }
  const status = JSON.parse(rig.get("/api/status").body);
  assert.deepEqual(status.signing, { required: true, keys: [fp(OWNER.id), fp(NEXT.id)] });
});

test("an unusable key entry is shown, and with no usable key the page says every image is refused", () => {
  const rig = portalRig({ signing: signaturePolicy(["not a key"], BOARD, nobleDigest) });
  const body = rig.get("/").body;
  assert.match(body, /Signed updates only/);
  assert.match(body, /None of the configured keys is usable: every image is refused\./);
  assert.match(body, /<p class=error>key 1: /);
  const status = JSON.parse(rig.get("/api/status").body);
  assert.equal(status.signing.required, true);
  assert.deepEqual(status.signing.keys, []);
  assert.match(status.signing.errors[0], /^key 1: /);
});

test("signatures off: no signing section, /api/status says so", () => {
  for (const signing of [undefined, signaturePolicy([], BOARD, nobleDigest)]) {
    const rig = portalRig(signing ? { signing } : {});
    assert.ok(!rig.get("/").body.includes("Signed updates only"));
    assert.ok(!rig.get("/update?cached=1").body.includes("id=signing"));
    assert.deepEqual(JSON.parse(rig.get("/api/status").body).signing, { required: false, keys: [] });
  }
});

test("POST /update/upload passes x-Firmware-Signature to the updater as sent; without it none", () => {
  const rig = portalRig(OPEN_PORTAL);
  const routed = rig.portal.bodyRouter(request("POST", "/update/upload", { headers: { "content-type": "application/octet-stream", "content-length": "4", "x-firmware-signature": "bW9kZGFibGU=" } }));
  if (!routed || !("stream" in routed)) return assert.fail("not streamed");
  routed.stream.write(new Uint8Array(4));
  routed.stream.end();
  assert.equal(rig.updater.uploaded[0].request.signature, "bW9kZGFibGU=");
  const plain = rig.portal.bodyRouter(request("POST", "/update/upload", { headers: { "content-length": "4" } }));
  if (!plain || !("stream" in plain)) return assert.fail("not streamed");
  assert.equal("signature" in rig.updater.uploaded[1].request, false);
});

test("with three keys and every row refused for its signature, home and UPDATE stay under 8 KB", () => {
  const rig = portalRig({ signing: signaturePolicy([OWNER.config, NEXT.config, testKey(4).config], BOARD, nobleDigest) });
  const reason = `Not signed by this board's owner: it is signed with key 1a2b 3c4d 5e6f 7081, this board trusts ${fp(OWNER.id)}, ${fp(NEXT.id)}, ${fp(testKey(4).id)}`;
  rig.updater.catalogState = {
    state: "ready",
    entries: Array.from({ length: 64 }, (_, i) => ({ name: `firmware-release-${i}.bin`, date: "11/22/26", time: "10:55:15", size: 1500000 + i, version: "10.20.30", disabled: reason })),
  };
  for (const path of ["/", "/update?cached=1"]) {
    const size = utf8Length(rig.get(path).body);
    assert.ok(size < 8192, `${path} is ${size} bytes`);
  }
});

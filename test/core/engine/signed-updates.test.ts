// Signed updates through the real engine (Node and XS): createUpdater, the
// download and upload sessions and the image sink on the hardware fakes, with
// real P-256 signatures (@noble/curves). A board with a signing key commits
// only an image signed by one of its keys, for its chip and project, not
// lower in secure_version. A signature is judged after the last byte (the
// slot is discarded); what the image's head already says (project,
// secure_version, no usable key) and an upload without a signature are
// refused before anything is erased. The boot selection is always untouched.
import { test, assert } from "../../harness/t";
import type { HttpRequest } from "../../../modules/core/ports";
import type { UploadTarget } from "../../../modules/core/updater-api";
import { utf8Encode } from "../../../modules/core/bytes";
import { base64Encode } from "../../../modules/core/base64";
import { formatSignatureFile, parseSignatureFile } from "../../../modules/core/signature/sig-file";
import { createRig, type Rig } from "../../fakes/rig";
import { serveBytes, type ScriptedResponse } from "../../fakes/http";
import { buildAppImage } from "../../fakes/app-image";
import { md5Hex } from "../../fakes/digest";
import { signImage, testKey } from "../../fakes/signature";

const OWNER = testKey(1);
const NEW_OWNER = testKey(2);
const STRANGER = testKey(3);
const fp = (id: string) => `${id.slice(0, 4)} ${id.slice(4, 8)} ${id.slice(8, 12)} ${id.slice(12, 16)}`;

/** The board runs 1.1.0 of "ota-device" with secure_version 2. */
const RUNNING = buildAppImage({ size: 8192, version: "1.1.0", secureVersion: 2, seed: 99 });
const IMAGE = buildAppImage({ size: 30_000, version: "1.2.0", secureVersion: 2, seed: 5 });
const SIG = signImage(IMAGE, OWNER);

const NOT_OWNER = "Not signed by this board's owner";
const MISSING = `${NOT_OWNER}: the image has no signature`;

/** What the server answers for the image and for `<image>.sig`. */
interface Served {
  image?: Uint8Array;
  /** Sent as x-Firmware-Signature (a .sig text, or a raw header value with `rawHeader`). */
  header?: string;
  rawHeader?: string;
  /** The .sig beside the image: its text, or a whole scripted answer; absent = 404. */
  sigFile?: string | ScriptedResponse;
  /** /api/catalog rows (absent = 404, as AutoConnect's updateserver.py). */
  facts?: string;
}

function catalogRig(served: Served, keys: string[] = [OWNER.config], running = RUNNING): Rig {
  const image = served.image ?? IMAGE;
  const catalog = utf8Encode(`[{"name":"fw.bin","type":"bin","date":"11/22/26","time":"10:55:15","size":${image.length}},{"name":"other.bin","type":"bin","date":"11/22/26","time":"10:55:15","size":${image.length}}]`);
  const facts = served.facts === undefined ? undefined : utf8Encode(served.facts);
  const route = (r: HttpRequest): ScriptedResponse => {
    if (r.path.startsWith("/_catalog")) return { status: 200, headers: [["Content-Length", String(catalog.length)]], body: catalog };
    if (r.path.startsWith("/api/catalog")) return facts ? { status: 200, headers: [["Content-Length", String(facts.length)]], body: facts } : { status: 404, headers: [["Content-Length", "0"]] };
    if (r.path === "/fw.bin.sig") {
      if (served.sigFile === undefined) return { status: 404, headers: [["Content-Length", "9"]], body: utf8Encode("Not Found") };
      if (typeof served.sigFile !== "string") return served.sigFile;
      const body = utf8Encode(served.sigFile);
      return { status: 200, headers: [["Content-Length", String(body.length)]], body };
    }
    const headers: Array<readonly [string, string]> = [["x-MD5", md5Hex(image)]];
    if (served.header !== undefined) headers.push(["x-Firmware-Signature", base64Encode(utf8Encode(served.header))]);
    if (served.rawHeader !== undefined) headers.push(["x-Firmware-Signature", served.rawHeader]);
    return serveBytes(image, r, { headers });
  };
  return createRig({ route, signingKeys: keys, flash: { runningImage: running } });
}

async function install(rig: Rig, name = "fw.bin"): Promise<string | undefined> {
  rig.updater.loadCatalog();
  await rig.settle();
  const refused = rig.updater.start(name);
  await rig.settle();
  return refused;
}

function paths(rig: Rig): string[] {
  return rig.http.requests.map((r) => r.path).filter((p) => !p.startsWith("/_catalog") && !p.startsWith("/api/catalog"));
}

function assertInstalled(rig: Rig, image = IMAGE): void {
  const p = rig.updater.progress();
  assert.equal(p.phase, "done", p.error);
  assert.equal(rig.flash.bootSlot, 1, "boot switched to the new image");
  assert.deepEqual(rig.flash.written(image.length), image);
}

/** A refusal after the last byte: the whole image came in, then the slot was discarded, boot selection untouched, no restart. */
function assertRefused(rig: Rig, message: string, image = IMAGE): void {
  const p = rig.updater.progress();
  assert.equal(p.phase, "failed");
  assert.equal(p.error, message);
  assert.equal(p.received, image.length, "refused after the bytes were in");
  assert.equal(rig.flash.writer.state, "aborted", "slot discarded");
  assert.ok(rig.flash.untouched(), "running image and boot selection untouched");
  assert.equal(rig.boot.lastUpdate()?.result, "failed");
  assert.equal(rig.boot.lastUpdate()?.reason, message);
  rig.clock.advance(60_000);
  assert.equal(rig.system.restarts, 0);
}

/**
 * A refusal from the image's head (project, secure_version, no usable key): the
 * slot was never opened, so nothing was erased and the previous image the board
 * keeps to go back to is still there.
 */
function assertRefusedBeforeErase(rig: Rig, message: string): void {
  const p = rig.updater.progress();
  assert.equal(p.phase, "failed");
  assert.equal(p.error, message);
  assert.equal(rig.flash.writer.begins, 0, "the slot was never erased");
  assert.ok(rig.flash.untouched(), "running image and boot selection untouched");
  rig.clock.advance(60_000);
  assert.equal(rig.system.restarts, 0);
}

// Downloads from the catalog

test("download: the .sig beside the image is asked for first (404 here); the x-Firmware-Signature header with the image is used, and it installs", async () => {
  const rig = catalogRig({ header: SIG });
  assert.equal(await install(rig), undefined);
  assertInstalled(rig);
  assert.deepEqual(paths(rig), ["/fw.bin.sig", "/fw.bin"]);
});

test("download: without the header, the .sig fetched before the image, with the board's headers, signs it, and the image installs", async () => {
  const rig = catalogRig({ sigFile: SIG });
  await install(rig);
  assertInstalled(rig);
  assert.deepEqual(paths(rig), ["/fw.bin.sig", "/fw.bin"]);
  const sigRequest = rig.http.requests.find((r) => r.path === "/fw.bin.sig");
  assert.equal(sigRequest?.headers?.find(([n]) => n === "User-Agent")?.[1], "ESP32-http-Update", "a gated server lets the board fetch it");
});

test("download: a missing signature (no header, .sig 404) is refused from the image's head, before the slot is erased", async () => {
  const rig = catalogRig({});
  await install(rig);
  assertRefusedBeforeErase(rig, MISSING);
  assert.ok((rig.updater.progress().received ?? 0) < IMAGE.length, "the rest of the image was not downloaded");
});

test("download: a bad signature (one bit of s flipped) is refused", async () => {
  const file = parseSignatureFile(SIG);
  file.signature[40] ^= 0x10;
  const rig = catalogRig({ header: formatSignatureFile(file) });
  await install(rig);
  assertRefusedBeforeErase(rig, `${NOT_OWNER}: the signature does not verify with key ${fp(OWNER.id)}`);
});

test("download: an image signed with a key the board does not trust is refused, naming both keys", async () => {
  const rig = catalogRig({ header: signImage(IMAGE, STRANGER) });
  await install(rig);
  assertRefusedBeforeErase(rig, `${NOT_OWNER}: it is signed with key ${fp(STRANGER.id)}, this board trusts ${fp(OWNER.id)}`);
});

test("download: one byte changed after signing is refused after the last byte, before the boot switch (SHA-256 computed though the server sent no x-SHA256)", async () => {
  const tampered = IMAGE.slice();
  tampered[20_000] ^= 0x01; // inside the filler after the segments: every image rule still passes
  const rig = catalogRig({ image: tampered, header: SIG });
  await install(rig);
  assertRefused(rig, `${NOT_OWNER}: the image was changed after it was signed (its SHA-256 differs)`, tampered);
});

test("download: a signature made for another version is refused as swapped", async () => {
  const older = buildAppImage({ size: 30_000, version: "1.1.5", secureVersion: 2, seed: 5 });
  const rig = catalogRig({ header: signImage(older, OWNER) });
  await install(rig);
  assertRefusedBeforeErase(rig, `${NOT_OWNER}: the signature is for version 1.1.5, this image is version 1.2.0`);
});

test("download: a validly signed image with a lower secure_version is refused as a downgrade, from its head, before the slot is erased", async () => {
  const old = buildAppImage({ size: 30_000, version: "1.0.0", secureVersion: 1, seed: 6 });
  const rig = catalogRig({ image: old, header: signImage(old, OWNER) });
  await install(rig);
  assertRefusedBeforeErase(rig, "Downgrade refused: the image's secure_version 1 is lower than the running firmware's 2");
});

test("download: the same secure_version with an older version string is not a downgrade", async () => {
  const back = buildAppImage({ size: 30_000, version: "1.0.0", secureVersion: 2, seed: 6 });
  const rig = catalogRig({ image: back, header: signImage(back, OWNER) });
  await install(rig);
  assertInstalled(rig, back);
});

test("download: another product signed with the owner's key is refused", async () => {
  const other = buildAppImage({ size: 30_000, version: "1.2.0", secureVersion: 2, projectName: "thermostat", seed: 8 });
  const rig = catalogRig({ image: other, header: signImage(other, OWNER) });
  await install(rig);
  assertRefusedBeforeErase(rig, `Image is for project "thermostat", this board runs "ota-device"`);
});

test("download: rotation: a board with the old and the new key takes images signed by either", async () => {
  const rig = catalogRig({ header: signImage(IMAGE, NEW_OWNER) }, [OWNER.config, NEW_OWNER.pem]);
  await install(rig);
  assertInstalled(rig);
});

test("download: an unreadable header, a .sig over 1024 bytes and a failed .sig fetch are refused with their reasons, nothing erased", async () => {
  const garbled = catalogRig({ rawHeader: "not base64 at all!" });
  await install(garbled);
  assertRefusedBeforeErase(garbled, `${NOT_OWNER}: its signature file is unreadable (the x-Firmware-Signature header is not base64)`);

  const huge = catalogRig({ sigFile: SIG + "#".repeat(1024) });
  await install(huge);
  assertRefusedBeforeErase(huge, `${NOT_OWNER}: its signature file is unreadable (signature file is larger than 1024 bytes)`);

  const broken = catalogRig({ sigFile: { status: 500, headers: [["Content-Length", "0"]] } });
  await install(broken);
  assertRefusedBeforeErase(broken, "Cannot fetch the image's signature (/fw.bin.sig): Server answered 500 Internal Server Error");
  assert.deepEqual(paths(broken), ["/fw.bin.sig"], "the image itself is not asked for");

  const junk = catalogRig({ sigFile: "<html>captive page</html>" });
  await install(junk);
  assertRefusedBeforeErase(junk, `${NOT_OWNER}: its signature file is unreadable (not a moddable-ota signature file)`);
});

test("download: a .sig request that never answers fails after the stall time; the image is not asked for", async () => {
  const rig = catalogRig({ sigFile: { silent: true } });
  rig.updater.loadCatalog();
  await rig.settle();
  rig.updater.start("fw.bin");
  await rig.settle();
  assert.equal(rig.updater.progress().phase, "connecting");
  rig.clock.advance(8000);
  assertRefusedBeforeErase(rig, "No answer from 192.168.4.2:8000 within 8 s for the image's signature");
  assert.deepEqual(paths(rig), ["/fw.bin.sig"]);
});

test("download: cancelled while the .sig is fetched: the fetch is aborted, nothing committed", async () => {
  const rig = catalogRig({ sigFile: { silent: true } });
  rig.updater.loadCatalog();
  await rig.settle();
  rig.updater.start("fw.bin");
  await rig.settle();
  rig.updater.cancel();
  assert.equal(rig.updater.progress().phase, "cancelled");
  assert.ok(rig.http.aborts >= 1, "the .sig exchange was aborted");
  assert.ok(rig.flash.untouched());
  assert.equal(rig.flash.writer.begins, 0, "nothing erased");
  rig.clock.advance(60_000);
  await rig.settle();
  assert.deepEqual(paths(rig), ["/fw.bin.sig"], "the image is not asked for after the cancel");
});

test("download: a drop and a Range resume keep the signature of the first answer", async () => {
  let downloads = 0;
  const rig = createRig({
    signingKeys: [OWNER.config],
    flash: { runningImage: RUNNING },
    route: (r) => {
      if (r.path === "/update") {
        downloads++;
        return serveBytes(IMAGE, r, { headers: [["x-MD5", md5Hex(IMAGE)], ["x-Firmware-Signature", base64Encode(utf8Encode(SIG))]], omitOnPartial: ["x-Firmware-Signature"], cut: downloads === 1 ? { at: 12_000, how: "drop" } : undefined });
      }
      return { status: 404, headers: [["Content-Length", "0"]] };
    },
  });
  rig.updater.checkIn("http://192.168.4.2:8000/update");
  await rig.settle();
  rig.clock.advance(1000);
  await rig.settle();
  assertInstalled(rig);
  assert.equal(rig.updater.progress().resumes, 1);
});

test("download: signatures off (no key): an unsigned image installs and no .sig is asked for", async () => {
  const rig = catalogRig({}, []);
  await install(rig);
  assertInstalled(rig);
  assert.deepEqual(paths(rig), ["/fw.bin"]);
  assert.equal(rig.signing.required, false);
});

test("download: keys configured but none usable: every image is refused, never 'signatures off'", async () => {
  const rig = catalogRig({ header: SIG }, ["-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----"]);
  await install(rig);
  assert.equal(rig.updater.progress().phase, "failed");
  assert.match(rig.updater.progress().error ?? "", /^Signed updates only, but none of this board's keys is usable \(key 1: /);
  assert.equal(rig.flash.writer.begins, 0, "refused from the head: nothing erased");
  assert.ok(rig.flash.untouched());
});

// Check-ins (the advanced updater picks the image: only its header can carry the signature)

function checkInRig(header: string | undefined): Rig {
  return createRig({
    signingKeys: [OWNER.config],
    flash: { runningImage: RUNNING },
    route: (r) =>
      r.path === "/update"
        ? serveBytes(IMAGE, r, { headers: [["x-MD5", md5Hex(IMAGE)], ...(header === undefined ? [] : [["x-Firmware-Signature", base64Encode(utf8Encode(header))] as const])] })
        : { status: 404, headers: [["Content-Length", "0"]] },
  });
}

test("check-in: the answer's signature header is checked; a signed image installs", async () => {
  const rig = checkInRig(SIG);
  assert.equal(rig.updater.checkIn("http://192.168.4.2:8000/update"), undefined);
  await rig.settle();
  assertInstalled(rig);
});

test("check-in: an answer without a signature is refused from its head, and no .sig is guessed from the check-in URL", async () => {
  const rig = checkInRig(undefined);
  rig.updater.checkIn("http://192.168.4.2:8000/update");
  await rig.settle();
  assertRefusedBeforeErase(rig, MISSING);
  assert.deepEqual(paths(rig), ["/update"]);
});

test("check-in: tampered, wrong key and downgrade are refused as for a download", async () => {
  const tampered = IMAGE.slice();
  tampered[25_000] ^= 0x80;
  const old = buildAppImage({ size: 30_000, version: "1.0.0", secureVersion: 0, seed: 6 });
  // [image, .sig, message, refused from the head before any erase]
  const cases: Array<[Uint8Array, string, string, boolean]> = [
    [tampered, SIG, `${NOT_OWNER}: the image was changed after it was signed (its SHA-256 differs)`, false],
    [IMAGE, signImage(IMAGE, STRANGER), `${NOT_OWNER}: it is signed with key ${fp(STRANGER.id)}, this board trusts ${fp(OWNER.id)}`, true],
    [old, signImage(old, OWNER), "Downgrade refused: the image's secure_version 0 is lower than the running firmware's 2", true],
  ];
  for (const [image, sig, message, early] of cases) {
    const rig = createRig({
      signingKeys: [OWNER.config],
      flash: { runningImage: RUNNING },
      route: (r) => serveBytes(image, r, { headers: [["x-MD5", md5Hex(image)], ["x-Firmware-Signature", base64Encode(utf8Encode(sig))]] }),
    });
    rig.updater.checkIn("http://192.168.4.2:8000/update");
    await rig.settle();
    if (early) assertRefusedBeforeErase(rig, message);
    else assertRefused(rig, message, image);
  }
});

// The catalog list: our server's /api/catalog says which rows are signed, and by which key

test("list: with signing keys, rows the server reports unsigned or signed by another key are disabled with the reason; the owner's are not", async () => {
  const facts = `[{"name":"fw.bin","chipId":0,"version":"1.2.0","signed":true,"signer":"${OWNER.id.slice(0, 16)}"},{"name":"other.bin","chipId":0,"signed":true,"signer":"${STRANGER.id.slice(0, 16)}"}]`;
  const rig = catalogRig({ header: SIG, facts });
  rig.updater.loadCatalog();
  await rig.settle();
  const catalog = rig.updater.catalog();
  if (catalog.state !== "ready") return assert.fail(catalog.state);
  assert.equal(catalog.entries[0].disabled, undefined);
  assert.equal(catalog.entries[1].disabled, `${NOT_OWNER}: it is signed with key ${fp(STRANGER.id)}, this board trusts ${fp(OWNER.id)}`);
  assert.equal(rig.updater.start("other.bin"), catalog.entries[1].disabled, "not even downloaded");
  assert.equal(rig.flash.writer.begins, 0);

  const unsigned = catalogRig({ facts: `[{"name":"fw.bin","chipId":9,"signed":false}]` });
  unsigned.updater.loadCatalog();
  await unsigned.settle();
  const list = unsigned.updater.catalog();
  if (list.state !== "ready") return assert.fail(list.state);
  assert.equal(list.entries[0].disabled, `Image is for ESP32-S3, this board is ESP32; ${MISSING}`);
  assert.equal(list.entries[1].disabled, undefined, "a row the server says nothing about is left to the commit");
});

test("list: without keys, unsigned rows stay installable", async () => {
  const rig = catalogRig({ facts: `[{"name":"fw.bin","chipId":0,"signed":false},{"name":"other.bin","signed":true,"signer":"${STRANGER.id.slice(0, 16)}"}]` }, []);
  rig.updater.loadCatalog();
  await rig.settle();
  const catalog = rig.updater.catalog();
  if (catalog.state !== "ready") return assert.fail(catalog.state);
  assert.deepEqual(catalog.entries.map((e) => e.disabled), [undefined, undefined]);
});

// Uploads from the phone (POST /update/upload: the signature in the x-Firmware-Signature header)

function uploadRig(): Rig {
  return createRig({ route: () => ({ refuse: "no network in this test" }), signingKeys: [OWNER.config], flash: { runningImage: RUNNING } });
}

function upload(rig: Rig, image: Uint8Array, signature?: string): UploadTarget {
  const started = rig.updater.upload({ size: image.length, md5: md5Hex(image), name: "fw.bin", ...(signature === undefined ? {} : { signature }) });
  if (!started.ok) throw new Error(`refused: ${started.error}`);
  for (let at = 0; at < image.length; at += 4096) started.upload.write(image.subarray(at, at + 4096));
  started.upload.end();
  rig.clock.advance(0);
  return started.upload;
}

test("upload: an image with a good signature header installs", () => {
  const rig = uploadRig();
  upload(rig, IMAGE, base64Encode(utf8Encode(SIG)));
  assertInstalled(rig);
});

test("upload: without a signature header it is refused before its body, nothing erased", () => {
  for (const signature of [undefined, "", "  "]) {
    const rig = uploadRig();
    const started = rig.updater.upload({ size: IMAGE.length, md5: md5Hex(IMAGE), name: "fw.bin", ...(signature === undefined ? {} : { signature }) });
    assert.deepEqual(started, { ok: false, status: 422, error: `${MISSING} (send its .sig file, base64, in x-Firmware-Signature)` }, JSON.stringify(signature));
    assert.equal(rig.flash.writer.begins, 0);
    assert.ok(rig.flash.untouched());
  }
});

test("upload: bad, wrong key, swapped and downgrade are refused from the head, before any erase; tampered bytes at the commit", () => {
  const bad = parseSignatureFile(SIG);
  bad.signature[3] ^= 1;
  const tampered = IMAGE.slice();
  tampered[21_000] ^= 0x04;
  const swapped = buildAppImage({ size: 30_000, version: "1.3.0", secureVersion: 2, seed: 5 });
  const old = buildAppImage({ size: 30_000, version: "0.9.0", secureVersion: 1, seed: 4 });
  const b64 = (text: string) => base64Encode(utf8Encode(text));
  const cases: Array<[string, Uint8Array, string, string]> = [
    ["bad", IMAGE, b64(formatSignatureFile(bad)), `${NOT_OWNER}: the signature does not verify with key ${fp(OWNER.id)}`],
    ["wrong key", IMAGE, b64(signImage(IMAGE, STRANGER)), `${NOT_OWNER}: it is signed with key ${fp(STRANGER.id)}, this board trusts ${fp(OWNER.id)}`],
    ["tampered", tampered, b64(SIG), `${NOT_OWNER}: the image was changed after it was signed (its SHA-256 differs)`],
    ["swapped", swapped, b64(SIG), `${NOT_OWNER}: the signature is for version 1.2.0, this image is version 1.3.0`],
    ["downgrade", old, b64(signImage(old, OWNER)), "Downgrade refused: the image's secure_version 1 is lower than the running firmware's 2"],
  ];
  for (const [name, image, signature, message] of cases) {
    const rig = uploadRig();
    upload(rig, image, signature);
    const p = rig.updater.progress();
    assert.equal(p.error, message, name);
    if (name === "tampered") assertRefused(rig, message, image);
    else assertRefusedBeforeErase(rig, message);
  }
});

test("the device log gets each finished update with its error", async () => {
  const lines: string[] = [];
  const rig = createRig({ route: () => ({ refuse: "no network in this test" }), signingKeys: [OWNER.config], flash: { runningImage: RUNNING }, log: (line) => lines.push(line) });
  const old = buildAppImage({ size: 30_000, version: "0.9.0", secureVersion: 1, seed: 4 });
  upload(rig, old, base64Encode(utf8Encode(signImage(old, OWNER))));
  assert.deepEqual(lines, ["update fw.bin: failed (Downgrade refused: the image's secure_version 1 is lower than the running firmware's 2)"]);
});

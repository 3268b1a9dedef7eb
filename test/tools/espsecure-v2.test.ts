// tools/espsecure-v2.ts lays images out as `espsecure sign-data --version 2`
// does; checked here against ESP-IDF's rules (sector alignment, magic, CRC,
// digest of the padded image, the signature itself), and a tamper is caught.
import { test } from "node:test";
import { strict as assert } from "node:assert";
import { generateKeyPairSync } from "node:crypto";
import { crc32 } from "node:zlib";
import { buildImage, imageLength, verifyImage } from "../../tools/esp-image";
import { checkSecureBootV2, signSecureBootV2, SECTOR_SIZE, SIG_BLOCK_SIZE } from "../../tools/espsecure-v2";

const image = buildImage({ version: "1.0.0", size: 70_000 });
const rsa = generateKeyPairSync("rsa", { modulusLength: 3072 }).privateKey;
const ecdsa = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;

for (const [name, key, version] of [["RSA-3072 (ESP32, S2, S3, C3)", rsa, 0x02], ["ECDSA P-256 (C2, C6, H2, P4)", ecdsa, 0x03]] as const) {
  test(`${name}: padded with 0xFF to 4 KB, one signature sector, a block that verifies`, () => {
    const signed = signSecureBootV2(image, key);
    const padded = Math.ceil(image.length / SECTOR_SIZE) * SECTOR_SIZE;
    assert.equal(signed.length, padded + SECTOR_SIZE);
    assert.deepEqual(signed.subarray(0, image.length), image, "the image itself is unchanged");
    assert.ok(signed.subarray(image.length, padded).every((b) => b === 0xff), "0xFF padding");
    const sector = signed.subarray(padded);
    assert.equal(sector[0], 0xe7);
    assert.equal(sector[1], version);
    assert.equal(Buffer.from(sector).readUInt32LE(1196), crc32(sector.subarray(0, 1196)));
    assert.ok(sector.subarray(1200, SIG_BLOCK_SIZE).every((b) => b === 0), "16 zero bytes close the block");
    assert.ok(sector.subarray(SIG_BLOCK_SIZE).every((b) => b === 0xff), "rest of the sector erased");
    assert.deepEqual(checkSecureBootV2(signed), [{ version, digestMatches: true, signatureValid: true }]);
    // the bootloader's walk still finds the app image at the start
    assert.equal(imageLength(signed), image.length);
    assert.equal(verifyImage(signed.subarray(0, image.length)), undefined);
  });

  test(`${name}: a byte changed in the image fails Espressif's check too`, () => {
    const signed = signSecureBootV2(image, key);
    signed[40_000] ^= 1;
    assert.deepEqual(checkSecureBootV2(signed), [{ version, digestMatches: false, signatureValid: false }]);
  });
}

test("a file without a signature sector is not taken for one", () => {
  assert.equal(checkSecureBootV2(image), undefined);
  assert.deepEqual(checkSecureBootV2(new Uint8Array(3 * SECTOR_SIZE).fill(0xff)), []);
});

test("RSA block fields are little-endian as the RSA peripheral wants: n, e, rinv = 2^6144 mod n, n * m' = -1 mod 2^32", () => {
  const sector = Buffer.from(signSecureBootV2(image, rsa).subarray(-SECTOR_SIZE));
  const le = (at: number, length: number) => BigInt(`0x${Buffer.from(sector.subarray(at, at + length)).reverse().toString("hex")}`);
  const jwk = rsa.export({ format: "jwk" });
  const n = BigInt(`0x${Buffer.from(jwk.n ?? "", "base64url").toString("hex")}`);
  assert.equal(le(36, 384), n);
  assert.equal(sector.readUInt32LE(420), 65537);
  assert.equal(le(424, 384), (1n << 6144n) % n);
  assert.equal((n * BigInt(sector.readUInt32LE(808))) % (1n << 32n), (1n << 32n) - 1n);
});

test("ECDSA block: curve id 2, X and Y little-endian at 37 and 69", () => {
  const sector = Buffer.from(signSecureBootV2(image, ecdsa).subarray(-SECTOR_SIZE));
  const jwk = ecdsa.export({ format: "jwk" });
  assert.equal(sector[2], 0, "SHA-256");
  assert.equal(sector[36], 2);
  assert.deepEqual(Buffer.from(sector.subarray(37, 69)).reverse(), Buffer.from(jwk.x ?? "", "base64url"));
  assert.deepEqual(Buffer.from(sector.subarray(69, 101)).reverse(), Buffer.from(jwk.y ?? "", "base64url"));
});

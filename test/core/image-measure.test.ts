// The running image's size and MD5 for check-in headers (Node and XS), read
// piece by piece from a partition as the board reads its flash.
import { test, assert } from "../harness/t";
import { imageEnd, measureImage } from "../../modules/core/image-measure";
import { md5Hex, nobleDigest } from "../fakes/digest";

/** An image with `segments` of the given lengths, checksum block, optional appended hash. */
function image(segments: number[], hashAppended: boolean): Uint8Array {
  let at = 24;
  for (const len of segments) at += 8 + len;
  const end = at + (16 - (at % 16)) + (hashAppended ? 32 : 0);
  const out = new Uint8Array(end);
  for (let i = 0; i < out.length; i++) out[i] = (i * 31 + 7) & 0xff;
  out[0] = 0xe9;
  out[1] = segments.length;
  out[23] = hashAppended ? 1 : 0;
  let s = 24;
  for (const len of segments) {
    new DataView(out.buffer).setUint32(s + 4, len, true);
    s += 8 + len;
  }
  return out;
}

function partitionOf(bytes: Uint8Array, size: number) {
  const flash = new Uint8Array(size).fill(0xff);
  flash.set(bytes.subarray(0, size));
  let reads = 0;
  let largest = 0;
  const read = (offset: number, into: Uint8Array) => {
    reads++;
    largest = Math.max(largest, into.length);
    into.set(flash.subarray(offset, offset + into.length));
  };
  return { read, stats: () => ({ reads, largest }) };
}

test("size runs to the checksum block and the appended SHA-256; the MD5 covers exactly those bytes", () => {
  const img = image([256, 20_000, 9_000], true);
  const p = partitionOf(img, 65_536);
  assert.equal(imageEnd(p.read, 65_536), img.length);
  assert.deepEqual(measureImage(p.read, 65_536, nobleDigest("MD5")), { size: img.length, md5: md5Hex(img) });
  assert.ok(p.stats().largest <= 4096, "reads of 4 KB at most");
  const plain = image([100, 4], false);
  assert.equal(imageEnd(partitionOf(plain, 4096).read, 4096), plain.length);
  assert.equal(plain.length % 16, 0, "the checksum is the last byte of a 16-byte block");
});

test("no image: erased flash, a length running past the partition, too many segments", () => {
  assert.equal(measureImage(partitionOf(new Uint8Array(0), 8192).read, 8192, nobleDigest("MD5")), undefined);
  assert.equal(imageEnd(partitionOf(image([10_000], false), 8192).read, 8192), undefined);
  const many = image([4], false);
  many[1] = 17;
  assert.equal(imageEnd(partitionOf(many, 8192).read, 8192), undefined);
});

// The range decision (server/range.ts) on its own: RFC 9110 section 14 cases.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decideRange } from "../../server/range";

const ETAG = '"abc"';
const DATE = "Sun, 22 Nov 2026 10:55:15 GMT";
const decide = (size: number, range?: string, ifRange?: string) => decideRange(size, range, ifRange, ETAG, DATE);

test("no Range: the whole body", () => {
  assert.deepEqual(decide(100), { kind: "full" });
});

test("one byte: first, last, in the middle", () => {
  assert.deepEqual(decide(100, "bytes=0-0"), { kind: "partial", start: 0, end: 0 });
  assert.deepEqual(decide(100, "bytes=99-99"), { kind: "partial", start: 99, end: 99 });
  assert.deepEqual(decide(100, "bytes=42-42"), { kind: "partial", start: 42, end: 42 });
  assert.deepEqual(decide(1, "bytes=0-"), { kind: "partial", start: 0, end: 0 });
});

test("open end and an end past the size are clipped to the last byte", () => {
  assert.deepEqual(decide(100, "bytes=10-"), { kind: "partial", start: 10, end: 99 });
  assert.deepEqual(decide(100, "bytes=10-1000"), { kind: "partial", start: 10, end: 99 });
  assert.deepEqual(decide(100, "bytes=10-99999999999999999999"), { kind: "partial", start: 10, end: 99 });
});

test("suffix ranges: the last N bytes, all of them when N is larger", () => {
  assert.deepEqual(decide(100, "bytes=-1"), { kind: "partial", start: 99, end: 99 });
  assert.deepEqual(decide(100, "bytes=-30"), { kind: "partial", start: 70, end: 99 });
  assert.deepEqual(decide(100, "bytes=-500"), { kind: "partial", start: 0, end: 99 });
});

test("bytes=-0 and a start at or past the end are unsatisfiable", () => {
  assert.deepEqual(decide(100, "bytes=-0"), { kind: "unsatisfiable" });
  assert.deepEqual(decide(100, "bytes=100-"), { kind: "unsatisfiable" });
  assert.deepEqual(decide(100, "bytes=100-200"), { kind: "unsatisfiable" });
});

test("an empty file satisfies no range", () => {
  assert.deepEqual(decide(0, "bytes=0-"), { kind: "unsatisfiable" });
  assert.deepEqual(decide(0, "bytes=0-0"), { kind: "unsatisfiable" });
  assert.deepEqual(decide(0, "bytes=-5"), { kind: "unsatisfiable" });
  assert.deepEqual(decide(0), { kind: "full" });
});

test("multiple ranges, other units and malformed values fall back to the whole body", () => {
  for (const r of ["bytes=0-1,5-6", "bytes=0-1, 3-", "bytes=-5,-3", "lines=1-2", "bytes=abc", "bytes=5-2", "bytes=-", "bytes=", "0-10", "bytes=1-2-3"])
    assert.deepEqual(decide(100, r), { kind: "full" }, r);
});

test("spacing and case around the unit are tolerated", () => {
  assert.deepEqual(decide(100, " Bytes = 5 - 9 "), { kind: "partial", start: 5, end: 9 });
});

test("If-Range: the current strong ETag or date keeps the range; anything else sends the whole body", () => {
  assert.deepEqual(decide(100, "bytes=5-9", ETAG), { kind: "partial", start: 5, end: 9 });
  assert.deepEqual(decide(100, "bytes=5-9", DATE), { kind: "partial", start: 5, end: 9 });
  for (const stale of ['"other"', `W/${ETAG}`, "Mon, 01 Jan 2024 00:00:00 GMT", "garbage"])
    assert.deepEqual(decide(100, "bytes=5-9", stale), { kind: "full" }, stale);
  // a mismatching If-Range wins over an unsatisfiable range: the whole body, not 416
  assert.deepEqual(decide(100, "bytes=500-", '"other"'), { kind: "full" });
});

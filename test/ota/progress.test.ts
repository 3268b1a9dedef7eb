// The push progress display: a TTY gets one line per board redrawn in place
// (bar, percent, KB/s, ETA); a pipe gets a line per 10 % passed and per phase.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProgressView } from "../../ota/progress";
import { checkingText } from "../../ota/push";

function fakeOut(isTTY: boolean) {
  const writes: string[] = [];
  return { out: { isTTY, write: (t: string) => void writes.push(t) }, writes };
}

test("TTY: each board's line is redrawn in place with percent, KB/s and ETA; verdicts stay above the live rows", () => {
  let now = 0;
  const { out, writes } = fakeOut(true);
  const view = new ProgressView(out, () => now);
  const a = view.add("10.0.0.5");
  const b = view.add("10.0.0.6:8080");
  view.begin(a);
  view.begin(b);
  now = 1000;
  view.sent(a, 256 * 1024, 1024 * 1024);
  const frame = writes.join("");
  assert.match(frame, /10\.0\.0\.5 {7}\[#####\.{15}\] {2}25 % {2}256 KB\/s {2}ETA 3 s\n/);
  assert.match(frame, /10\.0\.0\.6:8080 {2}waiting\n/);
  writes.length = 0;
  now = 1050; // redraws are limited to 10 a second
  view.sent(a, 300 * 1024, 1024 * 1024);
  assert.equal(writes.length, 0);
  now = 2000;
  view.sent(a, 1024 * 1024, 1024 * 1024);
  assert.ok(writes.join("").startsWith("\x1b[2A\x1b[J"), "moves up over the two rows it drew, clears, redraws");
  assert.match(writes.join(""), /100 % {2}512 KB\/s {2}ETA 0 s\n/);
  writes.length = 0;
  view.finish(a);
  view.line("10.0.0.5: valid: app 1.1.0");
  const last = writes.join("");
  assert.match(last, /10\.0\.0\.5: valid: app 1\.1\.0\n/);
  assert.doesNotMatch(last.slice(last.indexOf("valid")), /10\.0\.0\.5 +\[/, "the finished board has no live row any more");
});

test("pipe: a line at each 10 % passed (all of them when one piece passes several), a line per phase, no escape codes", () => {
  let now = 0;
  const { out, writes } = fakeOut(false);
  const view = new ProgressView(out, () => now);
  const r = view.add("b");
  view.begin(r);
  now = 500;
  view.sent(r, 5, 100);
  view.sent(r, 35, 100);
  view.sent(r, 100, 100);
  view.phase(r, "verifying");
  view.phase(r, "verifying");
  const text = writes.join("");
  assert.deepEqual([...text.matchAll(/^b {2}(\d+) %/gm)].map((m) => Number(m[1])), [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  assert.equal(text.match(/verifying/g)?.length, 1);
  assert.ok(!text.includes("\x1b"));
});

test("the start-up check's phase names what is checked: a mod's check is not the firmware's", () => {
  assert.equal(checkingText({ kind: "mod" }, 12_300), "checking the new mod: 13 s left");
  assert.equal(checkingText({ kind: "mod" }, undefined), "checking the new mod");
  assert.equal(checkingText({ kind: "image" }, 5_000), "checking the new firmware: 5 s left");
});

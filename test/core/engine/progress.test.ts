import { test, assert } from "../../harness/t";
import { RateMeter, autoConnectProgress } from "../../../modules/core/engine/progress";
import { formatSize, percent, serverAnswered } from "../../../modules/core/messages";

test("rate is bytes per second over the recent window", () => {
  const m = new RateMeter();
  assert.equal(m.rate(0, 0), 0);
  for (let t = 0; t <= 10_000; t += 100) m.sample(t, t * 50); // 50 KB/s steady
  assert.equal(m.rate(10_000, 500_000), 50_000);
  // a stall: no new bytes, the rate decays as time passes
  assert.ok(m.rate(12_000, 500_000) < 50_000);
  // it follows a change of speed within the window (8 samples, 500 ms apart)
  for (let t = 10_100; t <= 20_000; t += 100) m.sample(t, 500_000 + (t - 10_000) * 10);
  assert.equal(m.rate(20_000, 500_000 + 10_000 * 10), 10_000);
  m.reset();
  assert.equal(m.rate(20_000, 0), 0);
});

test("AutoConnect progress replies", () => {
  const base = { target: "fw.bin", received: 1024, total: 2404, rate: 0, resumes: 0 };
  assert.equal(autoConnectProgress({ ...base, phase: "downloading" }), "#p,1024:2404");
  assert.equal(autoConnectProgress({ ...base, phase: "done" }), "#e");
  assert.equal(autoConnectProgress({ ...base, phase: "failed", error: "x" }), "#e");
});

test("user-facing numbers", () => {
  assert.equal(formatSize(100), "100 B");
  assert.equal(formatSize(2404), "2.3 KB");
  assert.equal(formatSize(2 * 1024 * 1024), "2 MB");
  assert.equal(formatSize(4_404_019), "4.2 MB");
  assert.equal(percent(26_000, 50_000), 52);
  assert.equal(percent(49_999, 50_000), 99, "never 100 % before the end");
  assert.equal(serverAnswered(416), "Server answered 416 Range Not Satisfiable");
});

// Guessing is slow: wrong portal passwords make their address wait, the wait
// doubling after a few free tries, capped, forgotten on success; the table is
// bounded; other addresses (the owner's other devices) are never held up.
import { test, assert } from "../../harness/t";
import { header, portalRig } from "../../fakes/portal-client";
import { FakeClock } from "../../fakes/clock";
import { backoffMs, LoginThrottle, THROTTLE_DEFAULTS } from "../../../modules/core/portal/login-throttle";
import { basicHeader, PASSWORD_KEY } from "../../../modules/core/portal/basic-auth";

const { freeFailures, baseMs, maxMs, capacity } = THROTTLE_DEFAULTS;

test("the wait: free tries, then it doubles with each wrong password, up to the cap", () => {
  const clock = new FakeClock();
  const t = new LoginThrottle(clock);
  const waits: number[] = [];
  for (let i = 0; i < 40; i++) waits.push(t.failed("10.0.0.9"));
  assert.deepEqual(waits.slice(0, freeFailures), new Array<number>(freeFailures).fill(0), "free tries");
  assert.equal(waits[freeFailures], baseMs, "the first wait");
  for (let i = freeFailures + 1; i < waits.length; i++) {
    assert.equal(waits[i], Math.min(2 * waits[i - 1], maxMs), `wait ${i} doubles the one before, capped`);
    assert.ok(waits[i] <= maxMs);
  }
  assert.equal(waits[waits.length - 1], maxMs, "the cap is reached");
  assert.equal(t.waitMs("10.0.0.9"), maxMs);
  clock.advance(maxMs - 1);
  assert.equal(t.waitMs("10.0.0.9"), 1);
  clock.advance(1);
  assert.equal(t.waitMs("10.0.0.9"), 0);
});

test("the right password forgets the address: its next mistake is free again", () => {
  const t = new LoginThrottle(new FakeClock());
  for (let i = 0; i <= freeFailures; i++) t.failed("10.0.0.9");
  assert.ok(t.waitMs("10.0.0.9") > 0);
  t.succeeded("10.0.0.9");
  assert.equal(t.waitMs("10.0.0.9"), 0);
  assert.equal(t.failed("10.0.0.9"), 0);
  assert.equal(t.size, 1);
});

test("per address: one address's wait holds no other up", () => {
  const t = new LoginThrottle(new FakeClock());
  for (let i = 0; i < 30; i++) t.failed("10.0.0.66");
  assert.equal(t.waitMs("10.0.0.66"), maxMs);
  assert.equal(t.waitMs("10.0.0.2"), 0);
  assert.equal(t.failed("10.0.0.2"), 0, "another address still has its free tries");
});

test("bounded: a thousand addresses leave at most `capacity` entries, and flooding the table resets no one's back-off", () => {
  const clock = new FakeClock();
  const t = new LoginThrottle(clock);
  for (let i = 0; i < 20; i++) t.failed("10.0.0.66");
  for (let i = 0; i < 1000; i++) {
    clock.advance(1);
    t.failed(`10.${i >> 8}.${i & 255}.1`);
    assert.ok(t.size <= capacity, `${t.size} entries`);
  }
  assert.equal(t.size, capacity);
  // The evicted counts went on to the newcomers: a fresh address now waits after its first mistake.
  clock.advance(maxMs);
  assert.ok(t.failed("172.16.0.1") >= baseMs, "no free tries bought by rotating addresses");
});

test("through the portal: 429 with Retry-After while an address waits, the password unchecked; another address gets in at once; success resets", () => {
  const rig = portalRig();
  rig.store.set(PASSWORD_KEY, "hunter22");
  const wrong = (remoteAddress: string) => rig.get("/api/progress", { remoteAddress, headers: { authorization: basicHeader("admin", "guess") } });
  const right = (remoteAddress: string) => rig.get("/api/progress", { remoteAddress, headers: { authorization: basicHeader("admin", "hunter22") } });
  for (let i = 0; i <= freeFailures; i++) assert.equal(wrong("192.168.4.66").status, 401, `guess ${i + 1}`);
  const held = right("192.168.4.66");
  assert.equal(held.status, 429, "even the right password waits: nothing is checked meanwhile");
  assert.equal(header(held, "retry-after"), String(Math.ceil(baseMs / 1000)));
  assert.match(JSON.parse(held.body).error, /^Too many wrong passwords from this address: try again in \d+ s\.$/);
  assert.match(rig.get("/wifi", { remoteAddress: "192.168.4.66", headers: { authorization: basicHeader("admin", "x") } }).body, /Too many wrong passwords/, "pages say it as a page");
  assert.equal(rig.get("/api/progress", { remoteAddress: "192.168.4.66" }).status, 401, "no credentials: just the prompt");
  assert.equal(right("192.168.4.2").status, 200, "the owner's phone gets in at once");
  rig.clock.advance(baseMs);
  assert.equal(right("192.168.4.66").status, 200, "after the wait the right password works");
  assert.equal(wrong("192.168.4.66").status, 401, "and the next mistake is free again");
});

test("a thousand wrong guesses from one address: each waits its turn, then the right password still works", () => {
  const rig = portalRig();
  rig.store.set(PASSWORD_KEY, "correct horse");
  const attacker = { remoteAddress: "192.168.4.66", headers: { authorization: basicHeader("admin", "wrong") } };
  const start = rig.clock.now();
  let refusedEarly = 0;
  for (let guess = 1; guess <= 1000; ) {
    const r = rig.get("/api/progress", attacker);
    if (r.status === 429) {
      refusedEarly++;
      rig.clock.advance(Number(header(r, "retry-after")) * 1000);
      continue;
    }
    assert.equal(r.status, 401);
    guess++;
  }
  const took = rig.clock.now() - start;
  let floor = 0;
  for (let n = 1; n < 1000; n++) floor += backoffMs(n);
  assert.ok(took >= floor, `${took} ms, at least the back-offs' ${floor} ms`);
  assert.ok(refusedEarly > 0);
  assert.equal(rig.get("/api/progress", { remoteAddress: "192.168.4.2", headers: { authorization: basicHeader("admin", "correct horse") } }).status, 200, "the owner's other device at once");
  rig.clock.advance(maxMs);
  assert.equal(rig.get("/api/progress", { ...attacker, headers: { authorization: basicHeader("admin", "correct horse") } }).status, 200, "and from that address after its wait");
  const hours = (took / 3_600_000).toFixed(1);
  // The figure the attacker faces (bench/guessing.ts writes it to output/benchmarks).
  const out = (globalThis as { console?: { log(text: string): void } }).console;
  out?.log(`1000 wrong portal passwords from one address take ${hours} h with the board's back-off (${freeFailures} free, ${baseMs / 1000} s doubling to ${maxMs / 1000} s)`);
});

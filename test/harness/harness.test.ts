// The XS harness must catch a core test that leans on Node: such a test passes
// when run by Node and fails inside XS.
import { test } from "node:test";
import { strict as nodeAssert } from "node:assert";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { bundleForXs, bundleScript, evaluateInXs, runInXs } from "./xs";

const fixtures = join(import.meta.dirname, "fixtures");

test("a test using Node globals passes on Node", () => {
  const run = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-reporter=tap", join(fixtures, "node-global.fixture.ts")], {
    encoding: "utf8",
    env: { ...process.env, NODE_TEST_CONTEXT: undefined }, // run as a top-level runner, not as our child
  });
  nodeAssert.equal(run.status, 0, run.stdout + run.stderr);
  nodeAssert.match(run.stdout, /# pass 4/);
});

test("the same test file fails inside XS, naming the Node global", async () => {
  const results = await runInXs(await bundleForXs(join(fixtures, "node-global.fixture.ts")));
  const byName = new Map(results.map((r) => [r.name, r]));
  nodeAssert.equal(byName.get("pure arithmetic")?.ok, true);
  for (const [name, global] of [["uses Buffer", "Buffer"], ["uses process", "process"], ["uses setTimeout", "setTimeout"]]) {
    nodeAssert.equal(byName.get(name)?.ok, false, name);
    nodeAssert.match(byName.get(name)?.error ?? "", new RegExp(`ReferenceError.*${global}`));
  }
});

test("a test that never settles in XS is reported as a failure", async () => {
  const results = await runInXs(await bundleForXs(join(fixtures, "never.fixture.ts")));
  nodeAssert.equal(results.length, 1);
  nodeAssert.equal(results[0].ok, false);
  nodeAssert.match(results[0].error ?? "", /did not settle/);
});

test("a test importing a Node built-in cannot be bundled for XS", async () => {
  await nodeAssert.rejects(bundleForXs(join(fixtures, "node-import.fixture.ts")), /node:fs/);
});

test("an assertion failure inside XS is reported with its message", async () => {
  const results = await runInXs(await bundleForXs(join(fixtures, "failing.fixture.ts")));
  nodeAssert.deepEqual(results, [{ name: "one is not two", ok: false, error: "AssertionError: arithmetic: expected 2, got 1" }]);
});

test("a class whose static field constructs the class itself runs in XS (bundles lower static fields)", async () => {
  // `class P { X; static ZERO = new P() }` is valid ES2022 that xsnap's XS rejects; @noble/curves is written so.
  const bundle = await bundleScript("class P { X = 1; static ZERO = new P(); }\nglobalThis.__zero = () => { if (P.ZERO.X !== 1) throw new Error('static field not set'); };", import.meta.dirname);
  await evaluateInXs(bundle, "globalThis.__zero()", "static-field", () => {});
});

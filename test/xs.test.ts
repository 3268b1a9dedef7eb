// Runs every engine-neutral test file (test/core/**/*.test.ts) again inside XS and
// reports each XS result as a Node test, so one `npm test` counts both runs.
import { test } from "node:test";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { bundleForXs, runInXs } from "./harness/xs";

const dir = join(import.meta.dirname, "core");
const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith(".test.ts")).sort();

for (const file of files) {
  const results = await runInXs(await bundleForXs(join(dir, file)), relative(dir, join(dir, file)));
  test(`xs: ${file}`, async (t) => {
    if (results.length === 0) throw new Error(`${file} registered no test in XS`);
    for (const r of results) {
      await t.test(r.name, () => {
        if (!r.ok) throw new Error(r.error);
      });
    }
  });
}

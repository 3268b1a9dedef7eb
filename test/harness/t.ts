// The test API that core tests import. On Node it is node:test; when a core test
// file is bundled for XS (test/harness/xs.ts) this module is swapped for t-xs.ts.
import { test as nodeTest } from "node:test";

export { assert } from "./assert";
export type TestFn = () => void | Promise<void>;

export function test(name: string, fn: TestFn): void {
  nodeTest(name, fn);
}

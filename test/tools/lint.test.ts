// The lint rule that keeps modules/core engine-neutral, checked against the
// project's own eslint.config.js: host globals are refused there by name
// (typescript-eslint turns no-undef off), ECMAScript built-ins are not, and
// the same code is fine outside the core.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ESLint } from "eslint";

const root = join(import.meta.dirname, "..", "..");
const eslint = new ESLint({ cwd: root });

async function restricted(code: string, file: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  // "Unexpected use of 'atob'. The core is ..."
  return result.messages.filter((m) => m.ruleId === "no-restricted-globals").map((m) => /'([^']+)'/.exec(m.message)?.[1] ?? m.message);
}

const HOST = ["atob", "structuredClone", "URL", "performance", "setTimeout", "Buffer", "process", "fetch", "queueMicrotask", "navigator", "trace"];

test("host globals are refused in modules/core", async () => {
  const code = HOST.map((name, i) => `export const g${i} = ${name};`).join("\n");
  assert.deepEqual(await restricted(code, "modules/core/engine/lint-probe.ts"), HOST);
});

test("ECMAScript built-ins pass in modules/core; host globals pass outside it", async () => {
  const es = "export const a = [Math.max(1, 2), JSON.stringify({}), new Map(), new Uint8Array(4), Promise.resolve(), Date.now(), globalThis];";
  assert.deepEqual(await restricted(es, "modules/core/engine/lint-probe.ts"), []);
  assert.deepEqual(await restricted("export const b = [atob, URL, performance];", "twin/lint-probe.ts"), []);
});

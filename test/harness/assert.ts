// Assertions that run unchanged on Node and inside XS: ES2022 only, no host APIs.

export class AssertionError extends Error {
  override name = "AssertionError";
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Uint8Array) return `Uint8Array[${Array.from(value.subarray(0, 32)).join(",")}${value.length > 32 ? ",…" : ""}] (${value.length})`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function fail(message: string | undefined, detail: string): never {
  throw new AssertionError(message ? `${message}: ${detail}` : detail);
}

function deepEqualValues(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !deepEqualValues(v, b.get(k))) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqualValues((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function matchesError(error: unknown, expected: RegExp | string | undefined): boolean {
  if (expected === undefined) return true;
  const text = error instanceof Error ? error.message : String(error);
  return typeof expected === "string" ? text.includes(expected) : expected.test(text);
}

export interface Assert {
  ok(value: unknown, message?: string): asserts value;
  equal<T>(actual: T, expected: T, message?: string): void;
  notEqual<T>(actual: T, expected: T, message?: string): void;
  deepEqual(actual: unknown, expected: unknown, message?: string): void;
  match(actual: string, pattern: RegExp, message?: string): void;
  doesNotMatch(actual: string, pattern: RegExp, message?: string): void;
  throws(fn: () => unknown, expected?: RegExp | string, message?: string): void;
  rejects(work: Promise<unknown> | (() => Promise<unknown>), expected?: RegExp | string, message?: string): Promise<void>;
  fail(message: string): never;
}

export const assert: Assert = {
  ok(value: unknown, message?: string): asserts value {
    if (!value) fail(message, `expected a truthy value, got ${show(value)}`);
  },
  equal<T>(actual: T, expected: T, message?: string): void {
    if (!Object.is(actual, expected)) fail(message, `expected ${show(expected)}, got ${show(actual)}`);
  },
  notEqual<T>(actual: T, expected: T, message?: string): void {
    if (Object.is(actual, expected)) fail(message, `expected anything but ${show(expected)}`);
  },
  deepEqual(actual: unknown, expected: unknown, message?: string): void {
    if (!deepEqualValues(actual, expected)) fail(message, `expected ${show(expected)}, got ${show(actual)}`);
  },
  match(actual: string, pattern: RegExp, message?: string): void {
    if (!pattern.test(actual)) fail(message, `expected ${show(actual)} to match ${pattern}`);
  },
  doesNotMatch(actual: string, pattern: RegExp, message?: string): void {
    if (pattern.test(actual)) fail(message, `expected ${show(actual)} not to match ${pattern}`);
  },
  throws(fn: () => unknown, expected?: RegExp | string, message?: string): void {
    try {
      fn();
    } catch (error) {
      if (!matchesError(error, expected)) fail(message, `threw ${show(String(error))}, expected ${String(expected)}`);
      return;
    }
    fail(message, "expected the call to throw");
  },
  async rejects(work: Promise<unknown> | (() => Promise<unknown>), expected?: RegExp | string, message?: string): Promise<void> {
    try {
      await (typeof work === "function" ? work() : work);
    } catch (error) {
      if (!matchesError(error, expected)) fail(message, `rejected with ${show(String(error))}, expected ${String(expected)}`);
      return;
    }
    fail(message, "expected the promise to reject");
  },
  fail(message: string): never {
    throw new AssertionError(message);
  },
};

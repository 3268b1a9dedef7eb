// XS side of the test API: tests register here and run when the host asks.
// Each result goes back to Node through xsnap's synchronous issueCommand.
export { assert } from "./assert";
export type TestFn = () => void | Promise<void>;

declare function issueCommand(message: ArrayBuffer): ArrayBuffer;

const registered: { name: string; fn: TestFn }[] = [];

export function test(name: string, fn: TestFn): void {
  registered.push({ name, fn });
}

function report(result: { name?: string; ok?: boolean; error?: string; plan?: string[] }): void {
  const text = JSON.stringify(result);
  const bytes = new Uint8Array(text.length * 3);
  let n = 0;
  for (const ch of text) {
    let c = ch.codePointAt(0) ?? 0;
    if (c < 0x80) bytes[n++] = c;
    else if (c < 0x800) { bytes[n++] = 0xc0 | (c >> 6); bytes[n++] = 0x80 | (c & 63); }
    else {
      if (c > 0xffff) c = 0xfffd; // results are diagnostic text: astral characters are not needed
      bytes[n++] = 0xe0 | (c >> 12); bytes[n++] = 0x80 | ((c >> 6) & 63); bytes[n++] = 0x80 | (c & 63);
    }
  }
  issueCommand(bytes.buffer.slice(0, n));
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

// Runs the registered tests one after another; the host drains XS's job queue.
export async function runRegistered(): Promise<void> {
  report({ plan: registered.map((t) => t.name) });
  for (const { name, fn } of registered) {
    try {
      await fn();
      report({ name, ok: true });
    } catch (error) {
      report({ name, ok: false, error: describe(error) });
    }
  }
}

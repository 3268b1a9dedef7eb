// "Install a file from this phone" in real Chromium, on the twin's UPDATE page:
// the page's own MD5 (GET /update/upload.js) against RFC 1321's test suite
// and node:crypto, read in 64 KB slices; then the form as a phone uses it.
// POST /update/upload is the board's side (the upload session); here the
// browser's request to it is caught with page.route, so the test sees exactly
// what the page sends and answers as the contract says (202 {"ok":true}, or
// an error status with {"ok":false,"error":"..."}).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page, Route } from "playwright-core";
import { launchChromium, PHONE, screenshots } from "../support/browser";
import { startStack, type Stack } from "../support/stack";
import { MD5_JS, HASH_SLICE } from "../../modules/core/portal/page-upload";
import { setPassword } from "../../modules/core/portal/basic-auth";

let browser: Browser;
let s: Stack;
before(async () => {
  browser = await launchChromium();
  s = await startStack({ twin: { requirePassword: false } });
});
after(async () => {
  await s?.stop();
  await browser?.close();
});

/** The twin's address without its trailing slash. */
const base = () => s.twin.url.replace(/\/$/, "");
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");

/** RFC 1321 appendix A.5. */
const RFC_1321: [string, string][] = [
  ["", "d41d8cd98f00b204e9800998ecf8427e"],
  ["a", "0cc175b9c0f1b6a831c399e269772661"],
  ["abc", "900150983cd24fb0d6963f7d28e17f72"],
  ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
  ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
  ["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"],
  ["12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a"],
];

/** Deterministic bytes (xorshift32), the same on both sides of the test. */
function bytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

async function phone(options: Parameters<Browser["newContext"]>[0] = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: PHONE, ...options });
  const page = await context.newPage();
  return { context, page };
}

/** The UPDATE page with its catalog, its upload script loaded (the button is enabled by it). */
async function openUpdate(page: Page): Promise<void> {
  await page.goto(`${base()}/update`);
  await page.locator('input[name="fw"]').first().waitFor({ timeout: 10_000 });
  await page.waitForFunction(() => !(document.getElementById("upload-btn") as HTMLButtonElement).disabled);
}

/** Waits (from Node) until the twin's catalog has settled. */
async function catalogLoaded(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const state = ((await (await fetch(`${base()}/api/catalog`)).json()) as { state: string }).state;
    if (state !== "loading") return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the catalog never settled");
}

interface Caught {
  method: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** Catches POST /update/upload; `answer` decides what the board says (or holds it). */
async function catchUpload(page: Page, answer: (route: Route, caught: Caught) => Promise<void>): Promise<Caught[]> {
  const seen: Caught[] = [];
  await page.route("**/update/upload", async (route) => {
    const r = route.request();
    const caught = { method: r.method(), headers: await r.allHeaders(), body: r.postDataBuffer() ?? Buffer.alloc(0) };
    seen.push(caught);
    await answer(route, caught);
  });
  return seen;
}

const json = (status: number, value: unknown) => ({ status, contentType: "application/json", body: JSON.stringify(value) });

test("the page's MD5 in Chromium: RFC 1321's test suite, every padding edge and slice boundary, a 300 KB file, as node:crypto", async () => {
  const { context, page } = await phone();
  await openUpdate(page); // plain http page of the portal, as on 192.168.4.1
  // Record the slices the hash asks for: none may exceed HASH_SLICE (the file is never read whole).
  await page.evaluate(() => {
    const w = window as unknown as { sliced: number[] };
    w.sliced = [];
    const slice = Blob.prototype.slice;
    Blob.prototype.slice = function (start?: number, end?: number, type?: string) {
      const part = slice.call(this, start, end, type);
      w.sliced.push(part.size);
      return part;
    };
  });
  const hash = (input: { text?: string; b64?: string }) =>
    page.evaluate(
      async ({ source, input }) => {
        const md5 = (0, eval)(`(${source})`) as (f: Blob, p: (x: number) => void) => Promise<string>;
        const data = input.text !== undefined ? [input.text] : [Uint8Array.from(atob(input.b64 ?? ""), (c) => c.charCodeAt(0))];
        const progress: number[] = [];
        const hex = await md5(new File(data, "fw.bin"), (x) => progress.push(x));
        return { hex, progress };
      },
      { source: MD5_JS, input },
    );
  for (const [text, expected] of RFC_1321) assert.equal((await hash({ text })).hex, expected, JSON.stringify(text));

  const sizes = [1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, HASH_SLICE - 1, HASH_SLICE, HASH_SLICE + 1, HASH_SLICE + 56, 2 * HASH_SLICE, 300_001];
  for (const [i, size] of sizes.entries()) {
    const data = bytes(size, 0x9e3779b9 + i);
    const { hex, progress } = await hash({ b64: Buffer.from(data).toString("base64") });
    assert.equal(hex, md5(data), `${size} bytes`);
    assert.equal(progress[progress.length - 1], 1);
    assert.equal(progress.length, Math.max(1, Math.ceil(size / HASH_SLICE)), `${size} bytes: one progress call per slice`);
    for (let k = 1; k < progress.length; k++) assert.ok(progress[k] > progress[k - 1]);
  }
  const sliced = await page.evaluate(() => (window as unknown as { sliced: number[] }).sliced);
  assert.ok(sliced.length > 0 && Math.max(...sliced) <= HASH_SLICE, `slices read: max ${Math.max(...sliced)}`);
  await context.close();
});

test("upload from the phone: hashes with progress, sends the raw file with x-MD5, on 202 goes to /progress", async () => {
  const image = readFileSync(join(s.catalogDir, "demo-1.1.0.bin"));
  assert.ok(image.length > 3 * HASH_SLICE, `a multi-slice file (${image.length} bytes)`);
  const { context, page } = await phone();
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const seen = await catchUpload(page, async (route) => {
    await held; // the board is "writing" it: the page shows the board's progress meanwhile
    await route.fulfill(json(202, { ok: true }));
  });
  let polls = 0;
  await page.route("**/api/progress", async (route) => {
    polls++;
    await route.fulfill(json(200, { phase: "downloading", target: "demo-1.1.0.bin", received: image.length / 2, total: image.length, rate: 0, resumes: 0, boot: "x" }));
  });
  await openUpdate(page);
  await page.locator("#upload-form").scrollIntoViewIfNeeded();
  await page.setInputFiles("input[name=file]", { name: "demo-1.1.0.bin", mimeType: "application/octet-stream", buffer: image });
  await screenshots(page, "upload-1-picked");
  await page.click("#upload-btn");
  await page.locator("#upload-status").filter({ hasText: "Installing: 50 %" }).waitFor({ timeout: 10_000 });
  assert.equal(await page.locator("#upload-btn").isDisabled(), true, "one upload at a time");
  assert.equal(await page.locator("#upload-file").isDisabled(), true);
  assert.equal(await page.locator("#upload-progress").evaluate((el) => (el as HTMLProgressElement).value), 50);
  await page.locator("#upload-form").scrollIntoViewIfNeeded();
  await screenshots(page, "upload-2-sending");
  release();
  await page.waitForURL(/\/progress$/);
  assert.equal(seen.length, 1);
  const [sent] = seen;
  assert.equal(sent.method, "POST");
  assert.equal(sent.headers["content-type"], "application/octet-stream");
  assert.equal(sent.headers["x-md5"], md5(image), "the page's MD5 of the picked file");
  assert.ok(sent.body.equals(image), "the body is the file, byte for byte");
  assert.ok(polls >= 1);
  await context.close();
});

test("the board's refusal is shown as its own words in #error; the form can be used again", async () => {
  const { context, page } = await phone();
  const answers = [
    json(413, { ok: false, error: "Too large: 2.1 MB, the update partition holds 1.9 MB" }),
    json(409, { ok: false, error: "An update is already running" }),
    { status: 500, contentType: "text/html", body: "<h1>oops</h1>" },
  ];
  await catchUpload(page, async (route) => route.fulfill(answers.shift() ?? json(500, {})));
  await openUpdate(page);
  const file = { name: "fw.bin", mimeType: "application/octet-stream", buffer: Buffer.from(bytes(70_000, 7)) };
  for (const expected of ["Too large: 2.1 MB, the update partition holds 1.9 MB", "An update is already running", "Upload refused (HTTP 500)"]) {
    await page.setInputFiles("input[name=file]", file);
    await page.click("#upload-btn");
    await page.locator("#error").filter({ hasText: expected }).waitFor();
    assert.equal(await page.locator("#error").textContent(), expected);
    assert.equal(await page.locator("#upload-btn").isDisabled(), false);
    assert.equal(await page.locator("#upload-progress").isHidden(), true);
    if (expected.startsWith("Too large")) await screenshots(page, "upload-3-refused");
  }
  assert.match(page.url(), /\/update(\?cached=1)?$/, "stays on UPDATE");
  await context.close();
});

test("a connection lost during the upload says so; hostile error text stays text", async () => {
  const { context, page } = await phone();
  let n = 0;
  await catchUpload(page, async (route) => (n++ === 0 ? route.abort("connectionreset") : route.fulfill(json(400, { ok: false, error: "<img src=x onerror=alert(1)>" }))));
  await openUpdate(page);
  const file = { name: "fw.bin", mimeType: "application/octet-stream", buffer: Buffer.from(bytes(1000, 3)) };
  await page.setInputFiles("input[name=file]", file);
  await page.click("#upload-btn");
  await page.locator("#error").filter({ hasText: "The connection to the board was lost" }).waitFor();
  await page.click("#upload-btn");
  await page.locator("#error").filter({ hasText: "<img src=x onerror=alert(1)>" }).waitFor();
  assert.equal(await page.locator("#error img").count(), 0);
  await context.close();
});

test("with the portal password the page, its script and the upload go with the browser's credentials", async () => {
  setPassword(s.twin.store, "hunter22");
  try {
    const anonymous = await fetch(`${base()}/update/upload.js`);
    assert.equal(anonymous.status, 401);
    const { context, page } = await phone({ httpCredentials: { username: "admin", password: "hunter22" } });
    await openUpdate(page); // the button is enabled only if the guarded script loaded
    // Not caught: Chromium adds cached credentials below the interception layer, so the sent
    // headers are read from the request itself. Whatever the board answers, the page shows it.
    const sent = page.waitForRequest("**/update/upload");
    await page.setInputFiles("input[name=file]", { name: "fw.bin", mimeType: "application/octet-stream", buffer: Buffer.from(bytes(5000, 5)) });
    await page.click("#upload-btn");
    const headers = await (await sent).allHeaders();
    assert.equal(headers.authorization, `Basic ${Buffer.from("admin:hunter22").toString("base64")}`);
    await page.waitForFunction(() => (document.getElementById("error")?.textContent ?? "") !== "" || location.pathname === "/progress");
    await context.close();
  } finally {
    s.twin.store.delete("portal.pass");
  }
});

test("without JavaScript the form says uploads need it, and its button stays off", async () => {
  const { context, page } = await phone({ javaScriptEnabled: false });
  await page.goto(`${base()}/update`);
  await catalogLoaded();
  await page.goto(`${base()}/update?cached=1`);
  assert.equal(await page.locator("#upload-noscript").isVisible(), true);
  assert.equal(await page.locator("#upload-noscript").textContent(), "Uploads need JavaScript, which is off in this browser.");
  assert.equal(await page.locator("#upload-btn").isDisabled(), true);
  await page.locator("#upload-form").scrollIntoViewIfNeeded();
  await screenshots(page, "upload-4-noscript");
  await context.close();
});

test("the UPDATE page at 375 px: nothing wider than the phone, the file input and button full width", async () => {
  const { context, page } = await phone();
  await openUpdate(page);
  assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= PHONE.width);
  for (const id of ["#upload-file", "#upload-btn"]) {
    const box = await page.locator(id).boundingBox();
    assert.ok(box && box.width > 300 && box.height >= 44, `${id}: ${JSON.stringify(box)}`);
  }
  await context.close();
});

test("an app mod (.xsa) is sent to POST /update/mod with the same headers; a .bin still to /update/upload", async () => {
  const { context, page } = await phone();
  const paths: string[] = [];
  let sentMd5 = "";
  await page.route(/\/update\/(mod|upload)$/, async (route) => {
    const r = route.request();
    paths.push(new URL(r.url()).pathname);
    sentMd5 = (await r.allHeaders())["x-md5"] ?? "";
    await route.fulfill(json(409, { ok: false, error: "An update is already running" }));
  });
  await openUpdate(page);
  const mod = Buffer.from(bytes(5000, 3));
  await page.setInputFiles("input[name=file]", { name: "hello-1.1.0.xsa", mimeType: "application/octet-stream", buffer: mod });
  await page.click("#upload-btn");
  await page.locator("#error").filter({ hasText: "An update is already running" }).waitFor();
  assert.deepEqual(paths, ["/update/mod"]);
  assert.equal(sentMd5, md5(mod));
  await page.setInputFiles("input[name=file]", { name: "fw.bin", mimeType: "application/octet-stream", buffer: Buffer.from(bytes(5000, 4)) });
  await page.click("#upload-btn");
  await page.waitForFunction(() => !(document.getElementById("upload-btn") as HTMLButtonElement).disabled);
  await page.locator("#error").filter({ hasText: "An update is already running" }).waitFor();
  assert.deepEqual(paths, ["/update/mod", "/update/upload"]);
  await context.close();
});

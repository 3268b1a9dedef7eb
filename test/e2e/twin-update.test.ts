// The whole product as a person uses it, in real Chromium: update server on a
// demo catalog, the device twin (core portal + engine over emulated flash), and
// for the fault scenarios the fault-injecting proxy in between. Every page is
// saved as a screenshot at desktop size and at 375x667 (artifacts/screenshots/).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { buildImage } from "../../tools/esp-image";
import { selectBootSlot } from "../../twin/flash/otadata";
import { launchChromium, screenshots } from "../support/browser";
import { deadPort, startStack, type Stack, type StackOptions } from "../support/stack";

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
});

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const otadataHex = (s: Stack) => Buffer.from(s.twin.flash.chip.read(s.twin.flash.otadata.offset, s.twin.flash.otadata.size)).toString("hex");

/**
 * A stack whose board downloads at 120 KB/s, so the progress bar is seen moving,
 * and restarts 2.5 s after an update (more than the page's 1 s poll, as the
 * device's 3 s default, so the page sees "done" before the board goes away).
 */
async function withStack(options: StackOptions, run: (s: Stack, page: Page, dialogs: string[]) => Promise<void>): Promise<void> {
  const s = await startStack({ ...options, twin: { bytesPerSecond: 120 * 1024, updater: { restartDelayMs: 2500, stallMs: 2000 }, ...options.twin } });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  try {
    await run(s, page, dialogs);
  } finally {
    await context.close();
    await s.stop();
  }
}

/** Home -> UPDATE -> the radio list, with screenshots of both pages. */
async function openUpdate(page: Page, s: Stack, shots?: string): Promise<void> {
  await page.goto(s.twin.url);
  await page.locator("#version").waitFor();
  if (shots) await screenshots(page, `${shots}-1-home`);
  await page.click("#menu-update");
  await page.locator('input[name="fw"]').first().waitFor({ timeout: 10_000 });
  if (shots) await screenshots(page, `${shots}-2-update`);
}

/** The list's entries marked "running". */
async function runningNames(page: Page): Promise<string[]> {
  return page.locator("li:has(.running) input[name=fw]").evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
}

async function pick(page: Page, name: string): Promise<void> {
  await page.check(`input[name="fw"][value="${name}"]`);
  await page.click("#update-btn");
  await page.waitForURL(/\/progress$/);
}

/** Samples the progress bar until it reaches 100; returns the distinct values seen. */
async function watchProgress(page: Page): Promise<number[]> {
  const seen: number[] = [];
  const until = Date.now() + 20_000;
  for (;;) {
    const value = await page.locator("#progress").evaluate((el) => (el as HTMLProgressElement).value);
    if (seen[seen.length - 1] !== value) seen.push(value);
    if (value >= 100) return seen;
    if ((await page.locator("#error").textContent())?.trim()) return seen;
    if (Date.now() > until) throw new Error(`progress stuck at ${value}`);
    await page.waitForTimeout(100);
  }
}

test("update to 1.1.0 in the browser: radio list, progress to 100 %, restart, new version and otadata", async () => {
  await withStack({ twin: { requirePassword: false } }, async (s, page) => {
    await openUpdate(page, s, "update-1.1.0");
    const names = await page.locator('input[name="fw"]').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
    const mods = ["hello-1.0.0.xsa", "hello-1.1.0.xsa", "hello-broken-1.2.0.xsa", "hello-failcheck-1.3.0.xsa", "hello-xs16-1.0.0.xsa"];
    assert.deepEqual(names, ["demo-1.0.0.bin", "demo-1.1.0.bin", "demo-2.0.0.bin", "demo-big-3.0.0.bin", "demo-broken-2.1.0.bin", "demo-s3-2.0.0.bin", "demo-xs16-2.2.0.bin", ...mods]);
    const modNames = await page.locator('#mods input[name="fw"]').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
    assert.deepEqual(modNames, mods, "the demo's app mods follow in their own part of the list");
    assert.deepEqual(await runningNames(page), ["demo-1.0.0.bin"], "before: 1.0.0 (by version and project name: the server has hashed nothing yet)");
    assert.equal(await page.locator("#other-slot").textContent(), "empty ota_1");
    await pick(page, "demo-1.1.0.bin");
    await page.waitForFunction(() => Number((document.getElementById("progress") as HTMLProgressElement).value) > 0);
    await screenshots(page, "update-1.1.0-3-progress");
    const seen = await watchProgress(page);
    assert.equal(seen[seen.length - 1], 100);
    assert.ok(seen.some((v) => v > 0 && v < 100), `intermediate values seen: ${seen.join(", ")}`);
    await page.waitForFunction(() => /successfully updated/.test(document.getElementById("result")?.textContent ?? ""));
    assert.match((await page.locator("#result").textContent()) ?? "", /demo-1\.1\.0\.bin successfully updated/);
    await screenshots(page, "update-1.1.0-4-result");
    await page.waitForFunction(() => /Device restarted/.test(document.getElementById("status")?.textContent ?? ""), undefined, { timeout: 15_000 });
    assert.equal(await page.locator("#version").textContent(), "1.1.0");
    await screenshots(page, "update-1.1.0-5-restarted");
    await page.goto(s.twin.url);
    assert.equal(await page.locator("#version").textContent(), "1.1.0");
    assert.equal(await page.locator("#partition").textContent(), "ota_1");
    await screenshots(page, "update-1.1.0-6-home-after");
    // What is installed: the list now marks 1.1.0 running, and the other slot holds 1.0.0.
    await page.click("#menu-update");
    await page.locator('input[name="fw"]').first().waitFor({ timeout: 10_000 });
    assert.deepEqual(await runningNames(page), ["demo-1.1.0.bin"]);
    assert.equal(await page.locator("#running-version").textContent(), "1.1.0 ota_1");
    assert.equal(await page.locator("#other-slot").textContent(), "1.0.0 ota_0");
    // The server hashed demo-1.1.0.bin to send it: its row now carries the MD5 the board measured at boot.
    const rows = (await (await fetch(`http://127.0.0.1:${s.serverPort}/api/catalog`)).json()) as { name: string; md5?: string; projectName?: string }[];
    const row = rows.find((r) => r.name === "demo-1.1.0.bin");
    assert.equal(row?.md5, s.twin.device.sketchMd5);
    assert.equal(row?.projectName, s.twin.device.appName);
    await screenshots(page, "update-1.1.0-7-update-after");
    const [a, b] = s.twin.flash.readOtadata();
    assert.deepEqual([a.seq, b.seq], [1, 2], "otadata sector 1 holds seq 2 -> (2 - 1) % 2 = ota_1");
    assert.equal(selectBootSlot([a, b], 2).slot, 1);
    assert.equal(s.twin.boots, 2);
  });
});

test("one corrupted byte: MD5 error shown; running version and otadata unchanged", async () => {
  await withStack({ twin: { requirePassword: false }, fault: { flipAt: 150_000 } }, async (s, page) => {
    const otadata = otadataHex(s);
    await openUpdate(page, s);
    await pick(page, "demo-1.1.0.bin");
    await page.waitForFunction(() => (document.getElementById("error")?.textContent ?? "").trim() !== "", undefined, { timeout: 20_000 });
    assert.match((await page.locator("#error").textContent()) ?? "", /MD5/);
    await screenshots(page, "fault-md5-progress");
    assert.equal(s.proxy?.stats.flipped, 1);
    await page.goto(s.twin.url);
    assert.equal(await page.locator("#version").textContent(), "1.0.0");
    assert.equal(await page.locator("#partition").textContent(), "ota_0");
    assert.equal(otadataHex(s), otadata);
    assert.equal(s.twin.boots, 1);
  });
});

test("connection cut at 50 %: resumed with Range, the update succeeds", async () => {
  await withStack({ twin: { requirePassword: false }, fault: { cutAt: 0.5 } }, async (s, page) => {
    await openUpdate(page, s);
    await pick(page, "demo-1.1.0.bin");
    const seen = await watchProgress(page);
    assert.equal(seen[seen.length - 1], 100, `progress ${seen.join(", ")}; error ${await page.locator("#error").textContent()}`);
    await page.waitForFunction(() => /Device restarted/.test(document.getElementById("status")?.textContent ?? ""), undefined, { timeout: 15_000 });
    await screenshots(page, "fault-cut-restarted");
    assert.equal(await page.locator("#version").textContent(), "1.1.0");
    assert.equal(s.proxy?.stats.cuts, 1);
    assert.equal(s.proxy?.stats.requests.filter((p) => p.endsWith("demo-1.1.0.bin")).length, 2, "one cut request and one Range resume");
  });
});

test("server down: the UPDATE page says the server cannot be reached", async () => {
  await withStack({ twin: { requirePassword: false }, serverPort: await deadPort() }, async (s, page) => {
    await page.goto(s.twin.url);
    await page.click("#menu-update");
    const error = page.locator("#catalog-error");
    await error.waitFor({ timeout: 10_000 });
    const text = (await error.textContent()) ?? "";
    assert.match(text, /127\.0\.0\.1/);
    assert.match(text, /server|connect|reach/i);
    assert.equal(await page.locator('input[name="fw"]').count(), 0);
    await screenshots(page, "fault-server-down");
  });
});

test("ESP32-S3 image: shown disabled with the reason; a forced click or post is refused before any flash write, flash bytes unchanged", async () => {
  await withStack({ twin: { requirePassword: false } }, async (s, page) => {
    const before = sha(s.flashPath);
    await openUpdate(page, s);
    const radio = page.locator('input[name="fw"][value="demo-s3-2.0.0.bin"]');
    assert.equal(await radio.isDisabled(), true);
    const row = page.locator("li", { has: radio });
    assert.equal(((await row.locator(".why").textContent()) ?? "").trim(), "Image is for ESP32-S3, this board is ESP32");
    assert.match((await row.locator(".meta").textContent()) ?? "", /· v2\.0\.0$/);
    // The ESP32 builds stay installable.
    assert.equal(await page.locator('input[name="fw"][value="demo-1.1.0.bin"]').isDisabled(), false);
    await row.scrollIntoViewIfNeeded();
    await screenshots(page, "fault-s3-disabled");
    // A user who edits the page still cannot start it...
    await radio.evaluate((el) => ((el as HTMLInputElement).disabled = false));
    await radio.check();
    await page.click("#update-btn");
    await page.locator("#error").filter({ hasText: "Image is for ESP32-S3, this board is ESP32" }).waitFor();
    await screenshots(page, "fault-s3-refused");
    // ...nor one who posts by hand.
    const posted = await page.request.post(new URL("/api/update", s.twin.url).href, { form: { fw: "demo-s3-2.0.0.bin" } });
    assert.equal(posted.status(), 409);
    assert.deepEqual(await posted.json(), { ok: false, error: "Image is for ESP32-S3, this board is ESP32" });
    assert.equal(sha(s.flashPath), before);
    await page.goto(s.twin.url);
    assert.equal(await page.locator("#version").textContent(), "1.0.0");
  });
});

test("image too large for the OTA slot: shown disabled with the reason; a forced post is refused", async () => {
  await withStack({ twin: { requirePassword: false } }, async (s, page) => {
    const before = sha(s.flashPath);
    await openUpdate(page, s);
    const radio = page.locator('input[name="fw"][value="demo-big-3.0.0.bin"]');
    assert.equal(await radio.isDisabled(), true);
    const row = page.locator("li", { has: radio });
    assert.match((await row.textContent()) ?? "", /Too large/);
    await row.scrollIntoViewIfNeeded();
    await screenshots(page, "fault-too-large-disabled");
    // A user who edits the page (or posts by hand) still cannot start it.
    await radio.evaluate((el) => ((el as HTMLInputElement).disabled = false));
    await radio.check();
    await page.click("#update-btn");
    await page.locator("#error").filter({ hasText: /Too large/ }).waitFor();
    await screenshots(page, "fault-too-large-refused");
    assert.equal(sha(s.flashPath), before);
  });
});

test("an HTML-looking firmware name is rendered as text", async () => {
  const hostile = `<img src=x onerror=alert(1)>.bin`;
  const image = buildImage({ version: "6.6.6", size: 40_000 });
  await withStack({ twin: { requirePassword: false }, extra: { [hostile]: image } }, async (s, page, dialogs) => {
    await openUpdate(page, s);
    const values = await page.locator('input[name="fw"]').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
    assert.ok(values.includes(hostile), `radio values: ${values.join(" | ")}`);
    // The row shows the name as text: the literal characters, no element made of them.
    const rows = await page.locator("#update-form li").allTextContents();
    assert.ok(rows.some((r) => r.includes(hostile)), `rows: ${rows.join(" | ")}`);
    assert.equal(await page.locator("#catalog img").count(), 0);
    await screenshots(page, "hostile-name");
    assert.deepEqual(dialogs, []);
  });
});

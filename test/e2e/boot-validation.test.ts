// Boot validation as a person sees it, in real Chromium on the twin: the broken
// demo image boots pending, fails its start-up check and is rolled back, and
// the pages say so; a good image is confirmed; "Go back" restarts into the
// previous image; a power cut in the otadata write leaves a bootable board.
// Screenshots at desktop size and at 375x667 go to artifacts/screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { OtaState, slotState } from "../../twin/flash/otadata";
import { DESKTOP, launchChromium, screenshots, withStackPage } from "../support/browser";
import type { Stack, StackOptions } from "../support/stack";

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
});

const withStack = (options: StackOptions, run: (s: Stack, page: Page) => Promise<void>) =>
  withStackPage(browser, { ...options, twin: { bytesPerSecond: 200 * 1024, updater: { restartDelayMs: 2500, stallMs: 2000 }, boot: { windowMs: 4000, pollMs: 200 }, ...options.twin } }, DESKTOP, run);

async function update(page: Page, s: Stack, name: string): Promise<void> {
  await page.goto(s.twin.url);
  await page.click("#menu-update");
  await page.locator(`input[name="fw"][value="${name}"]`).waitFor({ timeout: 10_000 });
  await page.check(`input[name="fw"][value="${name}"]`);
  await page.click("#update-btn");
  await page.waitForURL(/\/progress$/);
}

const text = (page: Page, id: string) => page.locator(`#${id}`).textContent();
const waitText = (page: Page, id: string, pattern: RegExp, timeout = 20_000) =>
  page.waitForFunction(([i, source]) => new RegExp(source).test(document.getElementById(i)?.textContent ?? ""), [id, pattern.source] as const, { timeout });

test("the broken image: boots pending, fails its start-up check, rolls back; the pages say so, otadata marks it INVALID", async () => {
  await withStack({ twin: { requirePassword: false } }, async (s, page) => {
    await update(page, s, "demo-broken-2.1.0.bin");
    await waitText(page, "status", /^Checking the new firmware 2\.1\.0: \d+ s left/);
    assert.match((await text(page, "status")) ?? "", /waiting for Wi-Fi station: not joined to TwinLAN/);
    await screenshots(page, "rollback-1-checking");
    // the home page of the pending image, while its window runs
    const home = await browser.newPage();
    await home.goto(s.twin.url);
    assert.equal(await home.locator("#ota-state").textContent(), "pending-verify");
    assert.match((await home.locator("#boot-check").textContent()) ?? "", /Checking the new firmware/);
    await screenshots(home, "rollback-2-home-pending");
    await home.close();
    await waitText(page, "error", /2\.1\.0 failed its start-up check and was rolled back; running 1\.0\.0/);
    assert.equal(await text(page, "status"), "Rolled back");
    assert.equal(await text(page, "version"), "1.0.0");
    await screenshots(page, "rollback-3-progress-rolled-back");
    await page.goto(s.twin.url);
    assert.equal(await text(page, "last-update"), "2.1.0 failed its start-up check and was rolled back; running 1.0.0");
    assert.equal(await text(page, "version"), "1.0.0");
    assert.equal(await text(page, "partition"), "ota_0");
    assert.equal(await page.locator("#rollback-form").count(), 0);
    await screenshots(page, "rollback-4-home-after");
    const entries = s.twin.flash.readOtadata();
    assert.equal(slotState(entries, 1, 2), OtaState.INVALID);
    assert.equal(slotState(entries, 0, 2), OtaState.VALID);
  });
});

test("a good image is confirmed after its check, and Go back restarts into the previous image", async () => {
  await withStack({ twin: { requirePassword: false } }, async (s, page) => {
    await update(page, s, "demo-1.1.0.bin");
    await waitText(page, "result", /Now running moddable-ota-demo 1\.1\.0; it passed its start-up check|Now running moddable-ota-demo 1\.1\.0$/);
    await page.goto(s.twin.url);
    await page.waitForFunction(() => document.getElementById("ota-state")?.textContent === "valid");
    assert.equal(await text(page, "version"), "1.1.0");
    assert.equal(await text(page, "last-update"), "1.1.0 passed its start-up check");
    assert.equal(await text(page, "rollback-btn"), "Go back to 1.0.0");
    await screenshots(page, "go-back-1-home");
    await page.click("#rollback-btn");
    await waitText(page, "status", /^Now running moddable-ota-demo 1\.0\.0$/);
    await screenshots(page, "go-back-2-restarted");
    await page.goto(s.twin.url);
    await page.waitForFunction(() => document.getElementById("ota-state")?.textContent === "valid");
    assert.equal(await text(page, "version"), "1.0.0");
    assert.equal(await text(page, "partition"), "ota_0");
    assert.equal(await text(page, "rollback-btn"), "Go back to 1.1.0");
    await screenshots(page, "go-back-3-home-after");
  });
});

test("a power cut during the otadata write: the board comes back on one of its two images", async () => {
  await withStack({ twin: { requirePassword: false } }, async (s, page) => {
    // the commit erases the other otadata sector (op 0), then programs its entry (op 1): cut the program
    s.twin.cutPower({ afterOps: 1, region: { offset: s.twin.flash.otadata.offset, length: s.twin.flash.otadata.size } });
    await update(page, s, "demo-1.1.0.bin");
    await s.twin.booted(2);
    await page.goto(s.twin.url);
    const version = await text(page, "version");
    assert.ok(version === "1.0.0" || version === "1.1.0", `running ${version}`);
    assert.equal(await text(page, "ota-state"), "valid");
    await screenshots(page, "power-cut-home-after");
  });
});

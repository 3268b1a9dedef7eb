// Installing a file from the phone, end to end, in real Chromium at 375x667:
// the file picker, the page's MD5, POST /update/upload into the twin's real
// upload session and emulated flash, the progress page, the restart and the
// start-up check. A corrupted file ends with the MD5 message and an ESP32-S3
// image is refused before any write, each leaving the running slot and the
// boot selection byte-identical. Screenshots go to artifacts/screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium, PHONE, screenshots, withStackPage } from "../support/browser";
import type { Stack } from "../support/stack";
import { demoFirmwares, demoImage } from "../../twin/demo-catalog";

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

const files = mkdtempSync(join(tmpdir(), "ota-upload-"));
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");

function file(name: string, bytes: Uint8Array): string {
  const path = join(files, name);
  writeFileSync(path, bytes);
  return path;
}

const running = (s: Stack) => Buffer.from(s.twin.flash.chip.read(s.twin.flash.slots[0].offset, s.twin.flash.slots[0].size)).toString("hex");
const otadata = (s: Stack) => Buffer.from(s.twin.flash.chip.read(s.twin.flash.otadata.offset, s.twin.flash.otadata.size)).toString("hex");

const withPhone = (run: (s: Stack, page: Page) => Promise<void>) => withStackPage(browser, { twin: { requirePassword: false, boot: { windowMs: 4000, pollMs: 200 } } }, PHONE, run);

async function pickAndSend(page: Page, s: Stack, path: string): Promise<void> {
  await page.goto(new URL("/update", s.twin.url).href);
  await page.locator("#upload-btn:not([disabled])").waitFor();
  await page.setInputFiles("#upload-file", path);
  await page.click("#upload-btn");
}

test("demo-1.1.0.bin from the phone: hashed in the page, streamed in, restarted into 1.1.0, marked running", async () => {
  await withPhone(async (s, page) => {
    const image = demoImage(demoFirmwares(0.3)[1]);
    await pickAndSend(page, s, file("demo-1.1.0.bin", image));
    await page.waitForURL(/\/progress$/, { timeout: 20_000 });
    assert.equal(await page.locator("#target").textContent(), "demo-1.1.0.bin", "the page names the file (x-Filename)");
    await screenshots(page, "phone-upload-1-progress");
    await page.waitForFunction(() => /Now running moddable-ota-demo 1\.1\.0/.test(document.getElementById("result")?.textContent ?? ""), undefined, { timeout: 30_000 });
    await screenshots(page, "phone-upload-2-restarted");
    await page.goto(new URL("/update", s.twin.url).href);
    await page.locator("li:has(.running) input[name=fw]").waitFor({ timeout: 10_000 });
    assert.equal(await page.locator("li:has(.running) input[name=fw]").getAttribute("value"), "demo-1.1.0.bin");
    assert.match((await page.locator("#running-version").textContent()) ?? "", /1\.1\.0/);
    await screenshots(page, "phone-upload-3-list-running");
    assert.equal(s.twin.device.appVersion, "1.1.0");
    assert.equal(md5(s.twin.flash.chip.read(s.twin.flash.slots[1].offset, image.length)), md5(image), "ota_1 holds the uploaded bytes");
  });
});

test("a corrupted file (one byte flipped, the original's MD5): the MD5 message; running slot and otadata byte-identical", async () => {
  await withPhone(async (s, page) => {
    const image = demoImage(demoFirmwares(0.3)[1]);
    const bad = image.slice();
    bad[120_000] ^= 0x01;
    const slot = running(s);
    const selection = otadata(s);
    // The page hashes the file it is given; send the original's MD5, as a corrupted copy of a known image would.
    await page.route("**/update/upload", (route) => route.continue({ headers: { ...route.request().headers(), "x-md5": md5(image) } }));
    await pickAndSend(page, s, file("demo-1.1.0-corrupted.bin", bad));
    await page.waitForURL(/\/progress$/, { timeout: 20_000 });
    await page.waitForFunction(() => /MD5 mismatch/.test(document.getElementById("error")?.textContent ?? ""), undefined, { timeout: 20_000 });
    assert.equal(await page.locator("#error").textContent(), "MD5 mismatch: the upload was corrupted");
    await screenshots(page, "phone-upload-4-corrupted");
    assert.equal(running(s), slot, "the running slot is byte-identical");
    assert.equal(otadata(s), selection, "the boot selection is byte-identical");
    assert.equal(s.twin.boots, 1, "no restart");
  });
});

test("an ESP32-S3 image: refused with the reason before any write; the flash is as it was", async () => {
  await withPhone(async (s, page) => {
    const s3 = demoImage(demoFirmwares(0.3).find((f) => f.chip === "ESP32-S3")!);
    const slot = running(s);
    const selection = otadata(s);
    const erased = s.twin.flash.chip.counters.sectorsErased;
    await pickAndSend(page, s, file("demo-s3-2.0.0.bin", s3));
    await page.waitForFunction(() => (document.getElementById("error")?.textContent ?? "") !== "", undefined, { timeout: 20_000 });
    assert.equal(await page.locator("#error").textContent(), "Image is for ESP32-S3, this board is ESP32");
    assert.match(page.url(), /\/update$/, "the page stays on UPDATE");
    await screenshots(page, "phone-upload-5-wrong-chip");
    assert.equal(s.twin.flash.chip.counters.sectorsErased, erased, "nothing erased");
    assert.equal(running(s), slot);
    assert.equal(otadata(s), selection);
  });
});

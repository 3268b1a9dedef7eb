// Debian's Chromium through playwright-core, with the flags this offline
// machine needs (no background connections), and page screenshots at desktop
// size and at 375x667 into artifacts/screenshots/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { startStack, type Stack, type StackOptions } from "./stack";

export const SCREENSHOT_DIR = join(import.meta.dirname, "..", "..", "artifacts", "screenshots");
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 667 };

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** Saves `<name>-desktop.png` and `<name>-375x667.png` (full page), then restores the desktop viewport. */
export async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-375x667.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

/** Starts the stack (twin + server), opens a page in a fresh browser context, runs `run`, then closes both whatever happens. */
export async function withStackPage(browser: Browser, options: StackOptions, viewport: { width: number; height: number }, run: (s: Stack, page: Page) => Promise<void>): Promise<void> {
  const s = await startStack(options);
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  try {
    await run(s, page);
  } finally {
    await context.close();
    await s.stop();
  }
}

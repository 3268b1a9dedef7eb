// Secure by default, in real Chromium at 375x667 on the twin with the board's
// defaults (requirePassword true; the AP in "always" mode, so the phone on
// loopback is on the access point): the home page says to set a password, an
// update is refused with "Set a portal password first" and a link to the
// password page; once the password is set there, the update goes in with it.
// Screenshots go to artifacts/screenshots/security-*.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { launchChromium, PHONE, screenshots } from "../support/browser";
import { startStack } from "../support/stack";

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

const PASSWORD = "phone-pass-42";

test("the portal refuses an update until a password is set, then accepts it with the password", async () => {
  const s = await startStack({ twin: { ap: { mode: "always" }, boot: { windowMs: 4000, pollMs: 200 }, updater: { restartDelayMs: 1500, stallMs: 2000 } } });
  const first = await browser.newContext({ viewport: PHONE });
  try {
    await s.twin.booted(1);
    const page = await first.newPage();
    await page.goto(s.twin.url);
    assert.match((await page.locator("#password-first").textContent()) ?? "", /Set a portal password first/);
    assert.match((await page.locator("#security").textContent()) ?? "", /Unsigned images are accepted[^]*The access point has no password and is always on/);
    await screenshots(page, "security-1-home-no-password");

    await page.click("#menu-update");
    await page.locator('input[name="fw"]').first().waitFor({ timeout: 10_000 });
    await page.check('input[name="fw"][value="demo-1.1.0.bin"]');
    const [answer] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/update") && r.request().method() === "POST"), page.click("#update-btn")]);
    assert.equal(answer.status(), 403);
    assert.match((await page.locator("#error").textContent()) ?? "", /^Set a portal password first/);
    await screenshots(page, "security-2-refused");
    assert.equal(s.twin.device.appVersion, "1.0.0");

    await page.click("#set-password");
    await page.waitForURL(/\/password$/);
    await page.fill("#new", PASSWORD);
    await page.fill("#confirm", PASSWORD);
    await page.click("#password-btn");
    await page.locator("#message").waitFor();
    assert.match((await page.locator("#message").textContent()) ?? "", /Password saved/);
    await screenshots(page, "security-3-password-set");
    // Chromium without credentials turns the 401 into a sign-in prompt; its request API sees the status.
    assert.equal((await page.request.get(new URL("/update", s.twin.url).href)).status(), 401, "from now on the password is asked for");
  } finally {
    await first.close();
  }

  // The phone signs in (HTTP Basic: the browser's prompt, given here as the context's credentials).
  const signedIn = await browser.newContext({ viewport: PHONE, httpCredentials: { username: "admin", password: PASSWORD } });
  try {
    const page = await signedIn.newPage();
    await page.goto(s.twin.url);
    assert.equal(await page.locator("#password-first").count(), 0);
    await page.click("#menu-update");
    await page.locator('input[name="fw"]').first().waitFor({ timeout: 10_000 });
    await page.check('input[name="fw"][value="demo-1.1.0.bin"]');
    await page.click("#update-btn");
    await page.waitForURL(/\/progress$/);
    await screenshots(page, "security-4-progress");
    await page.waitForFunction(() => /Device restarted/.test(document.getElementById("status")?.textContent ?? ""), undefined, { timeout: 30_000 });
    await screenshots(page, "security-5-restarted");
    assert.equal(s.twin.device.appVersion, "1.1.0");
  } finally {
    await signedIn.close();
    await s.stop();
  }
});

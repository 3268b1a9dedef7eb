// The access point's lifecycle as a person sees it on a phone (375x667, real
// Chromium, the twin in fallback mode with short timings): the home page says
// the AP is off while the twin is on TwinLAN, that it is up once the network
// has been gone for apFallbackAfter, that it closes after the person joins
// again from the Wi-Fi page, and that it is off after the linger.
// Screenshots at desktop size and at 375x667 go to artifacts/screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { PHONE, launchChromium, screenshots, withStackPage } from "../support/browser";
import { TWIN_NETWORK } from "../../twin/device";

const FALLBACK_MS = 1500;
const LINGER_MS = 5000;

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
});

/** Reloads the home page until #ap-state matches (the page is rendered by the board, not updated by script). */
async function homeUntil(page: Page, url: string, pattern: RegExp, timeout = 15_000): Promise<string> {
  const until = Date.now() + timeout;
  for (;;) {
    await page.goto(url);
    const last = (await page.locator("#ap-state").textContent()) ?? "";
    if (pattern.test(last)) return last;
    if (Date.now() > until) throw new Error(`#ap-state never matched ${pattern}: last "${last}"`);
    await page.waitForTimeout(200);
  }
}

async function phoneShots(page: Page, name: string): Promise<void> {
  await screenshots(page, name);
  await page.setViewportSize(PHONE);
  assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= PHONE.width, `${name}: no sideways scroll at 375 px`);
}

test("fallback on a phone: off while joined, back when the network fails, closing after a join, off after the linger", async () => {
  await withStackPage(browser, { twin: { ap: { mode: "fallback", fallbackAfterMs: FALLBACK_MS, lingerMs: LINGER_MS } } }, PHONE, async (s, page) => {
    const home = s.twin.url;
    await homeUntil(page, home, /^Off \(fallback mode\): it opens again when the station cannot join its network\.$/);
    assert.match((await page.locator("#station").textContent()) ?? "", /TwinLAN/);
    await phoneShots(page, "ap-1-off-joined");

    // The router goes off: the station loses TwinLAN and the AP comes back after apFallbackAfter.
    s.twin.dropNetwork(TWIN_NETWORK.ssid);
    await homeUntil(page, home, /^Up \(fallback mode\): it closes a while after the station joins a network\.$/);
    assert.equal(await page.locator("#station").textContent(), "not connected");
    await phoneShots(page, "ap-2-up-after-fallback");

    // The router is back; the person joins again from the Wi-Fi page's stored network.
    s.twin.restoreNetwork(TWIN_NETWORK.ssid);
    await page.click("#menu-wifi");
    await page.locator(`form:has(input[name="stored"]):has(input[name="ssid"][value="${TWIN_NETWORK.ssid}"]) button`, { hasText: "Connect" }).click();
    await page.waitForURL(/\/wifi\/connect$/);
    const closing = await homeUntil(page, home, /^Up \(fallback mode\): closes in \d+ s; the portal stays on the station's address\.$/);
    const seconds = Number(/closes in (\d+) s/.exec(closing)?.[1]);
    assert.ok(seconds >= 1 && seconds <= LINGER_MS / 1000, `closes within the linger: ${closing}`);
    assert.match((await page.locator("#station").textContent()) ?? "", /TwinLAN/);
    await phoneShots(page, "ap-3-closing-after-join");

    // After the linger the AP is off; the portal still answers (on the station's address).
    await homeUntil(page, home, /^Off \(fallback mode\)/, LINGER_MS + 10_000);
    const status = (await (await page.request.get(new URL("/api/status", home).href)).json()) as { ap: unknown };
    assert.deepEqual(status.ap, { ssid: "esp32-twin", address: "192.168.4.1", mode: "fallback", up: false, closesInS: null });
    assert.equal(s.twin.wifi.status().apUp, false, "the radio's AP is down too");
    await phoneShots(page, "ap-4-off-after-linger");
  });
});

// Signed updates only, end to end, in real Chromium at 375x667 against the
// signed demo (npm start -- --signed): the twin trusts the owner's key, and
// the catalog holds images signed with it plus an unsigned one, one signed
// with another key and one whose bytes differ from what the owner signed.
// What the user sees: "Signed updates only" and the key's fingerprint; the
// unsigned and other-key images listed but not selectable, with the reason;
// the tampered one downloaded and refused before the boot switch; from the
// phone, a .bin without its .sig stopped in the page, one signed with another
// key refused by the board from its head (nothing erased), and the owner's
// image with its .sig installed.
// Each refusal leaves the boot selection (otadata) byte-identical.
// Screenshots go to artifacts/screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium, PHONE, screenshots, withStackPage } from "../support/browser";
import type { Stack } from "../support/stack";
import { REFUSED_OTHER_KEY, REFUSED_TAMPERED, REFUSED_UNSIGNED } from "../../twin/demo-signing";

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

const otadata = (s: Stack) => Buffer.from(s.twin.flash.chip.read(s.twin.flash.otadata.offset, s.twin.flash.otadata.size)).toString("hex");
const NOT_OWNER = "Not signed by this board's owner";

const withPhone = (run: (s: Stack, page: Page) => Promise<void>) => withStackPage(browser, { signed: true, twin: { requirePassword: false, boot: { windowMs: 4000, pollMs: 200 } } }, PHONE, run);

/** The UPDATE page once the catalog has loaded (its script reloads the page with ?cached=1). */
async function updatePage(page: Page, s: Stack): Promise<void> {
  await page.goto(new URL("/update", s.twin.url).href);
  await page.locator(`input[name=fw][value="${REFUSED_TAMPERED}"]`).waitFor({ timeout: 20_000 });
}

test("the list: Signed updates only with the key; the unsigned and other-key images disabled with the reason; the tampered one refused after its download", async () => {
  await withPhone(async (s, page) => {
    const owner = s.keys!.owner.publicKey.fingerprint;
    await page.goto(s.twin.url);
    assert.equal(await page.locator("#signing h2").textContent(), "Signed updates only");
    assert.equal(await page.locator("#signing .fingerprint").textContent(), owner);
    await screenshots(page, "signed-1-home");

    await updatePage(page, s);
    assert.equal(await page.locator("#signing .fingerprint").textContent(), owner);
    const unsigned = page.locator(`li:has(input[value="${REFUSED_UNSIGNED}"])`);
    const stranger = page.locator(`li:has(input[value="${REFUSED_OTHER_KEY}"])`);
    assert.equal(await unsigned.locator("input").isDisabled(), true);
    assert.equal(await unsigned.locator(".why").textContent(), `${NOT_OWNER}: the image has no signature`);
    assert.equal(await stranger.locator("input").isDisabled(), true);
    assert.equal(await stranger.locator(".why").textContent(), `${NOT_OWNER}: it is signed with key ${s.keys!.stranger.publicKey.fingerprint}, this board trusts ${owner}`);
    assert.equal(await page.locator('input[name=fw][value="demo-1.1.0.bin"]').isDisabled(), false);
    await screenshots(page, "signed-2-list-refusals");

    const selection = otadata(s);
    await page.check(`input[name=fw][value="${REFUSED_TAMPERED}"]`);
    await page.click("#update-btn");
    await page.waitForURL(/\/progress$/);
    await page.waitForFunction((text) => (document.getElementById("error")?.textContent ?? "").startsWith(text), NOT_OWNER, { timeout: 30_000 });
    assert.equal(await page.locator("#error").textContent(), `${NOT_OWNER}: the image was changed after it was signed (its SHA-256 differs)`);
    await screenshots(page, "signed-3-tampered-refused");
    assert.equal(otadata(s), selection, "the boot selection is byte-identical");
    assert.equal(s.twin.boots, 1, "no restart");
    assert.equal(s.twin.device.appVersion, "1.0.0");
  });
});

test("from the phone: a .bin without its .sig is stopped in the page; another key's image with its .sig is refused by the board before any erase; the owner's with its .sig installs", async () => {
  await withPhone(async (s, page) => {
    const uploads: string[] = [];
    page.on("request", (r) => {
      if (r.url().endsWith("/update/upload")) uploads.push(r.headers()["x-firmware-signature"] ?? "");
    });
    const selection = otadata(s);
    await updatePage(page, s);
    await page.locator("#upload-btn:not([disabled])").waitFor();
    assert.ok(await page.locator("#upload-sig").isVisible(), "the form asks for the signature");

    await page.setInputFiles("#upload-file", join(s.catalogDir, "demo-1.1.0.bin"));
    await page.click("#upload-btn");
    await page.waitForFunction(() => (document.getElementById("error")?.textContent ?? "") !== "");
    assert.equal(await page.locator("#error").textContent(), "This board installs only signed images: choose the image's .sig file too");
    assert.equal(uploads.length, 0, "nothing was sent");
    await screenshots(page, "signed-4-upload-no-sig");

    // Judged from the image's head with its .sig: refused before anything is erased; the page stays on UPDATE.
    const erased = s.twin.flash.chip.counters.sectorsErased;
    await page.setInputFiles("#upload-file", join(s.catalogDir, REFUSED_OTHER_KEY));
    await page.setInputFiles("#upload-sig", join(s.catalogDir, `${REFUSED_OTHER_KEY}.sig`));
    await page.click("#upload-btn");
    await page.waitForFunction((text) => (document.getElementById("error")?.textContent ?? "").startsWith(text), NOT_OWNER, { timeout: 30_000 });
    assert.equal(await page.locator("#error").textContent(), `${NOT_OWNER}: it is signed with key ${s.keys!.stranger.publicKey.fingerprint}, this board trusts ${s.keys!.owner.publicKey.fingerprint}`);
    assert.match(page.url(), /\/update(\?cached=1)?$/, "the page stays on UPDATE");
    await screenshots(page, "signed-5-upload-other-key");
    assert.equal(s.twin.flash.chip.counters.sectorsErased, erased, "nothing erased");
    assert.equal(otadata(s), selection, "the boot selection is byte-identical");
    assert.equal(uploads.length, 1);
    assert.ok(uploads[0].length > 100, "the .sig went along, base64");

    await updatePage(page, s);
    await page.locator("#upload-btn:not([disabled])").waitFor();
    await page.setInputFiles("#upload-file", join(s.catalogDir, "demo-1.1.0.bin"));
    await page.setInputFiles("#upload-sig", join(s.catalogDir, "demo-1.1.0.bin.sig"));
    await page.click("#upload-btn");
    await page.waitForURL(/\/progress$/, { timeout: 20_000 });
    await page.waitForFunction(() => /Now running moddable-ota-demo 1\.1\.0/.test(document.getElementById("result")?.textContent ?? ""), undefined, { timeout: 30_000 });
    await screenshots(page, "signed-6-upload-installed");
    assert.equal(s.twin.device.appVersion, "1.1.0");
  });
});

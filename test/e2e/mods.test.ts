// App mods as a person meets them, in real Chromium at 375x667 on the twin
// with the update server on the demo catalog: a mod picked in UPDATE's "App
// mods" installs, the board restarts into it and the home page shows its
// status line; a mod that throws at start is rolled back to the previous one
// and the progress and home pages say why. Refused before any erase, each
// leaving the twin's `xs` partition and both mod slots byte-identical and the
// emulated chip's erase and write counters where they were: a mod built for
// another XS (listed disabled, refused by name, and from the phone refused by
// the board on the archive's head), and on a signed-only board (the signed
// demo) the unsigned mod (listed disabled, stopped in the page, refused by
// the board when sent anyway) and one signed with another key (refused by the
// board from its head with its .sig). Screenshots go to artifacts/screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium, PHONE, screenshots, withStackPage } from "../support/browser";
import type { Stack, StackOptions } from "../support/stack";
import { loadCatalog, startUpdate, waitForStatus } from "../support/portal-client";
import { areaBytes, sha256 } from "../support/twin-mods";
import { mappedMatches } from "../../modules/core/mods/activate";
import { MOD_OTHER_KEY, MOD_UNSIGNED } from "../../twin/demo-signing";
import type { StatusJson } from "../../modules/core/portal/pages-home";

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

const NOT_OWNER = "Not signed by this board's owner";
const OTHER_XS = "Mod built for XS 16.7; this board's firmware has XS 17.7: rebuild it with this firmware's SDK";

/** Quick restarts and verdicts, so a whole install takes a few seconds; a bench board (requirePassword false): installs without a password. */
const withPhone = (options: StackOptions, run: (s: Stack, page: Page) => Promise<void>) =>
  withStackPage(browser, { ...options, twin: { requirePassword: false, boot: { windowMs: 4000, pollMs: 200 }, mods: { windowMs: 3000, pollMs: 100, restartDelayMs: 300 }, ...options.twin } }, PHONE, run);

/** Until no mod verdict is open and the firmware is confirmed. */
const settled = (s: Stack, done: (st: StatusJson) => boolean = () => true) =>
  waitForStatus(s.twin.url, (st) => st.otaState === "valid" && st.update !== "done" && (st.mod === null || st.mod.state === "valid") && done(st), "mod settled", 30_000);

/** The UPDATE page once the catalog (and our server's facts) is in. */
async function updatePage(page: Page, s: Stack, row: string): Promise<void> {
  await page.goto(new URL("/update", s.twin.url).href);
  await page.locator(`input[name=fw][value="${row}"]`).waitFor({ timeout: 20_000 });
}

async function installFromList(page: Page, s: Stack, name: string): Promise<void> {
  await updatePage(page, s, name);
  await page.check(`#mods input[name=fw][value="${name}"]`);
  await page.click("#update-btn");
  await page.waitForURL(/\/progress$/, { timeout: 10_000 });
}

/** What a refusal must leave alone: xs and both slots, byte for byte, and the chip's operation counters. */
function flashSnapshot(s: Stack) {
  const mods = s.twin.flash.mods!;
  return {
    xs: sha256(areaBytes(mods.active)),
    slots: mods.slots.map((slot) => sha256(areaBytes(slot))),
    counters: { ...s.twin.flash.chip.counters },
    boots: s.twin.boots,
  };
}

/** A mod the running twin has confirmed, installed over the portal's JSON API (the browser flow is the first test's). */
async function runningMod(s: Stack, name: string, version: string): Promise<void> {
  assert.equal((await loadCatalog(s.twin.url)).state, "ready");
  const started = await startUpdate(s.twin.url, name);
  assert.equal(started.body.ok, true, started.body.error);
  await settled(s, (st) => st.mod?.version === version);
}

/** POST from the page itself (same origin), as a script other than the portal's could. */
function postFromPage(page: Page, path: string, init: { body: string; headers: Record<string, string> }): Promise<{ status: number; json: { ok: boolean; error?: string } }> {
  return page.evaluate(
    async ({ path, init }) => {
      const r = await fetch(path, { method: "POST", ...init });
      return { status: r.status, json: (await r.json()) as { ok: boolean; error?: string } };
    },
    { path, init },
  );
}

test("a mod from the catalog installs and runs, its status line on the home page; a mod that throws at start is rolled back to it, the reason on the progress and home pages", async () => {
  await withPhone({}, async (s, page) => {
    await page.goto(s.twin.url);
    assert.equal(await page.locator("#mod-none").textContent(), "No app mod is installed.");

    await installFromList(page, s, "hello-1.0.0.xsa");
    await screenshots(page, "mods-1-progress");
    await page.waitForFunction(() => (document.getElementById("result")?.textContent ?? "") === "Now running the app mod hello 1.0.0", undefined, { timeout: 30_000 });
    await screenshots(page, "mods-2-running");
    await settled(s, (st) => st.mod?.version === "1.0.0");
    await page.goto(s.twin.url);
    assert.equal(await page.locator("#mod-name").textContent(), "hello 1.0.0");
    assert.equal(await page.locator("#mod-state").textContent(), "running");
    assert.equal(await page.locator("#mod-status").textContent(), "hello 1.0.0: all good", "the mod's own line, set through the host API");
    assert.equal(await page.locator("#mod-last").textContent(), "hello 1.0.0 passed its start-up check");
    await screenshots(page, "mods-3-home");
    const mods = s.twin.flash.mods!;
    const size = readFileSync(join(s.catalogDir, "hello-1.0.0.xsa")).length;

    await installFromList(page, s, "hello-broken-1.2.0.xsa");
    const reason = "it threw at start-up: Error: hello threw at start";
    await page.waitForFunction(() => (document.getElementById("error")?.textContent ?? "") !== "", undefined, { timeout: 30_000 });
    assert.equal(await page.locator("#error").textContent(), `App mod hello 1.2.0 failed its start-up check and was rolled back: ${reason}`);
    assert.equal(await page.locator("#status").textContent(), "Rolled back");
    await screenshots(page, "mods-4-rolled-back");
    const st = await settled(s, (x) => x.lastModUpdate?.version === "1.2.0");
    assert.deepEqual(st.mod, { name: "hello", version: "1.0.0", state: "valid" });
    assert.deepEqual(st.lastModUpdate, { name: "hello", version: "1.2.0", result: "rolled-back", reason });
    await page.goto(s.twin.url);
    assert.equal(await page.locator("#mod-name").textContent(), "hello 1.0.0");
    assert.equal(await page.locator("#mod-status").textContent(), "hello 1.0.0: all good");
    assert.equal(await page.locator("#mod-last").textContent(), "hello 1.2.0 failed its start-up check and was rolled back; running hello 1.0.0");
    assert.equal(await page.locator("#mod-reason").textContent(), reason);
    assert.equal(await page.locator("#mod-last").getAttribute("class"), "error");
    await screenshots(page, "mods-5-home-rolled-back");
    // xs is hello 1.0.0 again: one of the slots' bytes as XS maps them
    assert.ok([0, 1].some((i) => mappedMatches(mods.active, mods.slots[i], size)), "xs holds the previous mod");
  });
});

test("a mod built for another XS is refused before any erase: listed disabled with the reason, refused by name, and from the phone refused by the board on the archive's head; xs and the slots byte-identical", async () => {
  await withPhone({}, async (s, page) => {
    await runningMod(s, "hello-1.0.0.xsa", "1.0.0");
    const before = flashSnapshot(s);
    const name = "hello-xs16-1.0.0.xsa";

    await updatePage(page, s, name);
    const row = page.locator(`#mods li:has(input[value="${name}"])`);
    assert.equal(await row.locator("input").isDisabled(), true);
    assert.equal(await row.locator(".why").textContent(), OTHER_XS);
    await screenshots(page, "mods-6-other-xs-listed");
    const byName = await postFromPage(page, "/api/update", { body: `fw=${name}`, headers: { "content-type": "application/x-www-form-urlencoded" } });
    assert.deepEqual(byName, { status: 409, json: { ok: false, error: OTHER_XS } });

    await page.locator("#upload-btn:not([disabled])").waitFor();
    await page.setInputFiles("#upload-file", join(s.catalogDir, name));
    await page.click("#upload-btn");
    await page.waitForFunction(() => (document.getElementById("error")?.textContent ?? "") !== "", undefined, { timeout: 20_000 });
    assert.equal(await page.locator("#error").textContent(), OTHER_XS);
    await screenshots(page, "mods-7-other-xs-upload");

    assert.deepEqual(flashSnapshot(s), before, "xs, both slots, erase and write counters, boots: as they were");
    assert.deepEqual((await settled(s)).mod, { name: "hello", version: "1.0.0", state: "valid" });
  });
});

test("signed-only board: the unsigned mod is listed disabled, stopped in the page and refused by the board when sent anyway; another key's mod with its .sig is refused from its head; nothing erased", async () => {
  await withPhone({ signed: true }, async (s, page) => {
    await runningMod(s, "hello-1.0.0.xsa", "1.0.0"); // signed by the owner, its .sig fetched beside it
    const before = flashSnapshot(s);
    const owner = s.keys!.owner.publicKey.fingerprint;
    const otherKey = `${NOT_OWNER}: it is signed with key ${s.keys!.stranger.publicKey.fingerprint}, this board trusts ${owner}`;

    await updatePage(page, s, MOD_UNSIGNED);
    const unsigned = page.locator(`#mods li:has(input[value="${MOD_UNSIGNED}"])`);
    const stranger = page.locator(`#mods li:has(input[value="${MOD_OTHER_KEY}"])`);
    assert.equal(await unsigned.locator("input").isDisabled(), true);
    assert.equal(await unsigned.locator(".why").textContent(), `${NOT_OWNER}: the mod has no signature`);
    assert.equal(await stranger.locator("input").isDisabled(), true);
    assert.equal(await stranger.locator(".why").textContent(), otherKey);
    assert.equal(await page.locator('#mods input[value="hello-1.1.0.xsa"]').isDisabled(), false, "the owner's mods stay selectable");
    await screenshots(page, "mods-8-signed-listed");

    const sent: string[] = [];
    page.on("request", (r) => {
      if (r.url().endsWith("/update/mod")) sent.push(r.headers()["x-firmware-signature"] ?? "");
    });
    await page.locator("#upload-btn:not([disabled])").waitFor();
    await page.setInputFiles("#upload-file", join(s.catalogDir, MOD_UNSIGNED));
    await page.click("#upload-btn");
    await page.waitForFunction(() => (document.getElementById("error")?.textContent ?? "") !== "");
    assert.match((await page.locator("#error").textContent()) ?? "", /only signed/);
    assert.equal(sent.length, 0, "the page sent nothing");
    // Sent anyway (no .sig), as a script could: the board refuses it before its session begins.
    const bytes = Array.from(readFileSync(join(s.catalogDir, MOD_UNSIGNED)));
    const anyway = await page.evaluate(async (body) => {
      const r = await fetch("/update/mod", { method: "POST", body: new Uint8Array(body), headers: { "content-type": "application/octet-stream" } });
      return { status: r.status, json: (await r.json()) as { ok: boolean; error?: string } };
    }, bytes);
    assert.equal(anyway.status, 422);
    assert.ok(anyway.json.error?.startsWith(`${NOT_OWNER}: the mod has no signature`), anyway.json.error);

    assert.deepEqual(sent, [""], "only the script's request reached the board, with no signature");

    await updatePage(page, s, MOD_OTHER_KEY);
    await page.locator("#upload-btn:not([disabled])").waitFor();
    await page.setInputFiles("#upload-file", join(s.catalogDir, MOD_OTHER_KEY));
    await page.setInputFiles("#upload-sig", join(s.catalogDir, `${MOD_OTHER_KEY}.sig`));
    await page.click("#upload-btn");
    await page.waitForFunction((text) => (document.getElementById("error")?.textContent ?? "").startsWith(text), NOT_OWNER, { timeout: 20_000 });
    assert.equal(await page.locator("#error").textContent(), otherKey);
    assert.equal(sent.length, 2, "this one went to the board from the form, with its .sig");
    assert.ok(sent[1].length > 100);
    await screenshots(page, "mods-9-signed-other-key");

    assert.deepEqual(flashSnapshot(s), before, "xs, both slots, erase and write counters, boots: as they were");
    assert.deepEqual((await settled(s)).mod, { name: "hello", version: "1.0.0", state: "valid" });
  });
});

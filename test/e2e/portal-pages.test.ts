// The portal pages' own script in a real browser (Chromium through
// playwright-core): progress polling with one request in flight, surviving
// missed polls, waiting for the restarted device and showing its version; the
// catalog poll; the UPDATE form; layout at 375 px; hostile names staying text.
// The portal runs on loopback over Node's http with fakes at the hardware
// boundary (the whole device is exercised by the twin's e2e tests).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { launchChromium } from "../support/browser";
import type { PortalHandler } from "../../modules/core/updater-api";
import { fakeDevice } from "../fakes/device";
import { OPEN_PORTAL, portalRig, type PortalRig } from "../fakes/portal-client";

interface Harness {
  rig: PortalRig;
  handler: PortalHandler;
  /** Drop every request (device restarting / out of range). */
  down: boolean;
  /** Hold each /api/progress answer this long (ms) to see that the page never overlaps polls. */
  holdProgressMs: number;
  inFlight: number;
  maxInFlight: number;
  polls: string[];
}

let server: Server;
let browser: Browser;
let base = "";
const h: Harness = { rig: portalRig(OPEN_PORTAL), handler: () => ({ status: 500, headers: [], body: "" }), down: false, holdProgressMs: 0, inFlight: 0, maxInFlight: 0, polls: [] };

function reset(): PortalRig {
  const rig = portalRig({ ...OPEN_PORTAL, portalHost: new URL(base).host });
  Object.assign(h, { rig, handler: rig.portal, down: false, holdProgressMs: 0, inFlight: 0, maxInFlight: 0, polls: [] });
  return rig;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of req) text += chunk;
  return text;
}

before(async () => {
  server = createServer(async (req, res) => {
    const body = await readBody(req);
    if (h.down) {
      req.socket.destroy();
      return;
    }
    const target = req.url ?? "/";
    const q = target.indexOf("?");
    const path = q < 0 ? target : target.slice(0, q);
    if (path.startsWith("/api/")) h.polls.push(path);
    const api = path === "/api/progress" || path === "/api/status";
    if (api) h.maxInFlight = Math.max(h.maxInFlight, ++h.inFlight);
    if (path === "/api/progress" && h.holdProgressMs > 0) await new Promise((r) => setTimeout(r, h.holdProgressMs));
    if (api) h.inFlight--;
    const headers = new Map<string, string>();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    const answer = h.handler({ method: req.method ?? "GET", path, query: q < 0 ? "" : target.slice(q + 1), headers, body });
    res.writeHead(answer.status, Object.fromEntries(answer.headers));
    res.end(answer.body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await new Promise((r) => server.close(r));
});

async function phonePage() {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  return { page, context, dialogs };
}

test("progress: polls, keeps the last state through missed polls, waits for the restart, shows the new version", async () => {
  const rig = reset();
  rig.updater.state = { phase: "downloading", target: "fw-2.0.0.bin", received: 256 * 1024, total: 1024 * 1024, rate: 0, resumes: 0 };
  const { page, context } = await phonePage();
  await page.goto(`${base}/progress`);
  assert.equal(await page.getAttribute("#progress", "aria-valuenow"), "25");

  rig.updater.state = { ...rig.updater.state, received: 512 * 1024 };
  await page.waitForFunction(() => document.getElementById("progress")?.getAttribute("aria-valuenow") === "50");
  assert.equal(await page.textContent("#status"), "Downloading: 512 KB of 1 MB (50%)");

  h.holdProgressMs = 2500; // slower than the poll period: a second poll must not start meanwhile
  const before = h.polls.length;
  await new Promise((r) => setTimeout(r, 6000));
  assert.equal(h.maxInFlight, 1, "one poll in flight at a time");
  assert.ok(h.polls.length > before, "still polling");
  h.holdProgressMs = 0;

  h.down = true;
  await page.waitForFunction(() => document.getElementById("status")?.textContent === "Waiting for device…");
  assert.equal(await page.getAttribute("#progress", "aria-valuenow"), "50", "the last state stays on screen");

  h.down = false;
  rig.updater.state = { ...rig.updater.state, phase: "done", received: 1024 * 1024 };
  await page.waitForFunction(() => /successfully updated/.test(document.getElementById("result")?.textContent ?? ""));
  assert.equal(await page.textContent("#result"), "fw-2.0.0.bin successfully updated. Restarting…");
  assert.equal(await page.isVisible("#cancel-form"), false);

  // The device restarts: unreachable for a while, then a new firmware answers.
  h.down = true;
  await page.waitForFunction(() => /restart/.test(document.getElementById("status")?.textContent ?? ""));
  const next = portalRig({ ...OPEN_PORTAL, portalHost: new URL(base).host, device: fakeDevice({ appVersion: "2.0.0", runningPartition: "ota_1" }) });
  h.handler = next.portal;
  h.down = false;
  await page.waitForFunction(() => document.getElementById("version")?.textContent === "2.0.0");
  assert.equal(await page.textContent("#result"), "Now running ota-demo 2.0.0");
  const settled = h.polls.length;
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(h.polls.length, settled, "polling stops once the device is back");
  await context.close();
});

test("progress: a failure shows the error text and stops polling", async () => {
  const rig = reset();
  rig.updater.state = { phase: "downloading", target: "fw.bin", received: 10, total: 100, rate: 0, resumes: 0 };
  const { page, context } = await phonePage();
  await page.goto(`${base}/progress`);
  rig.updater.state = { ...rig.updater.state, phase: "failed", error: "MD5 mismatch: the image is damaged" };
  await page.waitForFunction(() => (document.getElementById("error")?.textContent ?? "") !== "");
  assert.equal(await page.textContent("#error"), "MD5 mismatch: the image is damaged");
  assert.equal(await page.isVisible("#cancel-form"), false);
  assert.equal(await page.getAttribute("#progress", "class"), "bad");
  await context.close();
});

test("progress: a restart between two polls that hides \"done\" still ends at 100 % with the new version", async () => {
  const rig = reset();
  rig.updater.state = { phase: "downloading", target: "fw-2.0.0.bin", received: 950 * 1024, total: 1024 * 1024, rate: 0, resumes: 0 };
  const { page, context } = await phonePage();
  await page.goto(`${base}/progress`);
  assert.equal(await page.getAttribute("#progress", "aria-valuenow"), "92");
  // The device commits and restarts before the page's next poll: the page never sees "done".
  h.handler = portalRig({ ...OPEN_PORTAL, portalHost: new URL(base).host, device: fakeDevice({ appVersion: "2.0.0", runningPartition: "ota_1" }) }).portal;
  await page.waitForFunction(() => document.getElementById("version")?.textContent === "2.0.0");
  assert.equal(await page.getAttribute("#progress", "aria-valuenow"), "100");
  assert.equal(await page.textContent("#result"), "Now running ota-demo 2.0.0");
  assert.equal(await page.textContent("#error"), "");
  await context.close();
});

test("progress: a restart mid-download on the old version is reported as an unfinished update", async () => {
  const rig = reset();
  rig.updater.state = { phase: "downloading", target: "fw-2.0.0.bin", received: 300 * 1024, total: 1024 * 1024, rate: 0, resumes: 0 };
  const { page, context } = await phonePage();
  await page.goto(`${base}/progress`);
  // Power loss: the device comes back on the version it ran before (fakeDevice's default).
  h.handler = portalRig({ ...OPEN_PORTAL, portalHost: new URL(base).host }).portal;
  await page.waitForFunction(() => (document.getElementById("error")?.textContent ?? "") !== "");
  assert.match((await page.textContent("#error")) ?? "", /^The device restarted before the update finished; it still runs ota-demo \S+$/);
  assert.equal(await page.textContent("#result"), "");
  assert.equal(await page.getAttribute("#progress", "aria-valuenow"), "29", "the bar does not claim success");
  assert.equal(await page.getAttribute("#progress", "class"), "bad");
  await context.close();
});

test("UPDATE: the page waits for the catalog, lists it, and the form starts the update", async () => {
  const rig = reset();
  const { page, context, dialogs } = await phonePage();
  await page.goto(`${base}/update`);
  assert.match((await page.textContent("#status")) ?? "", /Loading the catalog/);
  rig.updater.catalogState = {
    state: "ready",
    entries: [
      { name: "<script>alert(1)</script>.bin", date: "11/22/26", time: "10:55:15", size: 2404 },
      { name: "s3.bin", date: "11/22/26", time: "10:55:15", size: 2404, disabled: "Built for ESP32-S3" },
    ],
  };
  await page.waitForURL(`${base}/update?cached=1`);
  assert.equal(await page.locator("input[name=fw]").count(), 2);
  assert.equal(await page.isDisabled("input[name=fw][value='s3.bin']"), true);
  await page.check("input[name=fw]:not([disabled])");
  await page.click("#update-btn");
  await page.waitForURL(`${base}/progress`);
  assert.deepEqual(rig.updater.calls.filter((c) => c.startsWith("start")), ["start <script>alert(1)</script>.bin"]);
  assert.deepEqual(dialogs, [], "a hostile name is just text");
  await context.close();
});

test("Wi-Fi: the page waits for the scan, then a tap on a network fills the form", async () => {
  const rig = reset();
  const { page, context } = await phonePage();
  await page.goto(`${base}/wifi`);
  rig.wifi.finishScans([{ ssid: "Café net", rssi: -50, secure: true }]);
  await page.waitForURL(`${base}/wifi?cached=1`);
  await page.click("a.net");
  assert.equal(await page.inputValue("#ssid"), "Café net");
  await page.fill("#password", "correct horse");
  await page.click("#connect-btn");
  await page.waitForSelector("#message");
  assert.deepEqual(rig.wifi.connects, [{ ssid: "Café net", password: "correct horse" }]);
  await page.waitForFunction(() => /^Connected to/.test(document.getElementById("message")?.textContent ?? ""));
  assert.equal(await page.textContent("#message"), "Connected to Café net as 192.168.1.57.");
  assert.equal(await page.textContent("#station"), "Café net 192.168.1.57");
  await context.close();
});

test("every page fits a 375 px screen without sideways scrolling", async () => {
  const rig = reset();
  rig.updater.catalogState = { state: "ready", entries: [{ name: "a-really-long-firmware-file-name-without-breaks-v1.2.3.bin", date: "11/22/26", time: "10:55:15", size: 1572864 }] };
  rig.updater.state = { phase: "downloading", target: "x.bin", received: 1, total: 2, rate: 0, resumes: 0 };
  const { page, context } = await phonePage();
  for (const path of ["/", "/update?cached=1", "/progress", "/wifi?cached=1", "/password", "/nope"]) {
    await page.goto(`${base}${path}`);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 375, `${path} is ${width} px wide`);
  }
  await context.close();
});

test("with a portal password the browser's credentials open UPDATE", async () => {
  const rig = reset();
  rig.post("/password", { new: "hunter22", confirm: "hunter22" });
  const anonymous = await fetch(`${base}/update`);
  assert.equal(anonymous.status, 401);
  const context = await browser.newContext({ httpCredentials: { username: "admin", password: "hunter22" } });
  const page = await context.newPage();
  const response = await page.goto(`${base}/update?cached=1`);
  assert.equal(response?.status(), 200);
  assert.equal(await page.isVisible("#settings-form"), true);
  await context.close();
});

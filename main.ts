// Device entry: boot -> settings -> access point lifecycle (AP+STA, SSID with a
// MAC suffix; up or not as config.apMode says, modules/core/wifi/ap-lifecycle.ts)
// -> captive DNS -> portal HTTP server -> join the stored network ->
// start-up checks (a new image is confirmed or rolled back, modules/core/boot) ->
// the app mod, if one is installed (a new one is judged like a new image:
// modules/core/mods, docs/architecture.md "Mods").
// Everything engine-neutral lives in modules/core; this file only wires the
// Moddable adapters to it. mcconfig -d -m -p esp32 | lin (see manifest.json).

import config from "mc/config";
import Instrumentation from "instrumentation";
import Timer from "timer";
import platform from "modules/moddable/platform";
import { seedPassword, storedPassword } from "./modules/core/portal/basic-auth";
import { createPortal, newBootId } from "./modules/core/portal/portal";
import { BootPolicy } from "./modules/core/boot/policy";
import { accessPointCheck, portalCheck, stationCheck } from "./modules/core/boot/checks";
import { appChecks } from "./modules/app-checks";
import { measureImage } from "./modules/core/image-measure";
import { MAX_FORM_BODY } from "./modules/core/portal/form";
import type { DeviceInfo } from "./modules/core/ports";
import { createUpdater } from "./modules/core/engine/updater";
import { isActivePhase } from "./modules/core/portal/page-progress";
import { cryptDigest } from "./modules/moddable/crypt-digest";
import { nativeVerifier } from "./modules/moddable/ecdsa-verifier";
import { signaturePolicy } from "./modules/core/signature/policy";
import { signingKeyEntries } from "./modules/core/signature/keys";
import { ModdableHttpClient } from "./modules/moddable/http-client";
import { PortalServer } from "./modules/moddable/http-server";
import { clientIO, serverIO } from "./modules/moddable/network-io";
import { PreferenceStore } from "./modules/moddable/preference-store";
import { TimerClock } from "./modules/moddable/timer-clock";
import { MdnsAnnouncer } from "./modules/moddable/mdns-announce";
import { SntpTime } from "./modules/moddable/sntp-time";
import { announceTxt } from "./modules/core/announce";
import { ModdableWifi } from "./modules/moddable/wifi-control";
import { ModManager } from "./modules/core/mods/mod-boot";
import { ApLifecycle, readApConfig } from "./modules/core/wifi/ap-lifecycle";
import { StationRejoin, readRejoinConfig } from "./modules/core/wifi/station-rejoin";
import { connectHost } from "ota/host";

/** Preference domain (NVS namespace: at most 15 characters). */
const DOMAIN = "ota";

const store = new PreferenceStore(DOMAIN);
const clock = new TimerClock();
const system = { restart: () => platform.restart() };

// config.portalPassword seeds the password once (removing it in the portal sticks).
const seedProblem = seedPassword(store, String(config.portalPassword ?? ""));
if (seedProblem) trace(`config.portalPassword ignored: ${seedProblem}\n`);

const bootControl = platform.bootControl();
// config.signingKeys (docs/signing.md); mcconfig's command-line form (signingKeys=MFkw...) arrives
// as a string (signingKeyEntries). A board that takes only signed images never goes back below
// its secure_version either.
const keyEntries = signingKeyEntries(config.signingKeys);
const policy = new BootPolicy({ boot: bootControl, store, clock, system, log: (line) => trace(`${line}\n`) }, { windowMs: Number(config.startupWindow ?? 60) * 1000, keepSecureVersion: keyEntries.length > 0 });
const runningApp = bootControl.running().app;
// HTTPUpdate's x-ESP32-sketch-size / -md5 (update servers gate on them and answer 304 by them).
const runningReader = platform.runningPartitionReader();
const runningImage = runningReader ? measureImage(runningReader.read, runningReader.size, cryptDigest("MD5")) : undefined;

const macs = platform.macs();
const device: DeviceInfo = {
  // The running image's own esp_app_desc_t, not what this build's config says.
  appName: String(config.appName ?? runningApp?.projectName ?? "ota-device"),
  appVersion: runningApp?.version ?? String(config.appVersion ?? "0.0.0"),
  chipId: platform.chipId(),
  chipRevision: platform.chipRevision(),
  runningPartition: platform.runningPartition(),
  flashSize: platform.flashSize(),
  macs,
  sdkVersion: platform.sdkVersion(),
  // The simulator before its first update runs no image file: size 0, no MD5.
  sketchSize: runningImage?.size ?? 0,
};
if (runningImage) device.sketchMd5 = runningImage.md5;
trace(`running ${device.appVersion} from ${device.runningPartition}: ${device.sketchSize} bytes${runningImage ? `, MD5 ${runningImage.md5}` : ""}\n`);

// Signed updates: any key in config.signingKeys (PEM or one-line base64 SPKI, docs/signing.md)
// makes the board commit only images signed with one of them, for this chip and project,
// with a secure_version not below the running image's.
const signing = signaturePolicy(keyEntries, { chipId: device.chipId, projectName: runningApp?.projectName ?? String(config.appName ?? "ota-device"), secureVersion: runningApp?.secureVersion ?? 0 }, cryptDigest);
if (signing.required) trace(`signed updates only: keys ${signing.keys.map((k) => k.fingerprint).join(", ") || "none usable"}${signing.keyErrors.length ? ` (${signing.keyErrors.join("; ")})` : ""}\n`);

const apSsid = String(config.apSsidPrefix ?? "ota-") + macs.ap.replace(/:/g, "").slice(-6).toUpperCase();
const wifi = new ModdableWifi({ ssid: apSsid, password: String(config.apPassword ?? "") });
wifi.onChange = (message) => trace(`wifi: ${message}\n`);
// config.apMode "fallback" (default) | "always" | "setup", apFallbackAfter and apLinger in seconds (docs/access-point.md).
const apConfig = readApConfig({ apMode: config.apMode, apFallbackAfter: config.apFallbackAfter, apLinger: config.apLinger });
for (const problem of apConfig.problems) trace(`${problem}\n`);
const ap = new ApLifecycle({ wifi, clock, store, log: (line) => trace(`${line}\n`) }, apConfig.options);
wifi.powerOn(); // before any socket, even with the AP down (see ModdableWifi.powerOn)
ap.start();
const apAddress = wifi.status().apAddress;
trace(`access point "${apSsid}" at ${apAddress} (${apConfig.options.mode} mode, ${ap.status().up ? "up" : "down"}), running ${device.runningPartition}\n`);

const dns = platform.startCaptiveDns(() => wifi.status().apAddress);

// The app mod (docs/architecture.md, "Mods"): the same keys and the same verdict
// rules as firmware; firmware and mod installs wait for each other's verdict.
const mods = new ModManager(
  { flash: platform.modFlash(), host: platform.modHost(), store, clock, system, digest: cryptDigest, signatures: { policy: signing, verifier: nativeVerifier }, firmwareBlocked: () => policy.blocked(), log: (line) => trace(`${line}\n`) },
  { windowMs: Number(config.startupWindow ?? 60) * 1000 },
);
// What a mod may ask of this firmware ("ota/host", modules/moddable/mod-api.ts).
connectHost({
  check: (name, poll) => mods.addCheck({ name: `mod: ${name}`, poll }),
  status: (text) => mods.setStatusText(text),
  log: (text) => trace(`mod: ${text}\n`),
});

const ota = platform.createOtaWriter();
const http = new ModdableHttpClient(clientIO, { log: (line) => trace(line) });
const updater = createUpdater({
  http,
  ota,
  digest: cryptDigest,
  clock,
  store,
  device,
  system,
  boot: policy,
  mods,
  signatures: { policy: signing, verifier: nativeVerifier },
  log: (line) => trace(`${line}\n`),
  // config.fleetSecret: check-ins carry board credentials (docs/fleet.md). Their time is the
  // system clock once SNTP has set it, until then what the update server's Date headers told
  // (modules/core/engine/wall-clock.ts).
  ...(config.fleetSecret ? { options: { boardAuth: { secret: String(config.fleetSecret), hostTime: () => Date.now() } } } : {}),
  defaults: {
    host: String(config.updateHost ?? "192.168.4.2"),
    port: Number(config.updatePort ?? 8000),
    path: String(config.updatePath ?? "."),
  },
});

const portalPort = Number(config.portalPort ?? 80);
const portalHost = String(config.portalHost ?? (portalPort === 80 ? apAddress : `${apAddress}:${portalPort}`));
const bootId = newBootId(clock.now());
// Secure by default (docs/production.md): no update until a portal password is set, unless
// config.requirePassword is false (a bench board; the home page then warns).
// mcconfig's command-line form (requirePassword=false) arrives as a string.
const security = { requirePassword: String(config.requirePassword ?? true) !== "false", apHasPassword: String(config.apPassword ?? "") !== "", loopbackIsAp: platform.loopbackIsAp === true };
if (!security.requirePassword) trace("requirePassword is off: updates need no portal password\n");
else if (storedPassword(store) === undefined) trace("no portal password yet: updates are refused until one is set on the access point (/password)\n");
const rejoinConfig = readRejoinConfig(config.wifiRejoin);
if (rejoinConfig.problem) trace(`${rejoinConfig.problem}\n`);
const rejoin = new StationRejoin({ wifi, clock, store, busy: () => isActivePhase(updater.progress().phase), log: (line) => trace(`${line}\n`) }, rejoinConfig.options);
const networksChanged = () => {
  ap.networksChanged();
  rejoin.networksChanged();
};
const portal = createPortal({ updater, boot: policy, device, wifi, store, system, clock, portalHost, bootId, signing, mods, ap, networksChanged, rejoin, security });
// A port already in use is logged and retried by the server; the app goes on meanwhile
// (and the portal start-up check keeps waiting, so a new image that cannot serve is rolled back).
const server = new PortalServer(portal, serverIO, { port: portalPort, maxBody: MAX_FORM_BODY, bodyRouter: portal.bodyRouter, clock, probe: platform.portProbe, log: (line) => trace(line) });

// Announced on the LAN it joins, for `ota discover` (modules/core/announce.ts); not tried where
// mDNS cannot run (the simulator: platform-api.ts mdnsUnavailable).
const announcer = platform.mdnsUnavailable === undefined ? new MdnsAnnouncer(apSsid, portalPort, () => announceTxt(device, storedPassword(store) !== undefined), (line) => trace(line)) : undefined;
if (!announcer) trace(`mdns: not announced: ${String(platform.mdnsUnavailable)}\n`);
// With board credentials, config.sntp (default pool.ntp.org, "" off) sets the system clock
// their times come from (modules/moddable/sntp-time.ts); until it has, or without it, the
// core takes the update server's time. A board without credentials asks no time server.
const sntp = config.fleetSecret ? new SntpTime(String(config.sntp ?? "pool.ntp.org"), (line) => trace(`${line}\n`)) : undefined;
wifi.onChange = (message) => {
  trace(`wifi: ${message}\n`);
  if (message === "gotIP") {
    announcer?.start();
    sntp?.start();
  } else if (message === "disconnect" || message === "lostIP") announcer?.stop();
};

// Joins the most recently used stored network now, and again while the link is gone (a router
// restart): the SDK and ESP-IDF do not (docs/access-point.md). config.wifiRejoin: the first wait (s).
rejoin.start();

// Heap figures while a download runs (config.heapTrace): what the 4 KB
// streaming costs, read from the SDK's instrumentation counters.
if (config.heapTrace) {
  const slots = Instrumentation.map("XS Slot Heap Used");
  const chunks = Instrumentation.map("XS Chunk Heap Used");
  const free = Instrumentation.map("System Free Memory");
  Timer.repeat(() => {
    const p = updater.progress();
    if (p.phase !== "downloading" && p.phase !== "verifying") return;
    trace(`heap: ${p.received}/${p.total} bytes, slots ${Instrumentation.get(slots)}, chunks ${Instrumentation.get(chunks)}, free ${Instrumentation.get(free)}\n`);
  }, Number(config.heapTrace) > 1 ? Number(config.heapTrace) : 1000);
}

// The start-up checks a new image must pass within config.startupWindow seconds
// (default 60): the access point (when its lifecycle wants it up), the portal answering on its own port, the
// station when a network is stored, and the app's own (modules/app-checks.ts).
// A new mod passes the same host checks, plus those it registers itself through
// "ota/host" while it starts.
// Each policy gets its own instances: a check keeps its pass and is stopped by the
// window that polls it.
// The portal check asks over the AP while it is up, else over the station's address (the AP may never
// open in fallback mode); a configured portalHost (the simulator's loopback) is always used.
const ownHost = portalHost.split(":")[0];
const selfHost = () => (config.portalHost || ap.status().up ? ownHost : (wifi.status().stationAddress ?? ownHost));
const hostChecks = () => [accessPointCheck(wifi, ap), portalCheck(http, clock, { host: selfHost, port: portalPort, bootId }), stationCheck(wifi, store), ...appChecks({ wifi, store, clock })];
for (const check of hostChecks()) policy.addCheck(check);
policy.start();
for (const check of hostChecks()) mods.addCheck(check);
// Last, with the portal up: a mod that throws or hangs its checks is rolled back,
// and the portal still answers meanwhile. "restart": a mod copy was made or undone.
trace(`mod: ${mods.start()}\n`);

export default { updater, server, dns, wifi, ap, policy, mods };


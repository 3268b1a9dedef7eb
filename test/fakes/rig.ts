// A whole updater on fakes: one call gives a test (or the portal's tests, or a
// bench) createUpdater() wired to a manual clock, a scripted HTTP client, a
// byte-exact flash, an NVS-limited store and noble digests.
import type { Updater, UpdaterOptions, ServerSettings } from "../../modules/core/updater-api";
import type { DeviceInfo, HttpClient } from "../../modules/core/ports";
import { createUpdater } from "../../modules/core/engine/updater";
import { BootPolicy, type BootPolicyOptions } from "../../modules/core/boot/policy";
import { FakeClock } from "./clock";
import { fakeDevice, FakeSystem } from "./device";
import { nobleDigest } from "./digest";
import { FakeFlash, type FakeFlashOptions } from "./flash";
import { ScriptedHttp, type Route, type ScriptedResponse } from "./http";
import { buildImage } from "./image";
import { MemoryStore } from "./store";
import { nobleVerifier } from "./signature";
import { signaturePolicy, type SignaturePolicy } from "../../modules/core/signature/policy";
import type { ModRig } from "./mod-rig";

export interface RigOptions {
  route: Route | ScriptedResponse[];
  /** OTA slot size; default 1 MB. */
  slotSize?: number;
  fail?: FakeFlashOptions["fail"];
  device?: Partial<DeviceInfo>;
  options?: UpdaterOptions;
  defaults?: ServerSettings;
  store?: MemoryStore;
  /** Flash set-up beyond the defaults (running state, an image in the other slot). */
  flash?: Partial<Pick<FakeFlashOptions, "runningState" | "otherImage" | "runningImage">>;
  boot?: BootPolicyOptions;
  /** Signing keys (config form), as manifest config.signingKeys: any key makes the board take only signed images. */
  signingKeys?: string[];
  /** The updater's device log. */
  log?: (line: string) => void;
  /** A board that hosts mods: the updater gets this rig's (booted) ModManager, and shares its store, clock and system. */
  mods?: ModRig;
  /** What the updater gets instead of `http` itself (an adapter's timing the script cannot play: a synchronous or late callback). */
  wrapHttp?: (http: ScriptedHttp) => HttpClient;
}

export interface Rig {
  updater: Updater;
  http: ScriptedHttp;
  clock: FakeClock;
  flash: FakeFlash;
  store: MemoryStore;
  system: FakeSystem;
  device: DeviceInfo;
  /** The boot policy the updater reports to (started, as at boot). */
  boot: BootPolicy;
  /** The signature policy, built as main.ts builds it (from the running image's descriptor). */
  signing: SignaturePolicy;
  /** Lets the HTTP playback run to its end (or to a stall). */
  settle(): Promise<void>;
}

export const TEST_SERVER: ServerSettings = { host: "192.168.4.2", port: 8000, path: "." };

export function createRig(o: RigOptions): Rig {
  const clock = o.mods?.clock ?? new FakeClock();
  const http = new ScriptedHttp(o.route);
  const flash = new FakeFlash({ slotSize: o.slotSize ?? 1024 * 1024, runningImage: buildImage({ size: 8192, seed: 99, version: "1.0.0" }), fail: o.fail, ...o.flash });
  const store = o.store ?? o.mods?.store ?? new MemoryStore();
  const system = o.mods?.system ?? new FakeSystem();
  const boot = new BootPolicy({ boot: flash.boot, store, clock, system }, { keepSecureVersion: (o.signingKeys?.length ?? 0) > 0, ...o.boot });
  boot.start();
  const device = fakeDevice(o.device);
  const app = flash.boot.running().app;
  const signing = signaturePolicy(o.signingKeys ?? [], { chipId: device.chipId, projectName: app?.projectName ?? device.appName, secureVersion: app?.secureVersion ?? 0 }, nobleDigest);
  const updater = createUpdater({
    http: o.wrapHttp ? o.wrapHttp(http) : http,
    ota: flash.writer,
    digest: nobleDigest,
    clock,
    store,
    device,
    system,
    boot,
    defaults: o.defaults ?? TEST_SERVER,
    options: o.options,
    signatures: { policy: signing, verifier: nobleVerifier },
    log: o.log,
    mods: o.mods?.mods,
  });
  return { updater, http, clock, flash, store, system, device, boot, signing, settle: () => http.settle() };
}

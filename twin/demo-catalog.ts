// The demo catalog: well-formed ESP32 app images built with tools/esp-image.ts
// (format sources are cited there: ESP-IDF esp_app_format.h / esp_app_desc.h and
// esptool's bin_image.py). Three ESP32 versions, one that installs but fails its
// start-up check on the twin (its code segment carries the "no-wifi" behaviour
// tag: it never brings the station up, so it is rolled back), one built with
// another Moddable SDK (XS 16.7: the app mod installed for 17.7 is disabled
// when it boots), one ESP32-S3 build the twin must refuse, and one image larger
// than an OTA slot. Beside them the demo app mods (.xsa, tools/xs-archive.ts):
// "hello" in good versions, one whose start throws, one whose start-up check
// fails, and one built for XS 16.7.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { XsVersion } from "../modules/core/mods/archive";
import { buildImage } from "../tools/esp-image";
import { demoMod, XS_8_2_3 } from "../tools/xs-archive";
import { behaviourTag } from "./flash/app-image";
import { DEMO_TABLE } from "./flash/partition-table";

export interface DemoFirmware {
  name: string;
  version: string;
  chip: string;
  size: number;
  /** Why the twin must refuse it, for docs and tests (the signature ones only in the signed demo, demo-signing.ts). */
  refusal?: "chip" | "size" | "unsigned" | "other-key" | "tampered";
  /** What it does once installed on the twin (twin/flash/app-image.ts AppInfo.behaviour). */
  behaviour?: "no-wifi" | "crash";
  /** Built with another XS than the twin's default (Moddable 8.2.3's 17.7.0). */
  xs?: XsVersion;
}

/** An older SDK's XS: what demo-xs16-2.2.0.bin runs and hello-xs16-1.0.0.xsa was built for. */
export const XS_16_7: XsVersion = { major: 16, minor: 7, patch: 0 };

export const PROJECT = "moddable-ota-demo";

/** Size of one OTA slot of the twin's table: "too large" means larger than this. */
export const SLOT_SIZE = DEMO_TABLE.find((p) => p.label === "ota_1")!.size;

/**
 * The catalog. `scale` shrinks the installable images (tests use small ones so a
 * browser run stays quick); the too-large image always exceeds a slot.
 */
export function demoFirmwares(scale = 1): DemoFirmware[] {
  const kb = (n: number) => Math.round(n * 1024 * scale);
  return [
    { name: "demo-1.0.0.bin", version: "1.0.0", chip: "ESP32", size: kb(880) },
    { name: "demo-1.1.0.bin", version: "1.1.0", chip: "ESP32", size: kb(912) },
    { name: "demo-2.0.0.bin", version: "2.0.0", chip: "ESP32", size: kb(1180) },
    { name: "demo-broken-2.1.0.bin", version: "2.1.0", chip: "ESP32", size: kb(1000), behaviour: "no-wifi" },
    { name: "demo-xs16-2.2.0.bin", version: "2.2.0", chip: "ESP32", size: kb(940), xs: XS_16_7 },
    { name: "demo-s3-2.0.0.bin", version: "2.0.0", chip: "ESP32-S3", size: kb(960), refusal: "chip" },
    { name: "demo-big-3.0.0.bin", version: "3.0.0", chip: "ESP32", size: SLOT_SIZE + 128 * 1024, refusal: "size" },
  ];
}

export function demoImage(f: DemoFirmware): Uint8Array {
  return buildImage({ chip: f.chip, version: f.version, projectName: PROJECT, size: f.size, behaviour: behaviourTag(f.behaviour ? [f.behaviour] : [], f.xs) });
}

export interface DemoModFile {
  /** File name in the catalog. */
  file: string;
  /** ota-mod.json name and version. */
  name: string;
  version: string;
  /** Its VERS. Default Moddable 8.2.3's XS. */
  xs: XsVersion;
  /** What it does on the twin (tools/demo-mod-run.ts). */
  twin?: "throw" | "fail-check" | "crash";
  /** Its status line on the home page. */
  status?: string;
  /** Why a twin with the default firmware refuses it before any erase (the signature ones only in the signed demo). */
  refusal?: "xs" | "unsigned" | "other-key";
  size: number;
}

/** The demo app mods: a few KB each, as a real mod is. */
export function demoMods(): DemoModFile[] {
  const mod = (file: string, version: string, extra: Partial<DemoModFile> = {}): DemoModFile => ({ file, name: "hello", version, xs: XS_8_2_3, size: 0, ...extra });
  return [
    mod("hello-1.0.0.xsa", "1.0.0", { status: "hello 1.0.0: all good" }),
    mod("hello-1.1.0.xsa", "1.1.0", { status: "hello 1.1.0: all good" }),
    mod("hello-broken-1.2.0.xsa", "1.2.0", { twin: "throw" }),
    mod("hello-failcheck-1.3.0.xsa", "1.3.0", { twin: "fail-check", status: "hello 1.3.0: looking for its sensor" }),
    mod("hello-xs16-1.0.0.xsa", "1.0.0", { xs: XS_16_7, status: "hello 1.0.0 (XS 16.7): all good", refusal: "xs" }),
  ];
}

/** The archive's bytes (the code size differs per version, so a mod spans one to three 4 KB sectors). */
export function demoModBytes(m: DemoModFile): Uint8Array {
  const codeSize = 3000 + 2500 * (Number.parseInt(m.version.split(".")[1] ?? "0", 10) % 3);
  return demoMod(m.name, m.version, { xs: m.xs, codeSize, ...(m.twin ? { twin: m.twin } : {}), ...(m.status ? { status: m.status } : {}) });
}

/** Writes the demo mods into `dir` (created if needed); returns what it wrote. */
export function writeDemoMods(dir: string): DemoModFile[] {
  mkdirSync(dir, { recursive: true });
  const mods = demoMods();
  for (const m of mods) {
    const bytes = demoModBytes(m);
    writeFileSync(join(dir, m.file), bytes);
    m.size = bytes.length;
  }
  return mods;
}

/** Writes the catalog's images (and the demo mods, writeDemoMods) into `dir` (created if needed); returns the images it wrote. */
export function writeDemoCatalog(dir: string, scale = 1): DemoFirmware[] {
  writeDemoMods(dir);
  const firmwares = demoFirmwares(scale);
  for (const f of firmwares) {
    const image = demoImage(f);
    writeFileSync(join(dir, f.name), image);
    f.size = image.length;
  }
  return firmwares;
}

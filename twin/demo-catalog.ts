// The demo catalog: well-formed ESP32 app images built with tools/esp-image.ts
// (format sources are cited there: ESP-IDF esp_app_format.h / esp_app_desc.h and
// esptool's bin_image.py). Three ESP32 versions, one that installs but fails its
// start-up check on the twin (its code segment carries the "no-wifi" behaviour
// tag: it never brings the station up, so it is rolled back), one ESP32-S3
// build the twin must refuse, and one image larger than an OTA slot.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildImage } from "../tools/esp-image";
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
}

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
    { name: "demo-s3-2.0.0.bin", version: "2.0.0", chip: "ESP32-S3", size: kb(960), refusal: "chip" },
    { name: "demo-big-3.0.0.bin", version: "3.0.0", chip: "ESP32", size: SLOT_SIZE + 128 * 1024, refusal: "size" },
  ];
}

export function demoImage(f: DemoFirmware): Uint8Array {
  return buildImage({ chip: f.chip, version: f.version, projectName: PROJECT, size: f.size, behaviour: f.behaviour });
}

/** Writes the catalog's images into `dir` (created if needed); returns what it wrote. */
export function writeDemoCatalog(dir: string, scale = 1): DemoFirmware[] {
  mkdirSync(dir, { recursive: true });
  const firmwares = demoFirmwares(scale);
  for (const f of firmwares) {
    const image = demoImage(f);
    writeFileSync(join(dir, f.name), image);
    f.size = image.length;
  }
  return firmwares;
}

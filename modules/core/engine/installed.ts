// What is installed: which catalog entries are the image the board runs now.
// An entry is that image when its MD5 is the running image's (the server
// gives one once it has hashed the file), or when its esp_app_desc_t version
// and project name both are. MD5 alone may miss: the board hashes the image
// up to its end (image-measure.ts), the server the whole file, which can
// carry bytes after it (a signature block); so a differing MD5 does not rule
// an entry out. A version alone is not enough: another project can be 1.0.0 too.
import type { DeviceInfo, SlotInfo } from "../ports";
import type { CatalogEntry } from "../updater-api";

export interface RunningImage {
  version?: string;
  projectName?: string;
  /** Lowercase hex. */
  md5?: string;
}

/** The running image as the board knows it: its slot's app descriptor, and the MD5 measured at boot. */
export function runningImage(device: DeviceInfo, running: SlotInfo): RunningImage {
  const image: RunningImage = { version: running.app?.version ?? device.appVersion };
  if (running.app && running.app.projectName !== "") image.projectName = running.app.projectName;
  if (device.sketchMd5) image.md5 = device.sketchMd5.toLowerCase();
  return image;
}

export function isRunningImage(entry: CatalogEntry, running: RunningImage): boolean {
  if (entry.md5 !== undefined && running.md5 !== undefined && entry.md5.toLowerCase() === running.md5) return true;
  return entry.version !== undefined && entry.projectName !== undefined && entry.version === running.version && entry.projectName === running.projectName;
}

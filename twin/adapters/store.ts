// KeyValueStore in a JSON file beside the flash file, refusing what ESP32 NVS
// (Moddable `preference`) refuses: keys over 15 characters, values over 4000
// bytes. Written through on every change (temp file + rename), so a restart of
// the demo keeps the portal's settings like NVS keeps them across resets.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { KeyValueStore } from "../../modules/core/ports";

export const NVS_MAX_KEY = 15;
export const NVS_MAX_VALUE = 4000;

export class JsonFileStore implements KeyValueStore {
  private data: Record<string, string> = {};
  /** The board is resetting: writes of the old firmware no longer reach NVS. */
  frozen = false;
  /** Called before each set or delete reaches the file (a power cut armed on NVS writes sets `frozen` here). */
  beforeWrite: ((key: string) => void) | undefined;

  constructor(readonly path: string) {
    this.reload();
  }

  /** What NVS holds after a reset: the file, whatever the old firmware did in memory. */
  reload(): void {
    this.data = existsSync(this.path) ? (JSON.parse(readFileSync(this.path, "utf8")) as Record<string, string>) : {};
    this.frozen = false;
  }

  private static checkKey(key: string): void {
    if (key.length === 0 || key.length > NVS_MAX_KEY) throw new Error(`NVS key "${key}" must be 1..${NVS_MAX_KEY} characters`);
  }

  get(key: string): string | undefined {
    JsonFileStore.checkKey(key);
    return Object.hasOwn(this.data, key) ? this.data[key] : undefined;
  }

  set(key: string, value: string): void {
    JsonFileStore.checkKey(key);
    if (Buffer.byteLength(value, "utf8") > NVS_MAX_VALUE) throw new Error(`NVS value for "${key}" is over ${NVS_MAX_VALUE} bytes`);
    this.beforeWrite?.(key);
    this.data[key] = value;
    this.save();
  }

  delete(key: string): void {
    JsonFileStore.checkKey(key);
    if (!Object.hasOwn(this.data, key)) return;
    this.beforeWrite?.(key);
    delete this.data[key];
    this.save();
  }

  private save(): void {
    if (this.frozen) return;
    const temp = `${this.path}.tmp`;
    writeFileSync(temp, JSON.stringify(this.data, null, 1));
    renameSync(temp, this.path);
  }
}

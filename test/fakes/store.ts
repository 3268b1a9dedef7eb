// A KeyValueStore in memory that refuses what ESP32 NVS (the Moddable
// `preference` module) refuses: keys over 15 characters, values over 4000 bytes.
import type { KeyValueStore } from "../../modules/core/ports";
import { utf8Encode } from "../../modules/core/bytes";

export const NVS_MAX_KEY = 15;
export const NVS_MAX_VALUE = 4000;

export class MemoryStore implements KeyValueStore {
  readonly data = new Map<string, string>();

  constructor(initial?: Record<string, string>) {
    if (initial) for (const k in initial) this.set(k, initial[k]);
  }

  get(key: string): string | undefined {
    this.checkKey(key);
    return this.data.get(key);
  }

  set(key: string, value: string): void {
    this.checkKey(key);
    if (utf8Encode(value).length > NVS_MAX_VALUE) throw new Error(`NVS value for "${key}" is over ${NVS_MAX_VALUE} bytes`);
    this.data.set(key, value);
  }

  delete(key: string): void {
    this.checkKey(key);
    this.data.delete(key);
  }

  private checkKey(key: string): void {
    if (key.length === 0 || key.length > NVS_MAX_KEY) throw new Error(`NVS key "${key}" must be 1 to ${NVS_MAX_KEY} characters`);
  }
}

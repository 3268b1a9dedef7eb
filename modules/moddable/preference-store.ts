// KeyValueStore over `preference` (NVS on esp32, a JSON file under /tmp on lin).
// NVS refuses keys over 15 characters and blobs over 4000 bytes; check here so
// the caller gets a clear message instead of an "nvs_set fail".

import Preference from "preference";
import { utf8Encode } from "../core/bytes";
import type { KeyValueStore } from "../core/ports";

export const MAX_NAME = 15;
export const MAX_VALUE_BYTES = 4000;

export class PreferenceStore implements KeyValueStore {
  #domain: string;

  constructor(domain: string) {
    checkName("domain", domain);
    this.#domain = domain;
  }

  get(key: string): string | undefined {
    checkName("key", key);
    const value = Preference.get(this.#domain, key);
    return typeof value === "string" ? value : undefined;
  }

  set(key: string, value: string): void {
    checkName("key", key);
    const size = utf8Encode(value).byteLength;
    if (size > MAX_VALUE_BYTES) throw new RangeError(`setting "${key}" is ${size} bytes; the limit is ${MAX_VALUE_BYTES}`);
    Preference.set(this.#domain, key, value);
  }

  delete(key: string): void {
    checkName("key", key);
    Preference.delete(this.#domain, key);
  }
}

function checkName(what: string, name: string): void {
  if (name.length === 0 || name.length > MAX_NAME) throw new RangeError(`preference ${what} "${name}" must be 1 to ${MAX_NAME} characters`);
}

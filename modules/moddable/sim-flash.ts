// The simulator's stand-in for the OTA slots, otadata and the bootloader's
// rollback (the lin build has no flash): files under the ECMA-419 files root
// (manifest config "files", /tmp) play ota_0/ota_1, and "ota-sim-otadata"
// holds the boot slot and each slot's esp_ota_img_states_t as JSON. boot()
// does at app start what bootloader_utility.c does at a reset: a still
// pending image becomes aborted and the other slot runs; a new one becomes
// pending-verify. The simulator cannot really restart, so a restart only
// changes what the next launch runs.
import { files } from "./files-root";
import type { BootControl, OtaImageState, SlotApp, SlotInfo } from "../core/ports";
import { APP_DESC_OFFSET, APP_DESC_SIZE, IMAGE_MAGIC, parseAppDescriptor } from "../core/image";
import { utf8Decode, utf8Encode } from "../core/bytes";

export const SLOTS = ["ota_0", "ota_1"];

interface Otadata {
  boot: string;
  states: Record<string, OtaImageState>;
}

export class SimFlash {
  #prefix: string;
  #builtIn: SlotApp;

  /** prefix: file name prefix under the files root ("ota-sim-"); builtIn: what ota_0 runs before any update (the app as built). */
  constructor(prefix: string, builtIn: SlotApp) {
    this.#prefix = prefix;
    this.#builtIn = builtIn;
  }

  slotFile(label: string): string {
    return `${this.#prefix}${label}.bin`;
  }

  exists(path: string): boolean {
    try {
      return files.status(path).isFile();
    } catch {
      return false;
    }
  }

  remove(path: string): void {
    if (this.exists(path)) files.delete(path);
  }

  otadata(): Otadata {
    const path = `${this.#prefix}otadata`;
    const fallback: Otadata = { boot: SLOTS[0], states: { [SLOTS[0]]: "valid" } };
    if (!this.exists(path)) return fallback;
    const file = files.openFile({ path });
    try {
      const bytes = new Uint8Array(file.status().size);
      file.read(bytes, 0);
      const parsed: unknown = JSON.parse(utf8Decode(bytes));
      const data = parsed as Partial<Otadata>;
      return typeof data.boot === "string" && SLOTS.includes(data.boot) && data.states && typeof data.states === "object" ? { boot: data.boot, states: data.states } : fallback;
    } catch {
      return fallback;
    } finally {
      file.close();
    }
  }

  writeOtadata(data: Otadata): void {
    const bytes = utf8Encode(JSON.stringify(data));
    this.remove(`${this.#prefix}otadata`); // "w" truncates, but a shorter record must not keep a longer one's tail on any host
    const file = files.openFile({ path: `${this.#prefix}otadata`, mode: "w" });
    try {
      file.write(bytes, 0);
    } finally {
      file.close();
    }
  }

  running(): string {
    return this.otadata().boot;
  }

  next(): string {
    return this.running() === SLOTS[0] ? SLOTS[1] : SLOTS[0];
  }

  /** The bootloader's step at a reset (bootloader_utility_get_selected_boot_partition with rollback). */
  boot(): void {
    const data = this.otadata();
    for (const label of SLOTS) if (data.states[label] === "pending-verify") data.states[label] = "aborted";
    const state = data.states[data.boot];
    if (state === "aborted" || state === "invalid") data.boot = data.boot === SLOTS[0] ? SLOTS[1] : SLOTS[0];
    if (data.states[data.boot] === "new") data.states[data.boot] = "pending-verify";
    this.writeOtadata(data);
  }

  /** esp_ota_set_boot_partition: the next launch runs `label`, first as "new". */
  setBoot(label: string): void {
    const data = this.otadata();
    data.boot = label;
    data.states[label] = "new";
    this.writeOtadata(data);
  }

  setState(label: string, state: OtaImageState): void {
    const data = this.otadata();
    data.states[label] = state;
    this.writeOtadata(data);
  }

  /** Reads a slot's file (what the running image is measured with); undefined when the slot has no file. */
  reader(label: string): { size: number; read: (offset: number, into: Uint8Array) => void } | undefined {
    const path = this.slotFile(label);
    if (!this.exists(path)) return undefined;
    return {
      size: files.status(path).size,
      read: (offset, into) => {
        const file = files.openFile({ path });
        try {
          into.fill(0xff); // past the end of the file reads as erased flash
          file.read(into, offset);
        } finally {
          file.close();
        }
      },
    };
  }

  /** The slot's app descriptor: from its file, or the built-in app for ota_0 until an update erases it. */
  app(label: string): SlotApp | undefined {
    const path = this.slotFile(label);
    if (!this.exists(path)) return label === SLOTS[0] && this.otadata().states[label] !== "undefined" ? this.#builtIn : undefined;
    const file = files.openFile({ path });
    try {
      const head = new Uint8Array(APP_DESC_OFFSET + APP_DESC_SIZE);
      const read = file.read(head, 0);
      if (read < head.length || head[0] !== IMAGE_MAGIC) return undefined;
      const d = parseAppDescriptor(head);
      return d ? { version: d.version, projectName: d.projectName, secureVersion: d.secureVersion } : undefined;
    } finally {
      file.close();
    }
  }

  slot(label: string): SlotInfo {
    const state = this.otadata().states[label] ?? "undefined";
    const info: SlotInfo = { partition: label, state, bootable: false };
    const app = this.app(label);
    if (app) info.app = app;
    info.bootable = app !== undefined && state !== "invalid" && state !== "aborted";
    return info;
  }
}

/** BootControl over SimFlash; `restart` is the platform's (a trace in the simulator). */
export class SimBootControl implements BootControl {
  #flash: SimFlash;
  #restart: () => void;

  constructor(flash: SimFlash, restart: () => void) {
    this.#flash = flash;
    this.#restart = restart;
  }

  running(): SlotInfo {
    const info = this.#flash.slot(this.#flash.running());
    info.bootable = true;
    return info;
  }

  other(): SlotInfo {
    return this.#flash.slot(this.#flash.next());
  }

  markValid(): void {
    this.#flash.setState(this.#flash.running(), "valid");
  }

  markInvalidAndRestart(): void {
    if (!this.other().bootable) throw new Error("Rollback is not possible, do not have any suitable apps in slots (ESP_ERR_OTA_ROLLBACK_FAILED)");
    const running = this.#flash.running();
    this.#flash.setState(running, "invalid");
    const data = this.#flash.otadata();
    data.boot = this.#flash.next();
    this.#flash.writeOtadata(data);
    this.#restart();
  }

  bootOther(): void {
    if (!this.other().app) throw new Error("image does not verify (ESP_ERR_OTA_VALIDATE_FAILED)");
    this.#flash.setBoot(this.#flash.next());
  }
}

// The ModHost port on the twin: what the firmware's Moddable `Modules` and XS
// do with a mod, over the emulated `xs` partition. The twin cannot run XS byte
// code, so:
// - createVm() is VM creation: fxMapArchive over `xs` (tools/xs-mapper.ts:
//   VERS checked against the firmware's XS, XS_E written on refusal, ids
//   remapped in place through sector erases and writes, which an armed power
//   cut stops half done);
// - start() runs the mapped mod as its ota-mod.json says
//   (tools/demo-mod-run.ts), through the host API a mod imports ("ota/host":
//   addCheck, status, log): a throw is start()'s error text, a "crash" resets
//   the twin before any verdict (start() then throws ModReset: nothing of that
//   boot runs on).
// The firmware's XS is Moddable 8.2.3's unless its image says otherwise
// (TWIN-BEHAVIOUR "xs=16.7.0", twin/flash/app-image.ts firmwareXs); its symbol
// ids are numbered from the image's MD5, so every firmware update remaps an
// installed mod, as another build of the host does on a board.
import type { FlashArea, ModHost } from "../../modules/core/ports";
import type { StartupCheck } from "../../modules/core/boot/checks";
import type { XsVersion } from "../../modules/core/mods/archive";
import { mapArchive, readModInfo, type MapResult } from "../../tools/xs-mapper";
import { runDemoMod } from "../../tools/demo-mod-run";

/** Longest status line kept (the home page shows it on one line). */
export const MAX_MOD_STATUS = 80;

/** The mod reset the twin inside start(): the boot stops there. */
export class ModReset extends Error {
  override name = "ModReset";
}

export interface TwinModHostOptions {
  /** The firmware's XS version (what VERS must match). */
  xs: XsVersion;
  /** Numbers the firmware's symbol ids (xs-mapper hostId). */
  seed: number;
  /** Resets the twin (a mod crashed it). */
  reset: (why: string) => void;
  log?: (line: string) => void;
}

export class TwinModHost implements ModHost {
  readonly xs: XsVersion;
  readonly seed: number;
  /** What VM creation did with `xs`. */
  result: MapResult | undefined;
  /** Where the mod's own start-up checks go: ModManager.addCheck (set once the manager exists). */
  addCheck: ((check: StartupCheck) => void) | undefined;
  /** The status line the started mod set (host API status()). */
  statusLine: string | undefined;
  /** Where that line goes for the portal's home page: ModManager.setStatusText (set once the manager exists). */
  onStatus: ((text: string) => void) | undefined;
  /** "name@version" of the mod started this boot. */
  started: string | undefined;

  constructor(
    private readonly area: FlashArea,
    private readonly options: TwinModHostOptions,
  ) {
    this.xs = options.xs;
    this.seed = options.seed;
  }

  /** VM creation: fxMapArchive over `xs`. Throws PowerLoss when the power goes meanwhile. */
  createVm(): MapResult {
    this.result = mapArchive(this.area, { xs: this.xs, seed: this.seed });
    return this.result;
  }

  mapped(): boolean {
    return this.result?.mapped === true;
  }

  start(): string | undefined {
    if (!this.mapped()) return "no mod is mapped";
    // A mod without ota-mod.json (the core takes one: it is then named after its archive) just starts.
    const info = readModInfo(this.area) ?? {};
    const label = typeof info.name === "string" ? `${info.name}@${String(info.version)}` : "mod";
    this.started = label;
    const ended = runDemoMod(info, {
      addCheck: (name, poll) => {
        if (!this.addCheck) throw new Error("ota/host: no host to take the check");
        this.addCheck({ name: String(name), poll });
      },
      status: (text) => {
        this.statusLine = String(text).slice(0, MAX_MOD_STATUS);
        this.onStatus?.(String(text));
      },
      log: (text) => this.options.log?.(`mod ${label}: ${text}`),
    });
    if (ended && "reset" in ended) {
      this.options.reset(ended.reset);
      throw new ModReset(ended.reset);
    }
    return ended?.threw;
  }
}

/** The first 32 bits of the firmware image's MD5: its build's symbol numbering (another image, other ids). */
export function firmwareSeed(md5: string): number {
  return Number.parseInt(md5.slice(0, 8), 16) >>> 0;
}

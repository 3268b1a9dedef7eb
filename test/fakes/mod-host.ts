// A ModHost over a fake `xs` partition: createVm() is what the host's XS does
// at VM creation (tools/xs-mapper.ts mapArchive: check, XS_E on refusal, remap
// through sector erase + write, so a power cut can stop it half done), and
// start() does what the mapped mod's ota-mod.json "twin" field says:
//   absent: starts fine;  "throw": its entry throws;  "fail-check": it registers
//   a start-up check that fails;  "wait-check": one that never passes;
//   "crash": the board resets inside start() (BoardReset is thrown through).
// Engine-neutral (Node and XS).
import type { FlashArea, ModHost } from "../../modules/core/ports";
import type { StartupCheck } from "../../modules/core/boot/checks";
import type { XsVersion } from "../../modules/core/mods/archive";
import { mapArchive, readModInfo, type MapResult } from "../../tools/xs-mapper";
import { XS_8_2_3 } from "../../tools/xs-archive";

/** The board reset inside the mod (a crash, a watchdog): the test reboots it. */
export class BoardReset extends Error {
  override name = "BoardReset";
}

export interface FakeModHostOptions {
  xs?: XsVersion;
  /** Numbers the host's symbols: another seed is another firmware build. */
  seed?: number;
}

export class FakeModHost implements ModHost {
  readonly xs: XsVersion;
  readonly seed: number;
  /** What createVm() found. */
  result: MapResult | undefined;
  /** Where a mod's own start-up checks go (the host API a mod calls): set to ModManager.addCheck. */
  registerCheck: ((check: StartupCheck) => void) | undefined;
  /** The mods started, "name@version". */
  readonly started: string[] = [];

  constructor(
    private readonly area: FlashArea,
    options: FakeModHostOptions = {},
  ) {
    this.xs = options.xs ?? XS_8_2_3;
    this.seed = options.seed ?? 1;
  }

  /** VM creation: fxMapArchive over `xs`. Throws PowerCut when the power goes meanwhile. */
  createVm(): MapResult {
    this.result = undefined;
    this.result = mapArchive(this.area, { xs: this.xs, seed: this.seed });
    return this.result;
  }

  mapped(): boolean {
    return this.result?.mapped === true;
  }

  start(): string | undefined {
    if (!this.mapped()) return "no mod is mapped";
    const info = readModInfo(this.area) ?? {};
    this.started.push(`${String(info.name)}@${String(info.version)}`);
    switch (info.twin) {
      case "throw":
        return `Error: ${String(info.name)} threw at start`;
      case "crash":
        throw new BoardReset(`${String(info.name)} reset the board`);
      case "fail-check":
        this.registerCheck?.({ name: `${String(info.name)} sensor`, poll: () => ({ fail: "sensor not found" }) });
        return undefined;
      case "wait-check":
        this.registerCheck?.({ name: `${String(info.name)} cloud`, poll: () => ({ wait: "not reached" }) });
        return undefined;
      default:
        return undefined;
    }
  }
}

// A ModHost over a fake `xs` partition: createVm() is what the host's XS does
// at VM creation (tools/xs-mapper.ts mapArchive: check, XS_E on refusal, remap
// through sector erase + write, so a power cut can stop it half done), and
// start() runs the mapped mod as its ota-mod.json says (tools/demo-mod-run.ts:
// "throw", "fail-check", "wait-check", "crash" (BoardReset is thrown through),
// "status"); its checks go to registerCheck (set to ModManager.addCheck).
// Engine-neutral (Node and XS).
import type { FlashArea, ModHost } from "../../modules/core/ports";
import type { StartupCheck } from "../../modules/core/boot/checks";
import type { XsVersion } from "../../modules/core/mods/archive";
import { mapArchive, readModInfo, type MapResult } from "../../tools/xs-mapper";
import { runDemoMod } from "../../tools/demo-mod-run";
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
  /** The status line the last started mod set. */
  statusLine: string | undefined;
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
    const ended = runDemoMod(info, {
      addCheck: (name, poll) => this.registerCheck?.({ name, poll }),
      status: (text) => (this.statusLine = text),
      log: () => {},
    });
    if (ended && "reset" in ended) throw new BoardReset(ended.reset);
    return ended?.threw;
  }
}

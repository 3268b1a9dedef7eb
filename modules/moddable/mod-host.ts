// ModHost over the SDK's Modules (modules/base/modules/modules.js + modules.c)
// and xs-mods (xs-mods.c: the host's XS version, whether XS mapped a mod).
//
// The convention a mod follows to be run by this host: its entry module is
// named "mod" (mcrun names a module after its file: mods/hello/mod.ts), and
// importing it starts the mod; mcrun's generated "check" module, when the mod
// has one, is a function that throws when the mod does not fit this host
// (pixel format, rotation: documentation/xs/mods.md, "Checking Compatibility
// at Runtime") and is called first. A mod registers its start-up checks, its
// status line and its log through "ota/host" (modules/moddable/mod-api.ts).
import Modules from "modules";
import { archiveMapped, xsVersion } from "xs-mods";
import type { ModHost } from "../core/ports";

/** The mod's entry module (see above). */
export const MOD_ENTRY = "mod";
/** mcrun's compatibility check module. */
export const MOD_CHECK = "check";

export class ModdableModHost implements ModHost {
  readonly xs: { major: number; minor: number; patch: number };

  constructor() {
    const [major, minor, patch] = xsVersion();
    this.xs = { major, minor, patch };
  }

  mapped(): boolean {
    return archiveMapped();
  }

  start(): string | undefined {
    try {
      if (Modules.has(MOD_CHECK)) {
        const check = Modules.importNow(MOD_CHECK);
        if (typeof check === "function") (check as () => void)();
      }
      if (!Modules.has(MOD_ENTRY)) return `the mod has no "${MOD_ENTRY}" module`;
      Modules.importNow(MOD_ENTRY);
      return undefined;
    } catch (e) {
      return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
  }
}

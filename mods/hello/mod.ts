// The example mod (README, "Mods"): the host runs its "check" module, then
// imports this one, "mod" (modules/moddable/mod-host.ts). It talks to the
// firmware only through "ota/host" (modules/types/ota-host.d.ts). Its name and
// version for the portal, the catalog and the fleet are in ota-mod.json, a
// data resource of the archive (modules/core/mods/archive.ts reads it).
import { addCheck, log, status } from "ota/host";

status("hello: running");
// A real mod checks what it needs (a sensor answers, a server is reached); this one always passes.
addCheck("hello", () => "pass");
log("hello 1.0.0 started");

// A hand-set BootView for portal-only tests: the status the boot policy would
// report, and a record of "Go back" presses.
import type { BootStatus } from "../../modules/core/boot/policy";
import type { BootView } from "../../modules/core/updater-api";

export function bootStatus(overrides: Partial<BootStatus> = {}): BootStatus {
  return {
    otaState: "valid",
    phase: "idle",
    running: { partition: "ota_0", app: { version: "1.0.0", projectName: "ota-demo", secureVersion: 0 }, state: "valid", bootable: true },
    previous: { partition: "ota_1", state: "undefined", bootable: false },
    ...overrides,
  };
}

export class ScriptedBoot implements BootView {
  current: BootStatus = bootStatus();
  /** What goBack() answers (undefined = it switched). */
  goBackError: string | undefined;
  wentBack = 0;

  status(): BootStatus {
    return this.current;
  }

  goBack(): string | undefined {
    if (this.goBackError === undefined) this.wentBack++;
    return this.goBackError;
  }
}

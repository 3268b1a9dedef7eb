// What a demo mod does when its host starts it, read from its ota-mod.json
// (tools/xs-archive.ts demoMod writes it; tools/xs-mapper.ts readModInfo reads
// it from the mapped `xs`), for hosts that cannot run XS byte code: the test
// fake (test/fakes/mod-host.ts) and the twin (twin/adapters/mod-host.ts).
// The mod talks to its host through the API a real mod imports ("ota/host":
// addCheck, status, log); the "twin" field says how it behaves:
//   absent: starts fine;  "throw": its entry module throws;
//   "fail-check": it registers a start-up check that fails;
//   "wait-check": one that never passes;  "crash": the board resets inside it.
// A "status" field is the status line it sets at start.
// Engine-neutral (Node and XS).
import type { CheckResult } from "../modules/core/boot/checks";

/** What a mod may ask of its host (the receivers behind "ota/host"). */
export interface DemoModHostApi {
  addCheck(name: string, poll: () => CheckResult): void;
  status(text: string): void;
  log(text: string): void;
}

/** How the mod's start ended: its error text, a board reset, or fine. */
export type DemoModStart = { threw: string } | { reset: string } | undefined;

/** Runs the demo mod described by `info` (its ota-mod.json) against `api`. */
export function runDemoMod(info: Record<string, unknown>, api: DemoModHostApi): DemoModStart {
  const name = String(info.name);
  switch (info.twin) {
    case "throw":
      return { threw: `Error: ${name} threw at start` };
    case "crash":
      return { reset: `${name} reset the board` };
    case "fail-check":
      api.addCheck(`${name} sensor`, () => ({ fail: "sensor not found" }));
      break;
    case "wait-check":
      api.addCheck(`${name} cloud`, () => ({ wait: "not reached" }));
      break;
  }
  if (typeof info.status === "string") api.status(info.status);
  api.log(`${name} ${String(info.version)} started`);
  return undefined;
}

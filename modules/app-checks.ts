// The app's own start-up checks: a new firmware is kept only when these pass
// too (within config.startupWindow seconds, with the built-in ones: access
// point, portal, Wi-Fi station). Return "pass", { wait: "what for" } or
// { fail: "why" } from poll(); it is called about once a second. Example:
//   return [{ name: "sensor", poll: () => (sensorFound() ? "pass" : { wait: "no reply on I2C" }) }];
import type { StartupCheck } from "./core/boot/checks";
import type { Clock, KeyValueStore, WifiControl } from "./core/ports";

export interface AppCheckContext {
  wifi: WifiControl;
  store: KeyValueStore;
  clock: Clock;
}

export function appChecks(_context: AppCheckContext): StartupCheck[] {
  return [];
}

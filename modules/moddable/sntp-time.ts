// The board's system clock from SNTP, for board credentials (docs/fleet.md):
// an ESP32 counts from 1970 at boot and Moddable sets nothing by itself. Once
// the station has an address, one exchange with config.sntp (default
// pool.ntp.org; "" turns it off) over the SDK's sntp module (SDK 8.2.3
// modules/network/sntp/sntp.js: one UDP socket on the legacy `socket` module,
// Net.resolve of the host, a request every 5 s, 5 tries, then a callback
// (SNTP.time, seconds since 1970) or (SNTP.error, message); it closes itself
// either way) and Time.set(seconds) (settimeofday on the ESP32). Date.now() is
// then plausible and the core's wall clock (modules/core/engine/wall-clock.ts)
// uses it; until then, or when no SNTP server answers (a LAN without the
// internet), the core learns the time from the update server's Date headers.
// Nothing is started while the clock is already set (the simulator's is).
import SNTP from "sntp";
import Time from "time";
import { plausibleWallTime } from "../core/engine/wall-clock";

export class SntpTime {
  #running = false;

  constructor(
    private readonly host: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Asks the SNTP server once (call when the station has an address): not when off, already asking, or the clock is set. */
  start(): void {
    if (this.host === "" || this.#running || plausibleWallTime(Date.now())) return;
    this.#running = true;
    try {
      new SNTP({ host: this.host }, (message, value) => {
        // A throw here would reach the socket's native callback (XS aborts): nothing may escape.
        try {
          if (message === SNTP.time && typeof value === "number") {
            this.#running = false;
            Time.set(value);
            this.log(`sntp: clock set from ${this.host}: ${new Date(value * 1000).toISOString()}`);
          } else if (message === SNTP.error) {
            this.#running = false;
            this.log(`sntp: ${this.host}: ${String(value)}; tried again at the next join (check-ins take the update server's time meanwhile)`);
          }
        } catch (error) {
          this.#running = false;
          this.log(`sntp: ${error instanceof Error ? error.message : String(error)}`);
        }
      });
    } catch (error) {
      this.#running = false;
      this.log(`sntp: cannot start: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

// Clock over `timer` (one-shot Timer.set) and `time` (Time.ticks: milliseconds
// since boot, not moved by SNTP, unlike Date.now()).

import Time from "time";
import Timer from "timer";
import type { Clock, TimerId } from "../core/ports";

export class TimerClock implements Clock {
  now(): number {
    return Time.ticks;
  }

  setTimeout(callback: () => void, ms: number): TimerId {
    return { timer: Timer.set(() => callback(), ms) };
  }

  clearTimeout(id: TimerId): void {
    Timer.clear(id.timer as Timer);
  }
}

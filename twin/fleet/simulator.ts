// The fleet simulator: N virtual boards (board.ts), each with its own MAC,
// checking in with the update server's advanced updater on a schedule. Their
// first check-ins are spread over one interval, as boards powered up at
// different times would be.
import { VirtualBoard, type BoardOptions } from "./board";
import type { BoardImage } from "./memory-ota";
import { allPass, type StartupCheck } from "./startup-check";

export interface FleetSimOptions {
  boards: number;
  /** Advanced-updater URL, e.g. http://127.0.0.1:8000/update */
  url: string;
  /** Image every board runs at first. */
  firstImage: BoardImage;
  intervalMs?: number;
  restartDelayMs?: number;
  bootDelayMs?: number;
  check?: StartupCheck;
  bytesPerSecond?: number;
  /** MAC of board i: `${prefix}:XX:YY`. Default "02:F1:EE:00" (locally administered). */
  macPrefix?: string;
  log?: (line: string) => void;
  /** Every board's fleet secret: signed check-ins (board credentials). */
  fleetSecret?: string;
}

export function boardMac(prefix: string, index: number): string {
  const n = index + 1;
  return `${prefix}:${((n >> 8) & 0xff).toString(16).toUpperCase().padStart(2, "0")}:${(n & 0xff).toString(16).toUpperCase().padStart(2, "0")}`;
}

export class FleetSimulator {
  readonly boards: VirtualBoard[];

  constructor(options: FleetSimOptions) {
    if (!Number.isInteger(options.boards) || options.boards < 1 || options.boards > 65_000) throw new Error("boards: 1 to 65000");
    const intervalMs = options.intervalMs ?? 10_000;
    const prefix = options.macPrefix ?? "02:F1:EE:00";
    this.boards = Array.from({ length: options.boards }, (_, i) => {
      const board: BoardOptions = {
        url: options.url,
        intervalMs,
        firstBootMs: Math.floor((i * intervalMs) / options.boards),
        restartDelayMs: options.restartDelayMs ?? 1000,
        bootDelayMs: options.bootDelayMs ?? 500,
        check: options.check ?? allPass,
        bytesPerSecond: options.bytesPerSecond,
        log: options.log,
        fleetSecret: options.fleetSecret,
      };
      return new VirtualBoard(i, boardMac(prefix, i), options.firstImage, board);
    });
  }

  start(): this {
    for (const b of this.boards) b.start();
    return this;
  }

  stop(): void {
    for (const b of this.boards) b.stop();
  }

  /** How many boards run each version. */
  versions(): Map<string, number> {
    const m = new Map<string, number>();
    for (const b of this.boards) m.set(b.running.version, (m.get(b.running.version) ?? 0) + 1);
    return m;
  }
}

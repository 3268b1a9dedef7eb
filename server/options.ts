// Options of buildServer(); cli.ts maps the updateserver.py-compatible flags onto them.
import type { FleetOptions } from "./fleet/fleet";
import type { AccelOptions } from "./accel";
import type { Rules } from "./rules";

export type PinoLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

export interface ServerOptions {
  /** Catalog root: every served path must resolve inside it. */
  catalogDir: string;
  /** Pino level for the structured log; "silent" in tests. */
  logLevel?: PinoLevel;
  /** Where the log goes (defaults to stdout). */
  logStream?: NodeJS.WritableStream;
  /** Advanced-updater rules (see rules.ts); absent: the updater endpoint answers 404. */
  rules?: Rules;
  /** Let browsers and curl download binaries (the reference only serves HTTPUpdate clients). */
  open?: boolean;
  /** Slow-loris limits: whole header block, and whole request, must arrive by then. */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /**
   * Idle socket time (no byte read or written) before the connection is
   * dropped. At least 60 s, the ESP8266 Updater's own stream timeout: a board
   * may stop reading for seconds while it erases flash.
   */
  idleTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  /** Largest request header block accepted (bytes). */
  maxHeaderSize?: number;
  /** How often Node checks the header/request timeouts. */
  timeoutCheckIntervalMs?: number;
  /** Firmware bytes held in memory (image-store.ts), and the largest file held; larger files stream from disk. */
  memoryBytes?: number;
  maxMemoryFileBytes?: number;
  /** A file read within this long of its last change is read again (image-store.ts). */
  settleMs?: number;
  /** X-Accel-Redirect mode: nginx in front sends the bytes (accel.ts). */
  accel?: AccelOptions;
  /** Streaming (files over maxMemoryFileBytes): read size, and how many such buffers all downloads share. */
  chunkSize?: number;
  poolBuffers?: number;
  /** How long a download waits for a pooled buffer before taking a one-off one. */
  poolWaitMs?: number;
  /** Size of those one-off buffers. */
  overflowChunkSize?: number;
  /** Device registry, rollouts, admin API and dashboard (server/fleet); absent: off. */
  fleet?: FleetOptions;
}

export const DEFAULTS = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  maxHeaderSize: 8 * 1024,
  timeoutCheckIntervalMs: 1_000,
  // Firmware is 1-4 MB (the largest ESP32 app partition is 16 MB).
  memoryBytes: 256 * 1024 * 1024,
  maxMemoryFileBytes: 16 * 1024 * 1024,
  // Linux file timestamps tick every 1-10 ms on older kernels.
  settleMs: 25,
  // Streaming only: 8 x 512 KB of read buffers however many clients there are.
  chunkSize: 512 * 1024,
  poolBuffers: 8,
  poolWaitMs: 250,
  overflowChunkSize: 64 * 1024,
} as const;

const PYTHON_LEVELS: Record<string, PinoLevel> = {
  NOTSET: "trace",
  DEBUG: "debug",
  INFO: "info",
  WARNING: "warn",
  WARN: "warn",
  ERROR: "error",
  CRITICAL: "fatal",
  FATAL: "fatal",
};

/** Python logging level name (any case, as updateserver.py's `--log`) to a pino level. */
export function pinoLevelFromPython(name: string): PinoLevel | undefined {
  return Object.hasOwn(PYTHON_LEVELS, name.toUpperCase()) ? PYTHON_LEVELS[name.toUpperCase()] : undefined;
}

// The part of @agoric/xsnap (src/xsnap.js, untyped JS) that the harness uses.
declare module "@agoric/xsnap" {
  export interface XSnap {
    /** Settles when XS's job queue is empty; meterUsage as xsnap-worker.c fxWriteOkay writes it. */
    evaluate(code: string): Promise<{ reply: Uint8Array; meterUsage: { currentHeapCount: number | null; allocate: number | null; compute: number | null } }>;
    issueCommand(message: Uint8Array): Promise<unknown>;
    close(): Promise<void>;
    terminate(): Promise<void>;
  }
  export function xsnap(options: {
    os: string;
    spawn: typeof import("node:child_process").spawn;
    fs: never;
    name?: string;
    meteringLimit?: number;
    stdout?: "ignore" | "inherit" | "pipe";
    stderr?: "ignore" | "inherit" | "pipe";
    handleCommand?: (message: Uint8Array) => Promise<Uint8Array>;
  }): Promise<XSnap>;
}

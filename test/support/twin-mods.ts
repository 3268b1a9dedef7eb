// Mods on the twin at the device level (no update server, no portal route):
// a twin on its own temp flash file, a mod streamed through the boot's
// ModManager sink as a download would (4 KB pieces, MD5 announced), the
// switch-and-restart the updater makes after a mod commit, and a wait until
// the twin has settled (up, its mod confirmed, refused or absent).
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FlashArea } from "../../modules/core/ports";
import type { ModStatus } from "../../modules/core/mods/mod-boot";
import { MOD_STATE_KEY, parseModState, type ModState } from "../../modules/core/mods/mod-store";
import { Twin, type TwinOptions } from "../../twin/device";

export async function startModTwin(options: Partial<TwinOptions> = {}): Promise<{ twin: Twin; dir: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "twin-mods-"));
  const twin = await Twin.start({
    flashPath: join(dir, "flash.bin"),
    fresh: true,
    server: { host: "127.0.0.1", port: 9, path: "." },
    bootDelayMs: 10,
    joinMs: 10,
    boot: { windowMs: 3000, pollMs: 50 },
    mods: { windowMs: 2000, pollMs: 20, restartDelayMs: 50 },
    ...options,
  });
  await twin.booted(1);
  return {
    twin,
    dir,
    async stop() {
      await twin.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Streams `bytes` through this boot's mod sink and commits (unless mods.blocked() says why not); the refusal's text or undefined. No restart. */
export function commitMod(twin: Twin, bytes: Uint8Array, options: { signature?: string } = {}): string | undefined {
  const mods = twin.mods;
  if (!mods) throw new Error("the twin has no mod manager this boot");
  const busy = mods.blocked(); // as the updater asks before a mod session
  if (busy) return busy;
  const sink = mods.createSink();
  sink.begin({ size: bytes.length, md5: createHash("md5").update(bytes).digest("hex") });
  sink.takeSignature(options.signature);
  for (let at = 0; at < bytes.length; at += 4096) {
    const refused = sink.push(bytes.subarray(at, Math.min(bytes.length, at + 4096)));
    if (refused) {
      sink.discard();
      return refused;
    }
  }
  const refused = sink.commit();
  if (refused) sink.discard();
  return refused;
}

/** A mod install as the updater finishes one: commit, then the switch and the restart. */
export function installMod(twin: Twin, bytes: Uint8Array, options: { signature?: string } = {}): string | undefined {
  const refused = commitMod(twin, bytes, options);
  if (refused === undefined) twin.mods?.stagedRestart();
  return refused;
}

/** Waits until the twin is up with no open mod verdict (pending, restarting), and answers its mod status. */
export async function settled(twin: Twin, timeoutMs = 5000): Promise<ModStatus> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const mods = twin.up ? twin.mods : undefined;
    const status = mods?.status();
    if (status && status.mod?.state !== "pending" && status.mod?.state !== "restarting" && status.staged === undefined) return status;
    if (Date.now() > end) throw new Error(`the twin did not settle: ${JSON.stringify(status)}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function areaBytes(area: FlashArea, length = area.size): Uint8Array {
  const out = new Uint8Array(length);
  area.read(0, out);
  return out;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The mod record in the twin's NVS (the file, as a reset leaves it). */
export function modState(twin: Twin): ModState | undefined {
  const text = twin.store.get(MOD_STATE_KEY);
  return text === undefined ? undefined : parseModState(text);
}

/** Waits until the running firmware is confirmed (its start-up checks passed). */
export async function firmwareValid(twin: Twin, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(twin.up && twin.policy.status().otaState === "valid")) {
    if (Date.now() > end) throw new Error("the firmware was not confirmed");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

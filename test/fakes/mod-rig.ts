// A board for mod tests: fake `xs` + two slots (one Power), NVS, clock and a
// fake host that maps at each boot. boot() is a power-up: a new host (VM
// creation maps `xs`), a new ModManager, start(). install() streams a mod
// through the manager's sink as a download would. Engine-neutral (Node and XS).
import { ModManager, type ModBootDecision, type ModManagerOptions } from "../../modules/core/mods/mod-boot";
import type { ModAnnounced } from "../../modules/core/mods/mod-sink";
import type { SignatureCheck } from "../../modules/core/signature/policy";
import type { XsVersion } from "../../modules/core/mods/archive";
import { FakeModFlash } from "./mod-flash";
import { BoardReset, FakeModHost } from "./mod-host";
import { MemoryStore } from "./store";
import { FakeClock } from "./clock";
import { FakeSystem } from "./device";
import { nobleDigest, md5Hex } from "./digest";

export interface ModRigOptions {
  size?: number;
  options?: ModManagerOptions;
  signatures?: SignatureCheck;
  xs?: XsVersion;
  firmwareBlocked?: () => string | undefined;
}

export class ModRig {
  readonly flash: FakeModFlash;
  readonly store = new MemoryStore();
  readonly clock = new FakeClock();
  system = new FakeSystem();
  host!: FakeModHost;
  mods!: ModManager;
  /** Host firmware build: another seed numbers symbols differently (a firmware update). */
  seed = 1;
  readonly log: string[] = [];

  constructor(readonly opts: ModRigOptions = {}) {
    this.flash = new FakeModFlash(opts.size ?? 16 * 1024);
    this.power();
  }

  /** A new boot's objects without VM creation (tests that drive createVm themselves). */
  power(): void {
    this.flash.power.restore();
    this.system = new FakeSystem();
    this.host = new FakeModHost(this.flash.active, { seed: this.seed, xs: this.opts.xs });
    this.mods = new ModManager(
      { flash: this.flash, host: this.host, store: this.store, clock: this.clock, system: this.system, digest: nobleDigest, signatures: this.opts.signatures, firmwareBlocked: this.opts.firmwareBlocked, log: (l) => this.log.push(l) },
      { windowMs: 10_000, pollMs: 1000, restartDelayMs: 500, ...this.opts.options },
    );
    this.host.registerCheck = (check) => this.mods.addCheck(check);
  }

  /** Power up: VM creation (maps `xs`), then the mod manager. "reset" when the mod crashed the board inside start(). */
  boot(): ModBootDecision | "reset" {
    this.power();
    this.host.createVm();
    try {
      return this.mods.start();
    } catch (e) {
      if (e instanceof BoardReset) return "reset";
      throw e;
    }
  }

  /** Streams `bytes` through a sink in `chunk`-byte pieces and commits; the refusal's text or undefined. */
  install(bytes: Uint8Array, options: { chunk?: number; announced?: Partial<ModAnnounced>; signature?: string | Uint8Array } = {}): string | undefined {
    const sink = this.mods.createSink();
    sink.begin({ size: bytes.length, md5: md5Hex(bytes), ...options.announced });
    sink.takeSignature(options.signature);
    const step = options.chunk ?? 4096;
    for (let i = 0; i < bytes.length; i += step) {
      const refused = sink.push(bytes.subarray(i, Math.min(bytes.length, i + step)));
      if (refused) {
        sink.discard();
        return refused;
      }
    }
    const refused = sink.commit();
    if (refused) sink.discard();
    return refused;
  }

  /** Lets the start-up window run to its verdict. */
  settle(ms = 20_000): void {
    this.clock.advance(ms);
  }
}

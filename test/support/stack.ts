// Starts what a test needs on loopback: the update server on a fresh demo
// catalog (small images), optionally the fault proxy in front of it, and a
// device twin on its own temp flash file, all on port 0. stop() ends them all.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type AddressInfo } from "node:net";
import { buildServer } from "../../server/app";
import { writeDemoCatalog, type DemoFirmware } from "../../twin/demo-catalog";
import { writeSignedDemoCatalog, type DemoKey } from "../../twin/demo-signing";
import { Twin, type TwinOptions } from "../../twin/device";
import { FaultProxy, type Fault } from "./fault-proxy";

export interface StackOptions {
  /** Scale of the installable demo images (1 = 0.9-1.2 MB). Default 0.3 (~270-350 KB). */
  scale?: number;
  /** Extra files for the catalog folder: name -> bytes. */
  extra?: Record<string, Uint8Array>;
  /** Put the fault proxy between the twin and the server. */
  fault?: Fault;
  /** Point the twin at this port instead (e.g. one where nothing listens). */
  serverPort?: number;
  twin?: Partial<TwinOptions>;
  /** The signed demo (npm start -- --signed): catalog signed with an owner key the twin trusts, plus the unsigned, other-key and tampered images. */
  signed?: boolean;
}

export interface Stack {
  dir: string;
  catalogDir: string;
  flashPath: string;
  firmwares: DemoFirmware[];
  /** With `signed`: the owner key the twin trusts, and the other key. */
  keys?: { owner: DemoKey; stranger: DemoKey };
  serverPort: number;
  proxy?: FaultProxy;
  twin: Twin;
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "ota-stack-"));
  const catalogDir = join(dir, "catalog");
  const signed = options.signed ? await writeSignedDemoCatalog(catalogDir, join(dir, "keys"), options.scale ?? 0.3) : undefined;
  const firmwares = signed ? signed.firmwares : writeDemoCatalog(catalogDir, options.scale ?? 0.3);
  for (const [name, bytes] of Object.entries(options.extra ?? {})) writeFileSync(join(catalogDir, name), bytes);
  const { app } = await buildServer({ catalogDir, logLevel: "silent" });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const serverPort = (app.server.address() as AddressInfo).port;
  const proxy = options.fault ? await FaultProxy.start(serverPort, options.fault) : undefined;
  const flashPath = join(dir, "flash.bin");
  const twin = await Twin.start({
    flashPath,
    fresh: true,
    server: { host: "127.0.0.1", port: options.serverPort ?? proxy?.port ?? serverPort, path: "." },
    bootDelayMs: 300,
    updater: { restartDelayMs: 800, stallMs: 2000 },
    boot: { windowMs: 5000, pollMs: 100 },
    joinMs: 50,
    ...(signed ? { signingKeys: [signed.owner.config] } : {}),
    ...options.twin,
  });
  return {
    dir,
    catalogDir,
    flashPath,
    firmwares,
    ...(signed ? { keys: { owner: signed.owner, stranger: signed.stranger } } : {}),
    serverPort,
    proxy,
    twin,
    async stop() {
      await twin.stop();
      await proxy?.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A port nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// `npm start`: the whole product on one machine, no board needed. Starts the
// update server on the demo catalog and the device twin's portal, prints both
// URLs and stops cleanly on Ctrl-C.
//   npm start -- --portal-port 8081 --server-port 8001
//   npm start -- --server 127.0.0.1:9000     (use a server you started yourself)
//   npm start -- --fresh                     (new flash file: back to 1.0.0)
//   npm start -- --fleet 50                  (also 50 virtual boards and the dashboard)
//   npm start -- --signed                    (signed updates only: an owner key under .twin/keys)
//   npm start -- --lan [ADDRESS]             (portal on the LAN too, announced over mDNS for `ota discover`)
//   npm start -- --password P                (the board's defaults: updates need this portal password;
//                                             without it the twin is a bench board, requirePassword false)
import { dirname, join, resolve } from "node:path";
import { networkInterfaces } from "node:os";
import { isIPv4 } from "node:net";
import { Command, InvalidArgumentError } from "commander";
import { buildServer } from "../server/app";
import { Twin } from "./device";
import { writeDemoCatalog } from "./demo-catalog";
import { DEMO_SPEED_KBS, DEMO_STARTUP_WINDOW_S } from "./demo-defaults";
import { demoKey, MOD_OTHER_KEY, MOD_UNSIGNED, REFUSED_OTHER_KEY, REFUSED_TAMPERED, REFUSED_UNSIGNED, writeSignedDemoCatalog, type DemoKey } from "./demo-signing";
import { fleetServerOptions, startFleetSimulator } from "./fleet/demo-fleet";
import type { FleetSimulator } from "./fleet/simulator";

interface DemoOptions {
  serverPort: number;
  portalPort: number;
  server?: { host: string; port: number };
  catalog?: string;
  flash: string;
  fresh: boolean;
  speed: number;
  verbose: boolean;
  startupWindow: number;
  fleet?: number;
  fleetInterval: number;
  failShare: number;
  signed: boolean;
  lan?: string | true;
  password?: string;
}

/** The first non-internal IPv4 address of this machine (what --lan uses by default). */
function lanAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return undefined;
}

function port(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError("expected a port number 0-65535");
  return Number(value);
}

function hostPort(value: string): { host: string; port: number } {
  const m = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new InvalidArgumentError("expected host:port, e.g. 127.0.0.1:8000");
  return { host: m[1], port: Number(m[2]) };
}

export function demoProgram(): Command {
  return new Command()
    .name("npm start --")
    .description("Update server + ESP32 device twin on this machine: open the portal, choose UPDATE, install a firmware.")
    .option("--server-port <port>", "update server port", port, 8000)
    .option("--portal-port <port>", "device twin's portal port", port, 8080)
    .option("--server <host:port>", "point the twin at another update server (none is started)", hostPort)
    .option("--catalog <dir>", "serve this catalog folder instead of generating the demo catalog")
    .option("--flash <file>", "the twin's flash image file", ".twin/flash.bin")
    .option("--fresh", "recreate the flash file (the twin starts again at 1.0.0)", false)
    .option("--speed <KB/s>", "simulated download speed of the board, 0 = unlimited", (v) => Number.parseInt(v, 10), DEMO_SPEED_KBS)
    .option("--verbose", "print the update server's request log", false)
    .option("--startup-window <s>", "seconds a new image has to pass its start-up check (a board's default is 60)", (v) => Number.parseInt(v, 10), DEMO_STARTUP_WINDOW_S)
    .option("--fleet <boards>", "also simulate this many boards checking in, and serve the fleet dashboard", (v) => Number.parseInt(v, 10))
    .option("--fleet-interval <s>", "seconds between a virtual board's check-ins", Number, 5)
    .option("--fail-share <0..1>", "share of virtual boards failing their start-up check on demo 2.0.0", Number, 0.3)
    .option("--signed", "signed updates only: the twin trusts an owner key kept in .twin/keys; the demo catalog is signed with it, plus an unsigned, an other-key and a tampered image", false)
    .option("--password <password>", "set this portal password and require it, as a board does (default: no password required, a bench board with a warning on its home page)")
    .option("--lan [address]", "also serve the portal on this machine's LAN address (default: its first IPv4) and announce the twin over mDNS (_moddable-ota._tcp) for `ota discover`")
    .showHelpAfterError();
}

async function main(argv: string[]): Promise<void> {
  const o = demoProgram().parse(argv).opts<DemoOptions>();
  let closeServer: (() => Promise<void>) | undefined;
  let server = o.server;
  const keysDir = resolve(dirname(resolve(o.flash)), "keys");
  let owner: DemoKey | undefined;
  if (o.signed) owner = await demoKey(keysDir, "owner");
  if (!server) {
    // The signed catalog sits beside the flash file and its keys (.twin/ by default).
    const catalogDir = resolve(o.catalog ?? (o.signed ? join(dirname(resolve(o.flash)), "catalog-signed") : ".twin/catalog"));
    if (!o.catalog && o.signed) await writeSignedDemoCatalog(catalogDir, keysDir);
    else if (!o.catalog) writeDemoCatalog(catalogDir);
    const withFleet = o.fleet ? fleetServerOptions(dirname(resolve(o.flash))) : undefined;
    const { app } = await buildServer({ catalogDir, logLevel: o.verbose ? "info" : "warn", open: true, ...withFleet });
    try {
      await app.listen({ port: o.serverPort, host: "127.0.0.1" });
    } catch (error) {
      console.error(`Cannot start the update server on 127.0.0.1:${o.serverPort}: ${(error as Error).message} (try --server-port)`);
      process.exit(2);
    }
    const address = app.server.address();
    server = { host: "127.0.0.1", port: typeof address === "object" && address ? address.port : o.serverPort };
    closeServer = () => app.close();
    console.log(`Update server  http://${server.host}:${server.port}/_catalog?op=list&path=.   (catalog: ${catalogDir})`);
    if (withFleet) console.log(`Dashboard      http://${server.host}:${server.port}/dashboard   (admin token: ${withFleet.token})`);
  }
  let fleet: FleetSimulator | undefined;
  if (o.fleet) {
    fleet = startFleetSimulator(server, { boards: o.fleet, intervalS: o.fleetInterval, failShare: o.failShare }, o.verbose ? (l) => console.log(l) : undefined);
    console.log(`Fleet          ${o.fleet} virtual boards check in every ${o.fleetInterval} s at http://${server.host}:${server.port}/update; ${Math.round(o.failShare * 100)} % fail on demo 2.0.0`);
  }
  const target = server;
  const lan = o.lan === true ? lanAddress() : o.lan;
  if (o.lan !== undefined && (!lan || !isIPv4(lan))) {
    console.error(`--lan: ${lan ? `${lan} is not an IPv4 address` : "this machine has no LAN IPv4 address"}`);
    await closeServer?.();
    process.exit(2);
  }
  let twin: Twin;
  try {
    twin = await Twin.start({
      flashPath: resolve(o.flash),
      fresh: o.fresh,
      server: { ...target, path: "." },
      storeServer: true,
      portalPort: o.portalPort,
      bytesPerSecond: o.speed * 1024,
      boot: { windowMs: o.startupWindow * 1000 },
      allowHost: (host) => host === target.host || host === "127.0.0.1" || host === "localhost",
      log: (line) => console.log(line),
      ...(owner ? { signingKeys: [owner.config] } : {}),
      ...(lan ? { lan: { address: lan } } : {}),
      // One tap for the demo: a bench board unless --password asks for the board's defaults.
      requirePassword: o.password !== undefined,
      ...(o.password !== undefined ? { storePassword: o.password } : {}),
    });
  } catch (error) {
    console.error(`Cannot start the device twin: ${(error as Error).message} (try --portal-port or --fresh)`);
    await closeServer?.();
    process.exit(2);
  }
  // Before the portal line: a tool that stops the demo as soon as it reads that line must find the handlers in place.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`\n${signal}: stopping the twin and the update server`);
    fleet?.stop();
    Promise.all([twin.stop(), closeServer?.()]).then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  // Before the portal line: tools wait for that line and read what came before it.
  if (owner) {
    console.log(`Signed only    the twin trusts key ${owner.publicKey.fingerprint} (${owner.publicPath}; private key ${owner.privatePath}, mode 0600)`);
    if (!o.server && !o.catalog) console.log(`               ${REFUSED_UNSIGNED} (unsigned) and ${REFUSED_OTHER_KEY} (another key) are listed refused; ${REFUSED_TAMPERED} is refused after its download`);
    else console.log(`               sign your images with: npx ota-server sign --key ${owner.privatePath} <catalog>/*.bin`);
  }
  if (o.password !== undefined) console.log(`Portal password set and required (user admin), as a board's defaults: no update without it`);
  else console.log(`Portal password not required: a bench board (requirePassword false; its home page warns). npm start -- --password P runs the board's defaults`);
  console.log(`Device portal  ${twin.url}   (running ${twin.device.appName} ${twin.device.appVersion} from ${twin.device.runningPartition}; flash: ${resolve(o.flash)})`);
  if (lan) console.log(`On the LAN     http://${lan}:${twin.port}/   announced over mDNS as _moddable-ota._tcp (npx ota discover)`);
  // Fallback mode, as a board ships: the twin joins TwinLAN at boot, so its AP stays down and the portal is on its station address (loopback here).
  console.log("Access point   fallback mode: down while the twin is on TwinLAN, up after 60 s without it, down 300 s after a join (docs/access-point.md)");
  console.log("Open the portal, choose UPDATE, pick a firmware (demo-broken-2.1.0.bin fails its start-up check and is rolled back). Ctrl-C stops both.");
  if (!o.server && !o.catalog) {
    console.log(`App mods       the catalog also has app mods for the twin's firmware (XS 17.7): hello-1.0.0.xsa, hello-1.1.0.xsa, hello-broken-1.2.0.xsa (throws at start: rolled back), hello-failcheck-1.3.0.xsa (fails its check: rolled back), hello-xs16-1.0.0.xsa (built for XS 16.7: refused; demo-xs16-2.2.0.bin is a firmware with XS 16.7, which disables a 17.7 mod)${owner ? `; ${MOD_UNSIGNED} and ${MOD_OTHER_KEY} are refused` : ""}`);
  }
}

await main(process.argv);

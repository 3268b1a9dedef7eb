// ota-server: drop-in for AutoConnect's updateserver.py (same flags and
// defaults) plus --config (advanced-updater rules) and --open.
import { resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { buildServer } from "./app";
import { TOKEN_ENV } from "./fleet/auth";
import { SECRET_ENV } from "./fleet/board-auth";
import { DEFAULT_HISTORY_DAYS, DEFAULT_HISTORY_PER_BOARD, fleetBanner, fleetOptionsFromCli, type FleetFlags } from "./fleet/cli-options";
import { pinoLevelFromPython } from "./options";
import { loadRules, type Rules } from "./rules";
import { runSigningCommand, SIGNING_VERBS } from "./signing-cli";

/** The fleet's flags are cli-options.ts's own (FleetFlags); the rest are the server's. */
interface CliOptions extends FleetFlags {
  port: number;
  bind: string;
  catalog: string;
  log: string;
  config?: string;
  open: boolean;
  accelRedirect?: string;
  accelDir?: string;
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError("expected a port number 0-65535");
  return n;
}

function count(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError("expected a whole number (0: no limit)");
  return Number(value);
}

function level(value: string): string {
  if (!pinoLevelFromPython(value)) throw new InvalidArgumentError("expected DEBUG, INFO, WARNING, ERROR or CRITICAL");
  return value;
}

export function cliProgram(): Command {
  return new Command()
    .name("ota-server")
    .description("Firmware update server for ESP8266/ESP32 boards: AutoConnect catalog, binary downloads, HTTPUpdate advanced updater.")
    .option("-p, --port <port>", "port number", port, 8000)
    .option("-b, --bind <address>", "address to bind", "127.0.0.1")
    .option("-d, --catalog <dir>", "catalog directory", process.cwd())
    .option("-l, --log <level>", "logging level (DEBUG, INFO, WARNING, ERROR, CRITICAL)", level, "INFO")
    .option("--config <file>", "advanced-updater rules (JSON or YAML)")
    .option("--open", "serve downloads to any client, not only ESP HTTPUpdate", false)
    .option("--db <file|url>", "device registry: a SQLite file, a postgres://user@host/db URL, or none (default: ~/.local/state/ota-server/fleet.db)")
    .option("--admin-token <token>", `token for /dashboard and the admin API (better: the ${TOKEN_ENV} variable, not shown by ps)`)
    .option("--fleet-secret <secret>", `board credentials: the secret boards sign check-ins with (better: --fleet-secret-file or the ${SECRET_ENV} variable)`)
    .option("--fleet-secret-file <file>", "board credentials: read the fleet secret from this file")
    .option("--require-board-auth", "check-ins without valid board credentials are answered by the rules alone and not recorded", false)
    .option("--history-days <days>", `drop check-in and download history older than this (0: keep; default ${DEFAULT_HISTORY_DAYS})`, count)
    .option("--history-per-board <rows>", `keep at most this many check-ins per board (0: no cap; default ${DEFAULT_HISTORY_PER_BOARD})`, count)
    .option("--accel-redirect <prefix>", "behind nginx: answer downloads with X-Accel-Redirect to this internal location (e.g. /_ota_accel/)")
    .option("--accel-dir <dir>", "with --accel-redirect: folder of the snapshots nginx serves (its internal location's alias)")
    .addHelpText("after", "\nSigned firmware (docs/signing.md):\n  ota-server keys new [--out DIR]      owner key pair\n  ota-server sign --key K FILE...      write FILE.sig\n  ota-server verify --pub P FILE       exit 0 when signed by P\n")
    .showHelpAfterError();
}

async function main(argv: string[]): Promise<void> {
  const opts = cliProgram().parse(argv).opts<CliOptions>();
  let rules: Rules | undefined;
  if (opts.config) {
    try {
      rules = await loadRules(opts.config);
    } catch (error) {
      console.error(`ota-server: ${opts.config}: ${(error as Error).message}`);
      process.exit(2);
    }
  }
  const catalogDir = resolve(opts.catalog);
  if ((opts.accelRedirect === undefined) !== (opts.accelDir === undefined)) {
    console.error("ota-server: --accel-redirect and --accel-dir go together");
    process.exit(2);
  }
  const accel = opts.accelRedirect !== undefined ? { prefix: opts.accelRedirect, dir: resolve(opts.accelDir!) } : undefined;
  let server;
  try {
    const fleet = fleetOptionsFromCli(opts, catalogDir);
    server = await buildServer({ catalogDir, logLevel: pinoLevelFromPython(opts.log), rules, open: opts.open, accel, fleet });
  } catch (error) {
    console.error(`ota-server: cannot serve ${catalogDir}: ${(error as Error).message}`);
    process.exit(2);
  }
  const { app, context, fleet } = server;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      console.log(`ota-server: ${signal} again, exiting now`);
      process.exit(1);
    }
    stopping = true;
    console.log(`ota-server: ${signal}, finishing in-flight downloads`);
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  const address = await app.listen({ port: opts.port, host: opts.bind });
  const lines = [
    `ota-server listening on ${address}`,
    `  catalog:   ${context.root.path}  (GET /_catalog?op=list&path=., GET /api/firmware?path=...)`,
    `  downloads: GET /<path>${opts.open ? " (open to any client)" : " (ESP8266/ESP32 HTTPUpdate clients only; --open for all)"}`,
    rules ? `  updater:   GET ${rules.endpoint} (${rules.devices.size} devices, ${rules.groups.size} groups${rules.fallback ? ", default" : ""})` : "  updater:   off (no --config)",
    ...fleetBanner(fleet, rules?.endpoint),
    ...(accel ? [`  behind nginx: bodies via X-Accel-Redirect ${accel.prefix} -> ${accel.dir}`] : []),
  ];
  console.log(lines.join("\n"));

}

if ((SIGNING_VERBS as readonly string[]).includes(process.argv[2])) process.exitCode = await runSigningCommand(process.argv);
else await main(process.argv);

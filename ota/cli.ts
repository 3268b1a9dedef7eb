// `ota`: develop over the air from the laptop. Finds boards on the LAN (mDNS),
// pushes a firmware image or a mod through the board's own upload routes with a
// progress bar, and waits for the verdict. docs/ota-cli.md is the reference.
//   ota push FILE --to HOST[:PORT] [--to ...] [--all] [--password P]
//   ota discover [--timeout S] [--json]
//   ota status --to HOST      ota rollback --to HOST
//   ota watch --to HOST [--mod]
import { Command, InvalidArgumentError, Option } from "commander";
import { Board, parseTarget, Unreachable, answerError, type BoardStatus, type Target } from "./board";
import { discover, discoverTable } from "./discover";
import { authorize, givenPassword, PASSWORD_ENV, passwordRefusal } from "./password";
import { ProgressView, type Output } from "./progress";
import { EXIT_CODES, pushOne, readPushFile, type PushFile, type Verdict } from "./push";
import { statusText } from "./status";
import { watch } from "./watch";

export interface Io {
  out: Output;
  err: Output;
}

const defaultIo: Io = { out: process.stdout, err: process.stderr };

function target(value: string, previous: Target[] = []): Target[] {
  try {
    return [...previous, parseTarget(value)];
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a number of seconds > 0");
  return n;
}

const passwordOption = () => new Option("--password <password>", `portal password (better: ${PASSWORD_ENV}, not shown by ps; or typed at the prompt)`);

/** Exit code of several verdicts: the worst (unreachable > rolled back > refused > valid). */
export function exitCode(verdicts: Verdict[]): number {
  return Math.max(0, ...verdicts.map((v) => EXIT_CODES[v.outcome]));
}

export interface PushRun {
  file: PushFile;
  targets: Target[];
  password?: string;
  comeBackMs: number;
  pollMs: number;
}

/** Pushes to every target in parallel; prints one verdict line per board; answers the exit code. */
export async function runPush(run: PushRun, io: Io = defaultIo): Promise<number> {
  const view = new ProgressView(io.out);
  const boards = run.targets.map((t) => new Board(t));
  await authorize(boards, run.password);
  const size = run.file.bytes.length;
  view.line(`${run.file.name}: ${run.file.kind === "mod" ? "mod" : "firmware"} ${run.file.app ?? "?"} ${run.file.version ?? "?"}, ${(size / 1024).toFixed(0)} KB${run.file.signature ? ", signed (.sig)" : ""} -> ${boards.map((b) => b.target.label).join(", ")}`);
  const verdicts = await Promise.all(
    boards.map(async (board) => {
      const row = view.add(board.target.label);
      const verdict = await pushOne(board, run.file, view, row, { comeBackMs: run.comeBackMs, pollMs: run.pollMs });
      view.finish(row);
      view.line(`${board.target.label}: ${verdict.text}`);
      return verdict;
    }),
  );
  return exitCode(verdicts);
}

async function allTargets(given: Target[], all: boolean, timeoutMs: number, io: Io): Promise<Target[]> {
  if (!all) return given;
  const found = await discover({ timeoutMs });
  if (found.length === 0) io.err.write(`ota: --all: no board answered on the LAN within ${timeoutMs / 1000} s\n`);
  const seen = new Set(given.map((t) => t.label));
  return [...given, ...found.map((b) => parseTarget(`${b.address}:${b.port}`)).filter((t) => !seen.has(t.label))];
}

export function otaProgram(io: Io = defaultIo, exit: (code: number) => void = (code) => (process.exitCode = code)): Command {
  const program = new Command()
    .name("ota")
    .description("Develop over the air: find Moddable OTA boards on the LAN, push firmware (.bin) or a mod (.xsa), follow the start-up check.")
    .configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) })
    .showHelpAfterError()
    .addHelpText("after", `\nExit codes of push: 0 every board valid on the new version, 1 a board refused it, 2 installed but rolled back, 3 unreachable or not back in time.\nPassword: --password, ${PASSWORD_ENV}, or a prompt on a terminal. Reference: docs/ota-cli.md`);

  program
    .command("push")
    .description("send FILE (.bin or .xsa; FILE.sig goes with it) to boards and wait for the verdict")
    .argument("<file>", "firmware image (.bin) or mod (.xsa)")
    .option("--to <host[:port]>", "a board's portal (repeat for several)", target, [])
    .option("--all", "every board discovery finds on the LAN", false)
    .addOption(passwordOption())
    .option("--timeout <s>", "how long a board may stay away while it restarts", seconds, 90)
    .option("--discover-timeout <s>", "with --all: how long to listen for boards", seconds, 3)
    .action(async (path: string, o: { to: Target[]; all: boolean; password?: string; timeout: number; discoverTimeout: number }) => {
      let file: PushFile;
      try {
        file = readPushFile(path);
      } catch (e) {
        io.err.write(`ota: ${(e as Error).message}\n`);
        return exit(1);
      }
      const targets = await allTargets(o.to, o.all, o.discoverTimeout * 1000, io);
      if (targets.length === 0) {
        io.err.write("ota push: name a board with --to HOST[:PORT], or --all\n");
        return exit(o.all ? 3 : 1);
      }
      exit(await runPush({ file, targets, password: givenPassword(o.password), comeBackMs: o.timeout * 1000, pollMs: 250 }, io));
    });

  program
    .command("discover")
    .description("list the boards that announce themselves on the LAN (mDNS _moddable-ota._tcp)")
    .option("--timeout <s>", "how long to listen", seconds, 3)
    .option("--json", "one JSON array", false)
    .option("--interface <address>", "the local address of the interface to browse on (default: all)")
    .action(async (o: { timeout: number; json: boolean; interface?: string }) => {
      const boards = await discover({ timeoutMs: o.timeout * 1000, ...(o.interface ? { interface: o.interface } : {}) });
      if (o.json) io.out.write(JSON.stringify(boards, null, 2) + "\n");
      else if (boards.length === 0) io.err.write(`no board answered within ${o.timeout} s\n`);
      else io.out.write(discoverTable(boards));
      exit(0);
    });

  program
    .command("status")
    .description("what a board runs: app, version, start-up check, last update, mod")
    .requiredOption("--to <host[:port]>", "the board's portal", (v) => target(v)[0])
    .option("--json", "the board's /api/status as it is", false)
    .action(async (o: { to: Target; json: boolean }) => {
      try {
        const s = await new Board(o.to).status();
        io.out.write(o.json ? JSON.stringify(s, null, 2) + "\n" : statusText(o.to.label, s));
        exit(0);
      } catch (e) {
        io.err.write(`${o.to.label}: unreachable: ${(e as Error).message}\n`);
        exit(3);
      }
    });

  program
    .command("rollback")
    .description('"Go back": restart the board into the previous firmware')
    .requiredOption("--to <host[:port]>", "the board's portal", (v) => target(v)[0])
    .addOption(passwordOption())
    .option("--timeout <s>", "how long the board may stay away while it restarts", seconds, 60)
    .action(async (o: { to: Target; password?: string; timeout: number }) => exit(await runRollback(o.to, givenPassword(o.password), o.timeout * 1000, io)));

  program
    .command("watch")
    .description("on a change under the app's sources: rebuild, push, print the verdict (one line per cycle)")
    .requiredOption("--to <host[:port]>", "the board's portal", (v) => target(v)[0])
    .option("--mod", "build and push the mod (npm run build:mod) instead of the firmware", false)
    .option("--build <command>", "build command (default: npm run build:mod, or npm run build:esp32)")
    .option("--out <file>", "what the build makes, pushed after each build (default: read from the build's output)")
    .option("--src <dir...>", "folders and files to watch (default: the current folder)")
    .addOption(passwordOption())
    .option("--timeout <s>", "how long the board may stay away while it restarts", seconds, 90)
    .action(async (o: { to: Target; mod: boolean; build?: string; out?: string; src?: string[]; password?: string; timeout: number }) => {
      await watch({ target: o.to, mod: o.mod, build: o.build, out: o.out, src: o.src ?? [process.cwd()], password: givenPassword(o.password), comeBackMs: o.timeout * 1000 }, io);
    });
  return program;
}

export async function runRollback(to: Target, password: string | undefined, comeBackMs: number, io: Io = defaultIo): Promise<number> {
  const board = new Board(to);
  let before: BoardStatus;
  try {
    before = await board.status();
    await authorize([board], password);
  } catch (e) {
    io.err.write(`${to.label}: unreachable: ${(e as Error).message}\n`);
    return 3;
  }
  const answer = await board.call("POST", "/api/rollback", 5000, "").catch((e: unknown) => (e instanceof Unreachable ? e : new Unreachable(String(e))));
  if (answer instanceof Unreachable) {
    io.err.write(`${to.label}: unreachable: ${answer.message}\n`);
    return 3;
  }
  if (answer.status !== 200) {
    io.out.write(`${to.label}: refused: ${passwordRefusal(answer, Boolean(board.authorization)) ?? answerError(answer)}\n`);
    return 1;
  }
  io.out.write(`${to.label}: going back from ${before.app} ${before.version} to ${before.previous.version ?? "the previous firmware"}…\n`);
  const deadline = Date.now() + comeBackMs;
  for (;;) {
    const s = await board.status(2000).catch(() => undefined);
    if (s && s.boot !== before.boot && s.validation.phase !== "checking") {
      io.out.write(`${to.label}: running ${s.app} ${s.version} (${s.otaState})\n`);
      return 0;
    }
    if (Date.now() > deadline) {
      io.out.write(`${to.label}: unreachable: did not come back within ${comeBackMs / 1000} s\n`);
      return 3;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

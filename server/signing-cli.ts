// The signing verbs of ota-server (server/cli.ts hands them argv):
//   ota-server keys new [--out DIR] [--name NAME]   owner key pair (private key mode 0600)
//   ota-server sign --key K [--host H] FILE...       writes FILE.sig beside each image or mod (.xsa: --host names the firmware it is for)
//   ota-server verify --pub P [--pub P2] FILE        exit 0 when good, 1 with one line why
// The private key is never printed or logged; only its public half and fingerprint.
import { mkdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Command, CommanderError } from "commander";
import { chipName } from "../modules/core/image";
import { unknownChipProblem } from "../modules/core/esp-image-rules";
import { configLine, loadPrivateKey, loadPublicKeys, newKeyPair, signImageFile, signModFile, SigningError, verifyImageFile, verifyModFile, writeNewFile } from "./signing";
import { isModName } from "./mod-facts";

export const SIGNING_VERBS = ["keys", "sign", "verify"] as const;

async function keysNew(opts: { out: string; name: string }): Promise<void> {
  const dir = resolve(opts.out);
  await mkdir(dir, { recursive: true });
  const privatePath = join(dir, `${opts.name}.key`);
  const publicPath = join(dir, `${opts.name}.pub`);
  for (const path of [privatePath, publicPath]) {
    const exists = await stat(path).then(() => true, () => false);
    if (exists) throw new SigningError(`${path} already exists; not replacing a key (choose --out or --name)`);
  }
  const pair = newKeyPair();
  await writeNewFile(privatePath, pair.privatePem, 0o600);
  await writeNewFile(publicPath, pair.publicPem, 0o644);
  console.log(
    [
      `private key: ${privatePath} (mode 0600; keep it off the board and out of git)`,
      `public key:  ${publicPath}`,
      `fingerprint: ${pair.key.fingerprint}`,
      `manifest.json "config" entry that turns signed updates on:`,
      `  "signingKeys": ["${configLine(pair.key)}"]`,
    ].join("\n"),
  );
}

const failedTo = (what: string, file: string) => (error: unknown): never => {
  throw error instanceof SigningError ? error : new SigningError(`cannot ${what} ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
};

async function signFiles(files: string[], opts: { key: string; host?: string }): Promise<void> {
  if (files.some(isModName) && !opts.host) throw new SigningError("signing a mod (.xsa) needs --host: the project name of the firmware it is for (shown on the board's home page)");
  const mode = (await stat(opts.key).catch(() => undefined))?.mode;
  if (mode !== undefined && (mode & 0o077) !== 0) console.error(`ota-server: warning: ${opts.key} is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 ${opts.key}`);
  const key = await loadPrivateKey(opts.key);
  for (const file of files) {
    if (isModName(file)) {
      const { sigPath, claim } = await signModFile(file, key, opts.host as string).catch(failedTo("sign", file));
      console.log(`${sigPath}: mod ${claim.name} ${claim.version} for ${claim.host}, XS ${claim.xs.major}.${claim.xs.minor}, ${claim.size} bytes, key ${key.publicKey.fingerprint}`);
      continue;
    }
    const { sigPath, claim } = await signImageFile(file, key).catch(failedTo("sign", file));
    console.log(`${sigPath}: ${claim.projectName} ${claim.version}, secure_version ${claim.secureVersion}, ${chipName(claim.chipId)}, ${claim.size} bytes, key ${key.publicKey.fingerprint}`);
  }
}

/** Resolves to the exit code: 0 good, 1 not. */
async function verifyFile(file: string, opts: { pub?: string[]; sig?: string }): Promise<number> {
  if (!opts.pub?.length) throw new SigningError("verify needs the owner's public key: --pub owner.pub");
  const keys = await loadPublicKeys(opts.pub);
  if (isModName(file)) {
    const mod = await verifyModFile(file, keys, opts.sig).catch(failedTo("read", file));
    if (!mod.ok) {
      console.error(`${file}: ${mod.message}`);
      return 1;
    }
    const m = mod.claim;
    console.log(`${file}: good signature by key ${mod.key.fingerprint} (mod ${m.name} ${m.version} for ${m.host}, XS ${m.xs.major}.${m.xs.minor})`);
    return 0;
  }
  const verdict = await verifyImageFile(file, keys, opts.sig).catch(failedTo("read", file));
  if (!verdict.ok) {
    console.error(`${file}: ${verdict.message}`);
    return 1;
  }
  const c = verdict.claim;
  const unknown = unknownChipProblem(c.chipId);
  if (unknown) {
    console.error(`${file}: ${unknown}; no board would take it (the signature itself is good)`);
    return 1;
  }
  console.log(`${file}: good signature by key ${verdict.key.fingerprint} (${c.projectName} ${c.version}, secure_version ${c.secureVersion}, ${chipName(c.chipId)})`);
  return 0;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function program(setExit: (code: number) => void): Command {
  const root = new Command().name("ota-server").exitOverride().showHelpAfterError();
  const keys = root.command("keys").description("owner signing keys").exitOverride();
  keys
    .command("new")
    .description("make an ECDSA P-256 key pair: NAME.key (private, mode 0600) and NAME.pub")
    .option("--out <dir>", "folder for the key files", ".")
    .option("--name <name>", "file name without extension", "owner")
    .exitOverride()
    .action(keysNew);
  root
    .command("sign")
    .description("sign firmware images and mods (.xsa): writes FILE.sig beside each FILE")
    .requiredOption("--key <file>", "private key (PEM: PKCS#8 or SEC1 EC, P-256)")
    .option("--host <name>", "for mods: the project name of the firmware they are for")
    .argument("<file...>", "images and mods to sign")
    .exitOverride()
    .action(signFiles);
  root
    .command("verify")
    .description("check FILE against FILE.sig: exit 0 when signed by one of the keys, 1 otherwise")
    .option("--pub <file>", "public key (PEM or its one-line config form); repeat for several (required)", collect)
    .option("--sig <file>", "signature file (default FILE.sig)")
    .argument("<file>", "image or mod (.xsa) to check")
    .exitOverride()
    .action(async (file: string, opts: { pub?: string[]; sig?: string }) => setExit(await verifyFile(file, opts)));
  return root;
}

/** Runs a signing verb (argv as process.argv); resolves to the exit code: 0 done, 1 not (the reason on stderr, one line). */
export async function runSigningCommand(argv: string[]): Promise<number> {
  let code = 0;
  try {
    await program((c) => (code = c)).parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 1; // commander printed why
    if (error instanceof SigningError) {
      console.error(`ota-server: ${error.message}`);
      return 1;
    }
    throw error;
  }
  return code;
}

// The signed demo (`npm start -- --signed`): an owner key pair made once and
// kept under .twin/keys (the private key mode 0600, as `ota-server keys new`
// writes it), the demo catalog signed with it as `ota-server sign` signs
// (fw.bin.sig beside each image), and three images a board with the owner's key
// must refuse: one unsigned and one signed with another key (both listed
// disabled with the reason, from /api/catalog), and one whose bytes differ from
// what the owner signed (listed, downloaded, refused at the commit). The demo
// mods are signed too (FILE.xsa.sig: the core's mod statement, for this
// firmware's app name), plus one unsigned mod and one signed with the other key.
import { existsSync, mkdirSync } from "node:fs";
import { copyFile, readFile, rename, rm, writeFile } from "node:fs/promises";
import { sign } from "node:crypto";
import { join } from "node:path";
import type { TrustedKey } from "../modules/core/signature/keys";
import { formatModSignatureFile, modStatementBytes, type ModClaim } from "../modules/core/mods/mod-statement";
import { configLine, loadPrivateKey, newKeyPair, nodeVerifier, signImageFile, writeNewFile } from "../server/signing";
import { nodeDigest } from "../server/node-digest";
import { buildImage } from "../tools/esp-image";
import { modClaimOf } from "../tools/xs-archive";
import { PROJECT, demoModBytes, demoMods, writeDemoCatalog, type DemoFirmware, type DemoModFile } from "./demo-catalog";

export interface DemoKey {
  key: Awaited<ReturnType<typeof loadPrivateKey>>["key"];
  publicKey: TrustedKey;
  privatePath: string;
  publicPath: string;
  /** The one-line form for config.signingKeys. */
  config: string;
}

/** `dir/name.key` and `.pub`: loaded when there, else made (the private key never printed). */
export async function demoKey(dir: string, name: string): Promise<DemoKey> {
  mkdirSync(dir, { recursive: true });
  const privatePath = join(dir, `${name}.key`);
  const publicPath = join(dir, `${name}.pub`);
  if (!existsSync(privatePath)) {
    const pair = newKeyPair();
    await writeNewFile(privatePath, pair.privatePem, 0o600);
    await writeFile(publicPath, pair.publicPem, { mode: 0o644 });
  }
  const loaded = await loadPrivateKey(privatePath);
  return { ...loaded, privatePath, publicPath, config: configLine(loaded.publicKey) };
}

/** The images the signed demo adds, each refused by a board that trusts only the owner's key. */
export const REFUSED_UNSIGNED = "demo-unsigned-1.2.0.bin";
export const REFUSED_OTHER_KEY = "demo-other-key-1.2.0.bin";
export const REFUSED_TAMPERED = "demo-tampered-1.2.0.bin";

/** The mods the signed demo adds, each refused by a board that trusts only the owner's key. */
export const MOD_UNSIGNED = "hello-unsigned-1.4.0.xsa";
export const MOD_OTHER_KEY = "hello-other-key-1.4.0.xsa";

/**
 * Signs the mod at `path` for firmwares named `host` into `path`.sig, as the
 * firmware images are signed: node:crypto ECDSA P-256 over the core's mod
 * statement (mod-statement.ts), checked before it is written.
 */
export async function signModFile(path: string, key: { key: DemoKey["key"]; publicKey: TrustedKey }, host: string): Promise<ModClaim> {
  const claim = modClaimOf(new Uint8Array(await readFile(path)), host, nodeDigest);
  const statement = modStatementBytes(claim);
  const signature = new Uint8Array(sign("sha256", statement, { key: key.key, dsaEncoding: "ieee-p1363" }));
  if (!nodeVerifier.verifyP256(statement, signature, key.publicKey.point)) throw new Error("the signature made does not verify (broken key?)");
  const temporary = `${path}.sig.${process.pid}.tmp`;
  await writeFile(temporary, formatModSignatureFile({ claim, keyId: key.publicKey.id, signature }));
  await rename(temporary, `${path}.sig`);
  return claim;
}

export interface SignedCatalog {
  firmwares: DemoFirmware[];
  /** The demo mods (each signed by the owner) and the unsigned and other-key ones. */
  mods: DemoModFile[];
  owner: DemoKey;
  stranger: DemoKey;
}

/**
 * Writes the demo catalog into `dir` with every demo image signed by the owner
 * key of `keysDir`, plus the unsigned, other-key and tampered images.
 */
export async function writeSignedDemoCatalog(dir: string, keysDir: string, scale = 1): Promise<SignedCatalog> {
  const owner = await demoKey(keysDir, "owner");
  const stranger = await demoKey(keysDir, "stranger");
  const firmwares = writeDemoCatalog(dir, scale);
  for (const f of firmwares) await signImageFile(join(dir, f.name), owner);
  const size = Math.round(940 * 1024 * scale);
  const extra: Array<DemoFirmware & { image: Uint8Array }> = [REFUSED_UNSIGNED, REFUSED_OTHER_KEY, REFUSED_TAMPERED].map((name, i) => ({
    name,
    version: "1.2.0",
    chip: "ESP32",
    size,
    refusal: i === 0 ? "unsigned" : i === 1 ? "other-key" : "tampered",
    image: buildImage({ chip: "ESP32", version: "1.2.0", projectName: PROJECT, size, seed: 1200 + i }),
  }));
  for (const f of extra) {
    await writeFile(join(dir, f.name), f.image);
    f.size = f.image.length;
  }
  await signImageFile(join(dir, REFUSED_OTHER_KEY), stranger);
  // A well-formed 1.2.0 that is not the one the owner signed: the genuine build's .sig beside other bytes.
  const genuine = join(keysDir, "genuine-1.2.0.bin");
  await writeFile(genuine, buildImage({ chip: "ESP32", version: "1.2.0", projectName: PROJECT, size, seed: 1299 }));
  await signImageFile(genuine, owner);
  await copyFile(`${genuine}.sig`, join(dir, `${REFUSED_TAMPERED}.sig`));
  await rm(genuine);
  await rm(`${genuine}.sig`);
  const mods = await writeSignedDemoMods(dir, owner, stranger);
  return { firmwares: [...firmwares, ...extra.map(({ image: _image, ...f }) => f)], mods, owner, stranger };
}

/** Signs the demo mods writeDemoCatalog wrote with `owner`, and adds an unsigned one and one signed with `stranger`. */
async function writeSignedDemoMods(dir: string, owner: DemoKey, stranger: DemoKey): Promise<DemoModFile[]> {
  const mods: DemoModFile[] = [];
  for (const m of demoMods()) {
    m.size = demoModBytes(m).length;
    await signModFile(join(dir, m.file), owner, PROJECT);
    mods.push(m);
  }
  for (const [file, refusal] of [[MOD_UNSIGNED, "unsigned"], [MOD_OTHER_KEY, "other-key"]] as const) {
    const m: DemoModFile = { file, name: "hello", version: "1.4.0", xs: mods[0].xs, status: "hello 1.4.0: all good", refusal, size: 0 };
    const bytes = demoModBytes(m);
    await writeFile(join(dir, file), bytes);
    m.size = bytes.length;
    mods.push(m);
  }
  await signModFile(join(dir, MOD_OTHER_KEY), stranger, PROJECT);
  return mods;
}

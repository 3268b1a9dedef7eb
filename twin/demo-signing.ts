// The signed demo (`npm start -- --signed`): an owner key pair made once and
// kept under .twin/keys (the private key mode 0600, as `ota-server keys new`
// writes it), the demo catalog signed with it as `ota-server sign` signs
// (fw.bin.sig beside each image), and three images a board with the owner's key
// must refuse: one unsigned and one signed with another key (both listed
// disabled with the reason, from /api/catalog), and one whose bytes differ from
// what the owner signed (listed, downloaded, refused at the commit).
import { existsSync, mkdirSync } from "node:fs";
import { copyFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TrustedKey } from "../modules/core/signature/keys";
import { configLine, loadPrivateKey, newKeyPair, signImageFile, writeNewFile } from "../server/signing";
import { buildImage } from "../tools/esp-image";
import { PROJECT, writeDemoCatalog, type DemoFirmware } from "./demo-catalog";

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

export interface SignedCatalog {
  firmwares: DemoFirmware[];
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
  return { firmwares: [...firmwares, ...extra.map(({ image: _image, ...f }) => f)], owner, stranger };
}

// What a catalog file says as a Moddable mod (an XS archive, .xsa): the core's
// ArchiveCheck (modules/core/mods/archive.ts) fed with the very chunks the
// image store hashes (image-store.ts), so the facts, the digests and the bytes
// served are one read of one file version. Nothing is kept of the file here
// but ArchiveCheck's own few hundred bytes.
import { ArchiveCheck, type ArchiveFacts } from "../modules/core/mods/archive";
import { nodeDigest } from "./node-digest";

export const MOD_SUFFIX = ".xsa";

/** Larger .xsa files are not read for a listing (a mod is a few KB; the mod partitions are far smaller). */
export const MAX_MOD_FILE_BYTES = 1024 * 1024;

export type ModCheck = { ok: true; facts: ArchiveFacts } | { ok: false; error: string };

export function isModName(name: string): boolean {
  return name.toLowerCase().endsWith(MOD_SUFFIX);
}

/** "17.7": the XS major and minor a mod needs (what fxMapArchive compares with the host's). */
export function xsMajorMinor(facts: ArchiveFacts): string {
  return `${facts.xs.major}.${facts.xs.minor}`;
}

/** What a board that runs this mod says in x-Ota-Mod: `<name>@<version>`. */
export function modIdentity(facts: ArchiveFacts): string {
  return `${facts.name}@${facts.version}`;
}

/** Streams a file through ArchiveCheck; stops looking at the bytes once it has failed. */
export class ModReader {
  private readonly check = new ArchiveCheck(nodeDigest);
  private error: string | undefined;

  write(chunk: Uint8Array): void {
    if (this.error !== undefined) return;
    try {
      this.check.write(chunk);
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  end(): ModCheck {
    if (this.error !== undefined) return { ok: false, error: this.error };
    try {
      return { ok: true, facts: this.check.end() };
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
  }
}

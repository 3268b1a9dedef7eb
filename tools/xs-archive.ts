// Writes XS archives (.xsa, Moddable mods) laid out byte for byte as mcrun's
// linker writes them (xs/tools/xslBase.c fxWriteArchive): the atoms, the IDEN
// atom zeroed, resource paths padded to 4 bytes with SIGN's bytes, SIGN the MD5
// of NAME, SYMB, MAPS, each module's PATH and CODE and each resource's PATH and
// DATA. For tests and the twin's demo mods, which cannot run the SDK; the
// checked-in test/fixtures/mods/hello-lin.xsa is one real mcrun built.
// The byte code is opaque here: the twin never runs it, it reads what a demo mod
// does from its ota-mod.json ("twin" field) instead.
// No Node imports: core tests use it inside XS too.
import { md5 } from "@noble/hashes/legacy.js";
import { toHex, utf8Encode } from "../modules/core/bytes";
import type { DigestFactory } from "../modules/core/ports";
import { ArchiveCheck, MOD_INFO_PATH, type XsVersion } from "../modules/core/mods/archive";
import type { ModClaim } from "../modules/core/mods/mod-statement";

/** What Moddable 8.2.3's XS writes into VERS (xsCommon.h, ECMAScript 2026 on lin and esp32). */
export const XS_8_2_3: XsVersion = { major: 17, minor: 7, patch: 0 };

export interface ArchiveOptions {
  /** The NAME atom (mcrun: "tech.moddable.<folder>"). */
  archiveName?: string;
  xs?: XsVersion;
  /** Module paths and their byte code; a `check` module is added unless one is given or `check: false`. */
  modules?: Array<{ path: string; code: Uint8Array }>;
  check?: boolean;
  resources?: Array<{ path: string; data: Uint8Array }>;
  /** Written as the ota-mod.json resource. */
  info?: { name: string; version: string; [k: string]: unknown };
  symbols?: string[];
}

const atom = (type: string, content: Uint8Array): Uint8Array => {
  const out = new Uint8Array(8 + content.length);
  new DataView(out.buffer).setUint32(0, out.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(content, 8);
  return out;
};

const cString = (s: string): Uint8Array => {
  const b = utf8Encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
};

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

export function buildArchive(options: ArchiveOptions = {}): Uint8Array {
  const xs = options.xs ?? XS_8_2_3;
  const modules = [...(options.modules ?? [{ path: "mod", code: utf8Encode("code of mod") }])];
  if (options.check !== false && !modules.some((m) => m.path === "check")) modules.push({ path: "check", code: utf8Encode("code of check") });
  const resources = [...(options.resources ?? [])];
  if (options.info) resources.push({ path: MOD_INFO_PATH, data: utf8Encode(JSON.stringify(options.info)) });
  const symbols = options.symbols ?? ["", "default", "trace"];
  const name = cString(options.archiveName ?? "tech.moddable.mod");
  const symb = concat([Uint8Array.of(symbols.length & 0xff, symbols.length >> 8), ...symbols.map(cString)]);
  const iden = new Uint8Array(symbols.length * 2);
  const maps = Uint8Array.of(1, 0, 2, 0);

  const hash = md5.create();
  hash.update(name).update(symb).update(maps);
  const mods = modules.map(({ path, code }) => {
    const p = cString(path);
    hash.update(p).update(code);
    return concat([atom("PATH", p), atom("CODE", code)]);
  });
  // fxWriteArchive pads a resource's PATH so its DATA starts 4-aligned in the file, with SIGN's bytes.
  let size = 8 + 12 + 24 + 8 + name.length + 8 + symb.length + 8 + iden.length + 8 + maps.length + 8 + mods.reduce((n, m) => n + m.length, 0) + 8;
  const pads: number[] = [];
  for (const r of resources) {
    const p = cString(r.path);
    size += 8 + p.length;
    const pad = size % 4 ? 4 - (size % 4) : 0;
    pads.push(pad);
    size += pad + 8 + r.data.length;
    hash.update(p).update(r.data);
  }
  const sign = hash.digest();
  const rsrc = resources.map((r, i) => {
    const p = cString(r.path);
    return concat([atom("PATH", concat([p, sign.subarray(0, pads[i])])), atom("DATA", r.data)]);
  });
  const archive = atom(
    "XS_A",
    concat([
      atom("VERS", Uint8Array.of(xs.major, xs.minor, xs.patch, 0)),
      atom("SIGN", sign),
      atom("NAME", name),
      atom("SYMB", symb),
      atom("IDEN", iden),
      atom("MAPS", maps),
      atom("MODS", concat(mods)),
      atom("RSRC", concat(rsrc)),
    ]),
  );
  if (archive.length !== size) throw new Error(`xs-archive: size ${archive.length}, expected ${size}`);
  return archive;
}

/** A demo or test mod: `name-version`, with a body of roughly `codeSize` bytes of byte code. */
export function demoMod(name: string, version: string, extra: { codeSize?: number; xs?: XsVersion; twin?: string; status?: string } = {}): Uint8Array {
  const code = new Uint8Array(extra.codeSize ?? 2000);
  for (let i = 0; i < code.length; i++) code[i] = (i * 31 + name.length) & 0xff;
  const info: ArchiveOptions["info"] = { name, version };
  if (extra.twin) info.twin = extra.twin;
  if (extra.status) info.status = extra.status;
  return buildArchive({ archiveName: `tech.moddable.${name}`, xs: extra.xs, modules: [{ path: "mod", code }], info });
}

/** What a signature on `mod` vouches for (mod-statement.ts): its SHA-256, size, ota-mod.json name and version, VERS, and the host app it is for. */
export function modClaimOf(mod: Uint8Array, host: string, digest: DigestFactory): ModClaim {
  const check = new ArchiveCheck(digest);
  check.write(mod);
  const facts = check.end();
  const sha256 = digest("SHA256");
  sha256.write(mod);
  return { sha256: toHex(sha256.close()), size: mod.length, name: facts.name, version: facts.version, xs: { major: facts.xs.major, minor: facts.xs.minor }, host };
}

// Checks manifest.json against the tree: valid JSON, every local path exists,
// esp32 and lin sections are complete, and every module main.ts reaches is
// resolvable by XS on each platform. XS resolves "./x" against the importing
// module's manifest key (not its file), so a relative import only works when
// the imported file is listed under the key that mirrors its path.
// With MODDABLE set to an SDK checkout, $(MODULES)/$(MODDABLE) paths are checked too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import ts from "typescript";
import { readApConfig } from "../../modules/core/wifi/ap-lifecycle";

const root = join(import.meta.dirname, "..", "..");
const text = readFileSync(join(root, "manifest.json"), "utf8");

type ModuleMap = Record<string, string | string[]>;
interface Section {
  include?: string | string[];
  modules?: ModuleMap;
  preload?: string[];
  config?: Record<string, unknown>;
  defines?: Record<string, unknown>;
  typescript?: unknown;
  error?: string;
}
interface Manifest extends Section {
  platforms: Record<string, Section>;
}

const manifest = JSON.parse(text) as Manifest;
const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Files a local module source names: "./a/b" -> a/b.ts, a/b.js or a/b.d.ts (typings for tsc); "./a/*" -> every .ts/.js in a/. */
function localFiles(source: string): string[] {
  const rel = source.slice(2);
  if (rel.endsWith("*")) {
    const dir = join(root, rel.slice(0, -1));
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith(".d.ts"))
      .map((f) => posix.join(rel.slice(0, -1), f));
  }
  return [".ts", ".js", ".d.ts"].map((ext) => rel + ext).filter((f) => existsSync(join(root, f)));
}

/**
 * Modules an SDK folder mapped under "*" brings in, by name (Moddable SDK 8.2.3's
 * listing; the $MODDABLE test checks it): the ECDSA verifier's curve arithmetic.
 */
const SDK_FOLDERS: Record<string, string[]> = { "$(MODULES)/crypt/arith/*": ["ec", "ecp", "modular", "mont"] };

/** Module key -> repository file, as mcconfig would map them for one platform. */
function keysFor(platform: string): Map<string, string> {
  const keys = new Map<string, string>();
  const sections = [manifest, manifest.platforms[platform]];
  for (const section of sections) {
    for (const [key, sources] of Object.entries(section.modules ?? {})) {
      for (const source of list(sources)) {
        if (!source.startsWith("./")) {
          if (key === "*" && source in SDK_FOLDERS) for (const name of SDK_FOLDERS[source]) keys.set(name, source.replace("*", name));
          else keys.set(key === "*" ? posix.basename(source) : key, source);
          continue;
        }
        for (const file of localFiles(source)) {
          if (file.endsWith(".d.ts")) continue; // typings only, nothing at run time
          const base = file.replace(/\.(ts|js)$/, "");
          if (key === "*") keys.set(posix.basename(base), file);
          else if (key.endsWith("*")) keys.set(key.slice(0, -1) + posix.basename(base), file);
          else keys.set(key, file);
        }
      }
    }
  }
  return keys;
}

/** SDK modules both platforms get the same way. */
const SDK_COMMON: Record<string, string | undefined> = {
  "mc/config": undefined,
  timer: undefined,
  time: undefined,
  instrumentation: "$(MODULES)/base/instrumentation/manifest.json",
  preference: "$(MODULES)/files/preference/manifest.json",
  crypt: "$(MODULES)/crypt/digest/manifest.json",
  net: "$(MODDABLE)/examples/manifest_net.json",
  modules: "$(MODULES)/base/modules/manifest.json",
  // Moddable's mDNS responder (the board announces itself for `ota discover`); it runs on the
  // SDK's socket module, which manifest_net.json already brings in.
  mdns: "$(MODULES)/network/mdns/manifest.json",
  // SNTP for the board's clock (board credentials), on the same socket module.
  sntp: "$(MODULES)/network/sntp/manifest.json",
  // ECMA-419 sockets: modules/io/manifests/{esp32,lin}/manifest.json map them (lwip/, lin/)
  "embedded:io/socket/tcp": "$(MODDABLE)/modules/io/manifest.json",
  "embedded:io/socket/listener": "$(MODDABLE)/modules/io/manifest.json",
  "embedded:io/socket/udp": "$(MODDABLE)/modules/io/manifest.json",
};

/** Modules the SDK provides and the manifest include that brings each in (undefined = always there). */
const SDK: Record<string, Record<string, string | undefined>> = {
  esp32: {
    ...SDK_COMMON,
    wifi: "$(MODULES)/network/wifi/manifest.json",
    "embedded:update": "$(MODULES)/io/update/manifest.json",
    "embedded:storage/flash": "$(MODULES)/io/update/manifest.json",
  },
  lin: {
    ...SDK_COMMON,
    wifi: "$(MODDABLE)/examples/manifest_net.json",
    "embedded:storage/files": "$(MODULES)/io/files/manifest.json",
  },
};

/** Runtime imports of a file (type-only imports and exports vanish in compilation). */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(join(root, file), "utf8"), ts.ScriptTarget.ES2022, false);
  const found: string[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      if (statement.importClause?.isTypeOnly) continue;
      const named = statement.importClause?.namedBindings;
      const onlyTypes = statement.importClause && !statement.importClause.name && named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      if (!onlyTypes) found.push(statement.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier) && !statement.isTypeOnly) {
      found.push(statement.moduleSpecifier.text);
    }
  }
  return found;
}

/** Our files reached from "main" on a platform, each with the specifiers it imports at run time. */
function reachedFiles(platform: string): Map<string, string[]> {
  const keys = keysFor(platform);
  const reached = new Map<string, string[]>();
  const queue = ["main"];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const key = queue.shift()!;
    if (seen.has(key)) continue;
    seen.add(key);
    const file = keys.get(key);
    if (file === undefined || !/\.(ts|js)$/.test(file) || !existsSync(join(root, file))) continue;
    const specifiers = runtimeImports(file);
    reached.set(file, specifiers);
    for (const specifier of specifiers) queue.push(specifier.startsWith(".") ? posix.normalize(posix.join(posix.dirname(key), specifier)) : specifier);
  }
  return reached;
}

/** Walks from "main" the way XS resolves specifiers; returns the problems found. */
function unresolved(platform: string): string[] {
  const keys = keysFor(platform);
  const includes = [...list(manifest.include), ...list(manifest.platforms[platform].include)];
  const problems: string[] = [];
  const seen = new Set<string>();
  const queue = ["main"];
  while (queue.length > 0) {
    const key = queue.shift()!;
    if (seen.has(key)) continue;
    seen.add(key);
    const file = keys.get(key);
    if (file === undefined) {
      if (!(key in SDK[platform])) problems.push(`${key}: no module with this key`);
      else {
        const from = SDK[platform][key];
        if (from !== undefined && !includes.includes(from)) problems.push(`${key}: needs include ${from}`);
      }
      continue;
    }
    if (!/\.(ts|js)$/.test(file) || !existsSync(join(root, file))) continue; // an SDK file mapped by key
    for (const specifier of runtimeImports(file)) {
      queue.push(specifier.startsWith(".") ? posix.normalize(posix.join(posix.dirname(key), specifier)) : specifier);
    }
  }
  return problems;
}

test("manifest.json is valid JSON with esp32 and lin sections and refuses other platforms", () => {
  assert.ok(manifest.platforms.esp32, "esp32 section");
  assert.ok(manifest.platforms.lin, "lin section");
  assert.match(manifest.platforms["..."]?.error ?? "", /esp32 and lin/);
});

test("every local path the manifest names exists", () => {
  const sections: Array<[string, Section]> = [["base", manifest], ...Object.entries(manifest.platforms)];
  let checked = 0;
  for (const [name, section] of sections) {
    for (const include of list(section.include)) {
      if (include.startsWith("./")) {
        assert.ok(existsSync(join(root, include)), `${name}: include ${include}`);
        checked++;
      }
    }
    for (const [key, sources] of Object.entries(section.modules ?? {})) {
      for (const source of list(sources)) {
        if (!source.startsWith("./")) continue;
        assert.ok(localFiles(source).length > 0, `${name}: module ${key} -> ${source} names no file`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 10, `only ${checked} local paths found`);
});

test("esp32: rollback in the bootloader and the app, through the project's sdkconfig fragment; its version is config.appVersion", () => {
  const esp32 = manifest.platforms.esp32 as Section & { build?: Record<string, string> };
  assert.equal(esp32.build?.SDKCONFIGPATH, "./sdkconfig", "mcmanifest.js merges $(SDKCONFIGPATH)/sdkconfig.defaults");
  const options = new Map(
    readFileSync(join(root, "sdkconfig/sdkconfig.defaults"), "utf8")
      .split("\n")
      .filter((line) => /^CONFIG_\w+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)] as [string, string]),
  );
  assert.equal(options.get("CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE"), "y");
  assert.equal(options.get("CONFIG_BOOTLOADER_SKIP_VALIDATE_ALWAYS"), "n", "Moddable's default skips validation; the bootloader must check images to fall back");
  assert.equal(options.get("CONFIG_APP_PROJECT_VER_FROM_CONFIG"), "y");
  assert.equal(options.get("CONFIG_APP_PROJECT_VER"), JSON.stringify(manifest.config?.appVersion), "esp_app_desc_t.version = config.appVersion");
});

test("esp32: our partition table (no autosplit), a mod host, embedded:update, AP-capable wifi, native system module", () => {
  const esp32 = manifest.platforms.esp32 as Section & { build?: Record<string, string> };
  assert.equal(esp32.build?.PARTITIONS_FILE, "./sdkconfig/partitions.csv", "mcmanifest.js reads PARTITIONS_FILE before the target's table");
  assert.ok(existsSync(join(root, "sdkconfig/partitions.csv")));
  assert.equal(esp32.defines?.ota, undefined, "autosplit would carve a table of its own");
  assert.equal(esp32.defines?.XS_MODS, 1, "MODDEF_XS_MODS: xsHost.c maps the xs partition");
  assert.ok(list(esp32.include).includes("$(MODULES)/io/update/manifest.json"));
  assert.ok(list(esp32.include).includes("$(MODULES)/network/wifi/manifest.json"), "legacy wifi is not in manifest_net on esp32");
  assert.equal(esp32.modules?.["modules/moddable/platform"], "./modules/moddable/platform-esp32");
  assert.ok(existsSync(join(root, "modules/moddable/esp32/system.c")), "native half of esp32-system");
});

test("networking is ECMA-419 on both platforms: the SDK's HTTP client and server, preloaded; no legacy http, socket or dns/server", () => {
  const keys = { ...manifest.modules, ...manifest.platforms.esp32.modules, ...manifest.platforms.lin.modules };
  assert.equal(manifest.modules?.["embedded:network/http/client"], "$(MODDABLE)/examples/io/tcp/httpclient/httpclient");
  assert.equal(manifest.modules?.["embedded:network/http/server"], "$(MODDABLE)/examples/io/listener/httpserver/httpserver");
  assert.ok(list(manifest.include).includes("$(MODDABLE)/modules/io/manifest.json"), "ECMA-419 sockets");
  for (const key of ["embedded:network/http/client", "embedded:network/http/server"]) assert.ok(manifest.preload?.includes(key), `${key} preloaded`);
  for (const legacy of ["http", "socket", "dns/server"]) assert.equal(keys[legacy], undefined, `no "${legacy}" module key`);
  for (const platform of ["esp32", "lin"]) {
    const reached = reachedFiles(platform);
    for (const [file, specifiers] of reached) {
      for (const legacy of ["http", "socket", "dns/server"]) assert.ok(!specifiers.includes(legacy), `${platform}: ${file} imports legacy "${legacy}"`);
    }
    assert.ok([...reached.values()].some((s) => s.includes("embedded:network/http/client")), `${platform}: the HTTP client is reached from main`);
    assert.ok([...reached.values()].some((s) => s.includes("embedded:io/socket/udp")), `${platform}: captive DNS over ECMA-419 UDP`);
  }
});

test("lin: file-backed OTA slots (ECMA-419 files under /tmp) and loopback defaults for the simulator", () => {
  const lin = manifest.platforms.lin;
  assert.equal(lin.modules?.["modules/moddable/platform"], "./modules/moddable/platform-sim");
  assert.ok(list(lin.include).includes("$(MODULES)/io/files/manifest.json"));
  assert.ok(!list(lin.include).includes("$(MODULES)/files/file/manifest.json"), "the legacy file module is gone");
  assert.equal(lin.config?.files, "/tmp", "files.js roots ECMA-419 files at config.files");
  assert.equal(lin.config?.updateHost, "127.0.0.1");
  assert.equal(lin.config?.portalHost, `127.0.0.1:${String(lin.config?.portalPort)}`);
  assert.equal(lin.config?.simOtaCapacity, 0x1d0000, "ota_1 of sdkconfig/partitions.csv");
  assert.equal(lin.defines?.XS_MODS, 1, "a mod host in the simulator too");
});

test("both platforms host mods: Modules, xs-mods (native, both platforms), ota/host for mods; the mod partitions' adapters reach main", () => {
  assert.ok(list(manifest.include).includes("$(MODULES)/base/modules/manifest.json"));
  assert.deepEqual(manifest.modules?.["xs-mods"], ["./modules/moddable/xs-mods", "./modules/types/xs-mods"]);
  assert.ok(existsSync(join(root, "modules/moddable/xs-mods.c")), "native half of xs-mods");
  assert.equal(manifest.modules?.["ota/host"], "./modules/moddable/mod-api");
  assert.ok(!manifest.preload?.includes("ota/host"), "a preloaded module's bindings are frozen: the host could not connect");
  const adapters: Record<string, string> = { esp32: "modules/moddable/flash-area-esp32.ts", lin: "modules/moddable/flash-area-file.ts" };
  for (const platform of ["esp32", "lin"]) {
    const reached = reachedFiles(platform);
    assert.ok(reached.has(adapters[platform]), `${platform}: ${adapters[platform]}`);
    assert.ok(reached.has("modules/moddable/mod-host.ts"), `${platform}: mod-host`);
  }
});

test("config carries AP prefix and password, update server host/port/path and portal password", () => {
  const config = manifest.config ?? {};
  for (const name of ["apSsidPrefix", "apPassword", "updateHost", "updatePort", "updatePath", "portalPassword"]) assert.ok(name in config, name);
  assert.equal(config.updatePort, 8000, "AutoConnect's default update server port");
  const ap = String(config.apPassword);
  assert.ok(ap === "" || (ap.length >= 8 && ap.length <= 64), "xs_wifi_accessPoint needs 8-64 characters");
});

test("fleet credentials: off by default (config.fleetSecret empty), so check-ins carry no x-Ota-Auth until an owner sets one", () => {
  assert.equal(manifest.config?.fleetSecret, "");
});

test("config carries the AP lifecycle: fallback mode, 60 s before the fallback, 300 s of linger, read without a problem", () => {
  const config = manifest.config ?? {};
  assert.deepEqual([config.apMode, config.apFallbackAfter, config.apLinger], ["fallback", 60, 300]);
  assert.deepEqual(readApConfig(config), { options: { mode: "fallback", fallbackAfterMs: 60_000, lingerMs: 300_000 }, problems: [] });
});

for (const platform of ["esp32", "lin"]) {
  test(`${platform}: every module main.ts reaches resolves under a manifest key`, () => {
    assert.deepEqual(unresolved(platform), []);
  });
}

test("signed updates: off by default (config.signingKeys empty); the native verifier and the SDK's ECDSA modules reach main on both platforms", () => {
  assert.deepEqual(manifest.config?.signingKeys, [], "an owner turns signatures on by adding a key");
  for (const platform of ["esp32", "lin"]) {
    const reached = reachedFiles(platform);
    assert.ok(reached.has("modules/moddable/ecdsa-verifier.ts"), `${platform}: ecdsa-verifier reached`);
    assert.ok(reached.has("modules/core/signature/policy.ts"), `${platform}: signature policy reached`);
    const keys = keysFor(platform);
    for (const sdkModule of ["ecdsa", "curve", "ecp", "ec", "mont", "modular", "ber", "pkcs1", "rng"]) assert.ok(keys.has(sdkModule), `${platform}: ${sdkModule} mapped`);
  }
});

test("the import walk notices a module missing from the manifest", () => {
  const saved = manifest.modules!["modules/moddable/timer-clock"];
  delete manifest.modules!["modules/moddable/timer-clock"];
  try {
    assert.deepEqual(unresolved("lin"), ["modules/moddable/timer-clock: no module with this key"]);
  } finally {
    manifest.modules!["modules/moddable/timer-clock"] = saved;
  }
});

/** Module keys of our own files reached from "main" on a platform (the files XS loads at run time unless preloaded). */
function reachedKeys(platform: string): Set<string> {
  const keys = keysFor(platform);
  const reached = new Set<string>();
  const queue = ["main"];
  while (queue.length > 0) {
    const key = queue.shift()!;
    if (reached.has(key)) continue;
    const file = keys.get(key);
    if (file === undefined || !/\.(ts|js)$/.test(file) || !existsSync(join(root, file))) continue;
    reached.add(key);
    for (const specifier of runtimeImports(file)) queue.push(specifier.startsWith(".") ? posix.normalize(posix.join(posix.dirname(key), specifier)) : specifier);
  }
  return reached;
}

/**
 * Our modules XS loads at run time, and why each cannot be preloaded (docs/architecture.md,
 * "Memory"). A preloaded module is run by the linker at build time: its functions, classes and
 * constants are in flash and cost no XS heap; a module loaded at run time puts every function
 * and class it defines in the slot heap (in the simulator the idle portal went from 285-298 KB
 * of slots to 61-69 KB by preloading the rest).
 */
const NOT_PRELOADED: Record<string, string> = {
  main: "runs the app when it loads (Wi-Fi, sockets, files: native calls the linker cannot make)",
  "modules/moddable/platform": "builds the platform when it loads (the simulator's plays the bootloader on its files)",
  "modules/moddable/preference-store": "the SDK's preference module reads its file when it loads in the simulator",
  "ota/host": "the host connects its receivers at run time, and mods import it by name",
};
/** Simulator adapters over the ECMA-419 files module, which the linker cannot run ("link: unavailable function"). */
const NOT_PRELOADED_LIN = ["modules/moddable/files-root", "modules/moddable/flash-area-file", "modules/moddable/ota-writer-file", "modules/moddable/sim-flash"];

test("preload: every core module and every adapter main reaches is preloaded, except those that cannot be", () => {
  const coreKeys = readdirSync(join(root, "modules/core"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => posix.join("modules/core", f.replace(/\\/g, "/").replace(/\.ts$/, "")));
  assert.ok(coreKeys.length >= 50, `found ${coreKeys.length} core modules`);
  for (const platform of ["esp32", "lin"]) {
    const preload = new Set([...list(manifest.preload), ...list(manifest.platforms[platform].preload)]);
    const keys = keysFor(platform);
    for (const key of preload) assert.ok(keys.has(key) || key in SDK[platform] || key.startsWith("embedded:"), `${platform}: preload names ${key}, which no module has`);
    for (const key of coreKeys) assert.ok(preload.has(key), `${platform}: ${key} is preloaded (engine-neutral: nothing in it needs the device)`);
    const runtime = platform === "lin" ? [...Object.keys(NOT_PRELOADED), ...NOT_PRELOADED_LIN] : Object.keys(NOT_PRELOADED);
    const reached = reachedKeys(platform);
    assert.ok(reached.size >= 60, `${platform}: only ${reached.size} modules reached`);
    for (const key of reached) {
      if (runtime.includes(key)) assert.ok(!preload.has(key), `${platform}: ${key} cannot be preloaded`);
      else assert.ok(preload.has(key), `${platform}: ${key} is loaded at run time (in the heap): preload it, or say in NOT_PRELOADED why it cannot be`);
    }
  }
});

const sdk = process.env.MODDABLE;
test("SDK paths exist in $MODDABLE", { skip: sdk && existsSync(sdk) ? false : "set MODDABLE to an SDK checkout to check $(MODULES) paths" }, () => {
  const expand = (p: string) => p.replace("$(MODULES)", join(sdk!, "modules")).replace("$(MODDABLE)", sdk!);
  const sections: Section[] = [manifest, ...Object.values(manifest.platforms)];
  for (const section of sections) {
    for (const include of list(section.include)) if (include.startsWith("$(")) assert.ok(existsSync(expand(include)), include);
    for (const sources of Object.values(section.modules ?? {})) {
      for (const source of list(sources)) {
        if (!source.startsWith("$(")) continue;
        const path = expand(source);
        const found = path.endsWith("*") ? existsSync(dirname(path)) : [".js", ".ts"].some((ext) => existsSync(path + ext));
        assert.ok(found, source);
        for (const name of SDK_FOLDERS[source] ?? []) assert.ok(existsSync(join(dirname(path), `${name}.js`)), `${source}: ${name}.js`);
      }
    }
  }
});

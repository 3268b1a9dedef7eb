// Every header a native file includes must be reachable on mcconfig's include
// path for the ESP32 (Moddable 8.2.3, ESP-IDF v6.0), or the board cannot be
// built. CI has neither the SDK nor ESP-IDF, so the path and where each header
// lives come from fixtures/esp32c3-include-path.json, which
// scripts/esp32-include-facts.js writes from the real sources; the compile
// itself is ../shared/tools/esp32-compile-check's job (README, "Flash a board").
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";

const root = join(import.meta.dirname, "..", "..");
interface Facts {
  includeDirs: string[];
  headers: Record<string, { at: string | null; includes: string[] }>;
}
const facts = JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", "esp32c3-include-path.json"), "utf8")) as Facts;

// The C library's own headers (newlib), which every ESP-IDF build has.
const LIBC = new Set(["stdint.h", "stddef.h", "stdbool.h", "stdarg.h", "stdio.h", "stdlib.h", "string.h", "limits.h", "errno.h", "inttypes.h", "math.h"]);
const generated = (name: string): boolean => /^mc\.[a-z]+\.h$/.test(name) || name === "sdkconfig.h";

function nativeFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? nativeFiles(p) : /\.[ch]$/.test(name) ? [p] : [];
  });
}

function includesOf(text: string): { name: string; quoted: boolean }[] {
  return [...text.matchAll(/^\s*#\s*include\s+(?:"([^"]+)"|<([^>]+)>)/gm)].map((m) => ({ name: m[1] ?? m[2], quoted: m[1] !== undefined }));
}

/** Why mcconfig's build cannot reach `name` from `file`, or undefined when it can. */
function unreachable(file: string, name: string, quoted: boolean, f: Facts = facts): string | undefined {
  if (quoted && existsSync(join(dirname(file), name))) return undefined;
  if (generated(name)) return undefined;
  const header = f.headers[name];
  if (!header) {
    if (!quoted && LIBC.has(name)) return undefined;
    return `"${name}" is not in test/device/fixtures/esp32c3-include-path.json: check the file with esp32-compile-check, then rerun scripts/esp32-include-facts.js`;
  }
  const onPath = (at: string | null): boolean => at !== null && f.includeDirs.includes(at);
  if (!onPath(header.at)) {
    return `"${name}" lives in ${header.at ?? "no ESP-IDF folder"}, which is not on mcconfig's include path: name it from the components folder, as the SDK's ota.c does ("app_update/include/esp_ota_ops.h")`;
  }
  for (const inner of header.includes) {
    const next = f.headers[inner];
    if (next && !onPath(next.at)) return `"${name}" includes "${inner}", which lives in ${next.at ?? "no ESP-IDF folder"}, off mcconfig's include path`;
  }
  return undefined;
}

test("native files: every header is reachable on mcconfig's ESP32 include path", () => {
  const files = nativeFiles(join(root, "modules"));
  assert.ok(files.some((f) => f.endsWith("system.c")), "the native files are found");
  const problems = files.flatMap((file) =>
    includesOf(readFileSync(file, "utf8")).flatMap(({ name, quoted }) => {
      const why = unreachable(file, name, quoted);
      return why ? [`${relative(root, file)}: ${why}`] : [];
    }),
  );
  assert.deepEqual(problems, []);
});

test("native includes: the two headers that broke the ESP32 build are caught by their bare names", () => {
  const file = join(root, "modules", "moddable", "esp32", "system.c");
  const broken = '#include "xsmc.h"\n#include "esp_flash.h"\n#include "esp_ota_ops.h"\n#include <string.h>\n';
  const why = includesOf(broken).map(({ name, quoted }) => unreachable(file, name, quoted));
  assert.equal(why[0], undefined);
  assert.match(why[1] ?? "", /"esp_flash.h" includes "hal\/spi_flash_types.h", which lives in \$\(IDF_PATH\)\/components\/esp_hal_mspi\/include/);
  assert.match(why[2] ?? "", /"esp_ota_ops.h" lives in \$\(IDF_PATH\)\/components\/app_update\/include, which is not on/);
  assert.equal(why[3], undefined);
  assert.equal(unreachable(file, "app_update/include/esp_ota_ops.h", true), undefined, "the SDK's convention is reachable");
  assert.match(unreachable(file, "esp_new_thing.h", true) ?? "", /not in test\/device\/fixtures/, "an unknown header is not waved through");
  assert.match(unreachable(file, "esp_partition.h", false, { ...facts, includeDirs: [] }) ?? "", /not on mcconfig's include path/);
});

test("native includes: the fixture carries mcconfig's path, not every IDF folder", () => {
  assert.ok(facts.includeDirs.includes("$(IDF_PATH)/components"), "component-qualified names resolve from the components folder");
  assert.ok(facts.includeDirs.includes("$(IDF_PATH)/components/esp_partition/include"));
  assert.ok(!facts.includeDirs.includes("$(IDF_PATH)/components/app_update/include"));
  assert.ok(!facts.includeDirs.includes("$(IDF_PATH)/components/esp_hal_mspi/include"));
});

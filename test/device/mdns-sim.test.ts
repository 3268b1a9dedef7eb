// The lin simulator must not start mDNS (modules/moddable/platform-api.ts mdnsUnavailable): in
// SDK 8.2.3 the failed multicast socket's destructor closes fd 0, and the next ECMA-419 TCP
// socket, on fd 0, cannot write (docs/mods.md, "By hand in the simulator"). Static checks of the
// three files involved; the by-hand run is in the docs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");
const read = (file: string) => readFileSync(join(root, file), "utf8");

test("the simulator says why it does not announce; the board does not say it", () => {
  assert.match(read("modules/moddable/platform-sim.ts"), /^\s*mdnsUnavailable: "[^"]+",$/m);
  assert.doesNotMatch(read("modules/moddable/platform-esp32.ts"), /mdnsUnavailable/);
});

test("main makes the announcer only where mDNS can run, and every use of it allows for none", () => {
  const main = read("main.ts");
  assert.match(main, /const announcer = platform\.mdnsUnavailable === undefined \? new MdnsAnnouncer\(/);
  const uses = main.match(/announcer\??\.\w+\(/g) ?? [];
  assert.ok(uses.length >= 2, `found ${uses.length} uses`);
  for (const use of uses) assert.ok(use.startsWith("announcer?."), `${use}: the simulator has no announcer`);
});

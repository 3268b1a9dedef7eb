// Bench: what guessing the portal password costs an attacker. Drives wrong
// passwords through the real portal handler (the board's defaults: 3 free,
// then a wait doubling from 1 s to 5 min per address) on a fake clock, waiting
// exactly the Retry-After each 429 asks for, and reports the time the guesses
// took; then checks that the right password still works, at once from another
// address and from the guessing one after its wait. Writes the figures to
// output/benchmarks/guessing.txt.
//   node --import tsx bench/guessing.ts [guesses...]
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { portalRig, header } from "../test/fakes/portal-client";
import { basicHeader, PASSWORD_KEY } from "../modules/core/portal/basic-auth";
import { THROTTLE_DEFAULTS } from "../modules/core/portal/login-throttle";

const counts = process.argv.slice(2).map(Number).filter((n) => n > 0);
const GUESSES = counts.length > 0 ? counts : [10, 100, 1000];

function human(ms: number): string {
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(0)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function run(guesses: number): { ms: number; refused: number; ownerAtOnce: boolean; afterWait: boolean } {
  const rig = portalRig();
  rig.store.set(PASSWORD_KEY, "correct horse battery");
  const attacker = "192.168.4.66";
  const wrong = { remoteAddress: attacker, headers: { authorization: basicHeader("admin", "guess") } };
  const start = rig.clock.now();
  let refused = 0;
  for (let made = 0; made < guesses; ) {
    const r = rig.get("/api/progress", wrong);
    if (r.status === 429) {
      refused++;
      rig.clock.advance(Number(header(r, "retry-after")) * 1000);
    } else if (r.status === 401) made++;
    else throw new Error(`unexpected ${r.status}`);
  }
  const ms = rig.clock.now() - start;
  const right = (remoteAddress: string) => rig.get("/api/progress", { remoteAddress, headers: { authorization: basicHeader("admin", "correct horse battery") } }).status;
  const ownerAtOnce = right("192.168.4.2") === 200;
  rig.clock.advance(THROTTLE_DEFAULTS.maxMs);
  return { ms, refused, ownerAtOnce, afterWait: right(attacker) === 200 };
}

const { freeFailures, baseMs, maxMs, capacity } = THROTTLE_DEFAULTS;
const lines = [
  `Portal password guessing, one address, the board's back-off: ${freeFailures} free, then ${baseMs / 1000} s doubling to ${maxMs / 1000} s; table of ${capacity} addresses`,
  `${"wrong guesses".padStart(14)} ${"time taken".padStart(12)} ${"429s".padStart(6)}  right password after`,
];
for (const n of GUESSES) {
  const r = run(n);
  lines.push(`${String(n).padStart(14)} ${human(r.ms).padStart(12)} ${String(r.refused).padStart(6)}  other address at once: ${r.ownerAtOnce ? "yes" : "NO"}; same address after its wait: ${r.afterWait ? "yes" : "NO"}`);
}
const text = lines.join("\n") + "\n";
process.stdout.write(text);
const dir = join(import.meta.dirname, "..", "output", "benchmarks");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "guessing.txt"), `$ node --import tsx bench/guessing.ts\n${text}`);

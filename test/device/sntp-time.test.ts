// SntpTime (modules/moddable/sntp-time.ts) bundled over fakes of the SDK's
// `sntp` and `time` modules (the callback protocol of SDK 8.2.3
// modules/network/sntp/sntp.js: (SNTP.time, seconds), (SNTP.retry),
// (SNTP.error, message)): one exchange at a time, none while the clock is set
// or with the host "", Time.set with the seconds it gives, again after an
// error, and nothing thrown back into the socket's callback.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { build } from "esbuild";

type Callback = (message: number, value?: number | string) => unknown;
interface Fakes {
  created: Array<{ host: string; callback: Callback }>;
  set: number[];
  setThrows: boolean;
}
const fakes: Fakes = { created: [], set: [], setThrows: false };
(globalThis as { __sntpFakes?: Fakes }).__sntpFakes = fakes;

const SNTP = `export default class SNTP {
  static time = 1; static retry = 2; static error = -1;
  constructor(options, callback) { globalThis.__sntpFakes.created.push({ host: options.host, callback }); }
}`;
const TIME = `export default { set(seconds) { if (globalThis.__sntpFakes.setThrows) throw new Error("no settimeofday"); globalThis.__sntpFakes.set.push(seconds); } }`;

type SntpTimeClass = new (host: string, log: (line: string) => void) => { start(): void };

async function load(): Promise<SntpTimeClass> {
  const result = await build({
    entryPoints: [join(import.meta.dirname, "..", "..", "modules", "moddable", "sntp-time.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    write: false,
    plugins: [
      {
        name: "moddable-fakes",
        setup(b) {
          b.onResolve({ filter: /^(sntp|time)$/ }, (a) => ({ path: a.path, namespace: "fake" }));
          b.onLoad({ filter: /.*/, namespace: "fake" }, (a) => ({ contents: a.path === "sntp" ? SNTP : TIME, loader: "js" }));
        },
      },
    ],
  });
  const module = (await import(`data:text/javascript;base64,${Buffer.from(result.outputFiles[0].text).toString("base64")}`)) as { SntpTime: SntpTimeClass };
  return module.SntpTime;
}

test("asks once while the clock is unset, sets it from the answer, again after an error; not while set, not with no host", async () => {
  const SntpTime = await load();
  const realNow = Date.now;
  let now = 12_000; // an ESP32 without SNTP: 1970 plus its uptime
  Date.now = () => now;
  try {
    const lines: string[] = [];
    const sntp = new SntpTime("pool.ntp.org", (l) => lines.push(l));
    sntp.start();
    sntp.start(); // already asking
    assert.deepEqual(fakes.created.map((c) => c.host), ["pool.ntp.org"]);
    fakes.created[0].callback(2); // a retry: still asking
    sntp.start();
    assert.equal(fakes.created.length, 1);
    fakes.created[0].callback(-1, "no response from SNTP server");
    assert.match(lines.at(-1) ?? "", /no response from SNTP server/);
    sntp.start(); // after an error: asks again
    assert.equal(fakes.created.length, 2);
    fakes.created[1].callback(1, 1_800_000_000);
    assert.deepEqual(fakes.set, [1_800_000_000]);
    assert.match(lines.at(-1) ?? "", /clock set from pool\.ntp\.org: 2027-01-15T08:00:00\.000Z/);
    now = 1_800_000_000_000; // Time.set took
    sntp.start();
    assert.equal(fakes.created.length, 2);

    now = 12_000;
    new SntpTime("", () => {}).start(); // config.sntp "": off
    assert.equal(fakes.created.length, 2);

    fakes.setThrows = true;
    const failing = new SntpTime("time.example", (l) => lines.push(l));
    failing.start();
    assert.doesNotThrow(() => fakes.created[2].callback(1, 1_800_000_000));
    assert.match(lines.at(-1) ?? "", /no settimeofday/);
    failing.start(); // not stuck "asking"
    assert.equal(fakes.created.length, 4);
  } finally {
    Date.now = realNow;
  }
});

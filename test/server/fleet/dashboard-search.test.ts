// The dashboard's device list at fleet scale, on both databases: pages of 50
// (every device on exactly one page, failed ones first), search by part of a
// MAC, version, channel and last result, hostile search text (LIKE wildcards,
// quotes, NUL, very long strings) neither matching everything nor failing,
// and the fleet's picture: the numbers its bars draw are the fleet's.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { barChart } from "../../../server/fleet/chart";
import { bucketOf, firstStage } from "../../../server/fleet/cohort";
import { macDigits, PAGE_SIZE, TOP_VERSIONS } from "../../../server/fleet/device-search";
import type { UpdateResult } from "../../../server/fleet/outcome";
import { buildImage } from "../../../tools/esp-image";
import { BACKENDS } from "../../support/databases";
import { macOf, startFleetServer, type FleetServer } from "./helpers";

interface Board {
  mac: string;
  version: string;
  channel: string;
  result?: UpdateResult;
}

const N = 130;
const RESULTS: Array<UpdateResult | undefined> = ["rolled-back", "failed", "valid", "valid", "valid", "valid", undefined, undefined, undefined, undefined];
const BOARDS: Board[] = Array.from({ length: N }, (_, i) => ({
  mac: macOf(0x500 + i),
  // 14 versions, one far more common than the others: more than the picture draws one by one
  version: `1.${i < 112 ? i % 14 : 0}.0`,
  channel: i % 3 === 0 ? "beta" : "stable",
  result: RESULTS[i % 10],
}));
const count = <T>(xs: T[], key: (x: T) => string) => xs.reduce((m, x) => m.set(key(x), (m.get(key(x)) ?? 0) + 1), new Map<string, number>());

/** The rows of the page's device table, in order. */
const rows = (html: string) => [...html.matchAll(/<tr class="[^"]*" data-mac="([^"]+)">/g)].map((m) => m[1]);
/** The bars a chart draws: [label, count]. */
function bars(html: string, id: string): Array<[string, number]> {
  const figure = new RegExp(`<figure class="chart" id="${id}">([\\s\\S]*?)</figure>`).exec(html);
  assert.ok(figure, `no chart ${id}`);
  return [...figure[1].matchAll(/<g class="bar" data-label="([^"]*)" data-count="(\d+)">/g)].map((m) => [m[1], Number(m[2])]);
}
const matching = (html: string) => Number(/id="device-count" data-matching="(\d+)"/.exec(html)?.[1]);

for (const backend of BACKENDS) {
  describe(`dashboard at scale on ${backend.name}`, { skip: backend.skip }, () => {
    let s: FleetServer;
    const page = async (query: string) => {
      const r = await s.api<string>(`/dashboard${query}`);
      assert.equal(r.status, 200, `${query}: ${r.status}`);
      return r.body;
    };
    before(async () => {
      s = await startFleetServer(backend, { rules: "default: { firmware: fw/v2.bin }", files: { "fw/v2.bin": Buffer.from(buildImage({ version: "2.0.0", size: 20_000 })) } });
      const now = Date.now();
      for (const b of BOARDS)
        await s.fleet!.registry.touch(
          { mac: b.mac, family: "esp32", channel: b.channel, bucket: bucketOf(b.mac), version: b.version, report: b.result ? { result: b.result, version: "2.0.0" } : undefined },
          now,
        );
    });
    after(() => s?.stop());

    test(`pages of ${PAGE_SIZE}: every device on exactly one page, failed and rolled back first, then by MAC`, async () => {
      const pages = Math.ceil(N / PAGE_SIZE);
      const seen: string[] = [];
      for (let p = 1; p <= pages; p++) {
        const html = await page(`?page=${p}`);
        assert.match(html, new RegExp(`<nav class="pager" data-page="${p}" data-pages="${pages}">`));
        const macs = rows(html);
        assert.equal(macs.length, p < pages ? PAGE_SIZE : N - PAGE_SIZE * (pages - 1));
        seen.push(...macs);
      }
      const bad = (m: string) => (["rolled-back", "failed"].includes(BOARDS.find((b) => b.mac === m)!.result ?? "") ? 0 : 1);
      const expected = BOARDS.map((b) => b.mac).sort((a, b) => bad(a) - bad(b) || (a < b ? -1 : 1));
      assert.deepEqual(seen, expected);
      // past the end: the last page, not an empty one
      assert.deepEqual(rows(await page("?page=999")), rows(await page(`?page=${pages}`)));
    });

    test("search by part of a MAC, in any case and spelling; by version, channel, last result; filters combine and pages keep them", async () => {
      const target = BOARDS[77].mac; // 24:6F:28:10:05:4D
      const tail = target.slice(-5); // "05:4D"
      const expect = (pred: (b: Board) => boolean) => BOARDS.filter(pred).map((b) => b.mac).sort();
      for (const typed of [tail, tail.toLowerCase(), tail.replace(":", ""), tail.replace(":", "-"), ` ${tail} `])
        assert.deepEqual(rows(await page(`?mac=${encodeURIComponent(typed)}`)).sort(), expect((b) => b.mac.replace(/:/g, "").includes(tail.replace(":", ""))), typed);
      assert.deepEqual(rows(await page(`?mac=${encodeURIComponent(target)}`)), [target]);
      const v = "1.3.0";
      assert.deepEqual(rows(await page(`?version=${v}`)).sort(), expect((b) => b.version === v));
      assert.deepEqual(rows(await page("?channel=beta&version=1.0.0")).sort(), expect((b) => b.channel === "beta" && b.version === "1.0.0"));
      assert.deepEqual(rows(await page("?result=failed")).sort(), expect((b) => b.result === "failed"));
      assert.equal(matching(await page("?result=none")), BOARDS.filter((b) => !b.result).length);
      // an empty form field is no filter
      assert.equal(matching(await page("?mac=&version=&channel=&result=")), N);
      // the pager keeps the filters
      const stable = await page("?channel=stable");
      assert.equal(matching(stable), BOARDS.filter((b) => b.channel === "stable").length);
      assert.match(stable, /<a href="\/dashboard\?channel=stable&amp;page=2#devices" rel="next">/);
      const second = rows(await page("?channel=stable&page=2"));
      assert.ok(second.length > 0 && second.every((m) => BOARDS.find((b) => b.mac === m)!.channel === "stable"));
    });

    test("hostile search text: wildcards and quotes match only themselves, NUL and overlong text are refused, the registry is intact", async () => {
      for (const q of ["?mac=%25", "?mac=_", "?mac=%25%25", "?mac=*", "?version=%25", "?version=1._.0", "?version=1.%25", "?channel=%25", "?channel=st_ble",
        `?channel=${encodeURIComponent("stable' OR '1'='1")}`, `?version=${encodeURIComponent("'; DROP TABLE devices; --")}`, `?mac=${encodeURIComponent("4D' OR 1=1 --")}`])
        assert.equal(matching(await page(q)), 0, q);
      for (const q of ["?version=1.0%00", "?mac=4D%00", "?channel=%00stable", `?mac=${"4".repeat(65)}`, `?version=${"x".repeat(1000)}`, "?page=0", "?page=-1", "?page=x", "?page=1.5"]) {
        const r = await s.api<string>(`/dashboard${q}`);
        assert.equal(r.status, 400, q.slice(0, 40));
      }
      // longer than a request head may be: refused before any route
      assert.equal((await s.api<string>(`/dashboard?version=${"x".repeat(20_000)}`)).status, 431);
      assert.equal(matching(await page("")), N);
      assert.equal(await s.fleet!.registry.count(), N);
      // an accepted value is shown back escaped, never as markup
      const echoed = await page(`?version=${encodeURIComponent('"><script>x</script>')}`);
      assert.doesNotMatch(echoed, /<script>x<\/script>/);
      assert.match(echoed, /value="&quot;&gt;&lt;script&gt;x&lt;\/script&gt;"/);
      assert.equal(macDigits("%"), undefined);
      assert.equal(macDigits("aa:bb-cc.dd"), "AABBCCDD");
    });

    test("the picture: boards per version (the rest as other), per last result, per stage of the rollout under way", async () => {
      const html = await page("");
      const versions = bars(html, "chart-versions");
      const truth = count(BOARDS, (b) => b.version);
      assert.equal(versions.length, TOP_VERSIONS + 1);
      assert.equal(versions.at(-1)![0], "other");
      for (const [label, n] of versions.slice(0, -1)) assert.equal(n, truth.get(label), label);
      assert.deepEqual(versions.slice(0, -1).map(([, n]) => n), versions.slice(0, -1).map(([, n]) => n).sort((a, b) => b - a), "most common first");
      assert.equal(versions.at(-1)![1], N - versions.slice(0, -1).reduce((t, [, n]) => t + n, 0));
      assert.equal(versions[0][0], "1.0.0");
      const results = new Map(bars(html, "chart-results"));
      assert.deepEqual(results, count(BOARDS, (b) => b.result ?? "none"));
      assert.doesNotMatch(html, /id="chart-stages"/, "no rollout, no stage chart");

      const stages = [10, 50, 100];
      assert.equal((await s.api("/api/rollouts", { method: "POST", body: { channel: "stable", image: "fw/v2.bin", stages } })).status, 201);
      const drawn = bars(await page(""), "chart-stages");
      const stable = BOARDS.filter((b) => b.channel === "stable");
      assert.deepEqual(
        drawn,
        stages.map((p, i) => [`1: stage ${i + 1} (${p} %)`, stable.filter((b) => firstStage(bucketOf(b.mac), stages) === i).length]),
      );
      assert.equal(drawn.reduce((t, [, n]) => t + n, 0), stable.length);
    });
  });
}

describe("bar chart", () => {
  test("bar lengths are proportional to the counts; labels are escaped; an empty chart says so", () => {
    const svg = barChart("c", "T", [{ label: "a<b", count: 40 }, { label: "x", count: 10 }, { label: "zero", count: 0 }]);
    const widths = [...svg.matchAll(/<rect x="\d+" y="\d+" width="(\d+)"/g)].map((m) => Number(m[1]));
    assert.equal(widths.length, 3);
    assert.equal(widths[0] / 4, widths[1]);
    assert.equal(widths[2], 0);
    assert.match(svg, /data-label="a&lt;b"/);
    assert.doesNotMatch(svg, /a<b/);
    assert.match(barChart("e", "T", []), /no boards yet/);
  });
});

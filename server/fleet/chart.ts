// A small horizontal bar chart as inline SVG, written by hand: no script, no
// library, readable without CSS. Each bar carries its label and count as data
// attributes (and a <title> for a hover), so tests read the numbers drawn.
import { esc as escText } from "../../modules/core/portal/html";

const esc = (value: string | number): string => escText(String(value));

export interface ChartBar {
  label: string;
  count: number;
  /** Where the bar leads (a filtered device list). */
  href?: string;
  /** CSS class of the bar: "bad" draws it red. */
  tone?: "ok" | "bad" | "wait";
}

const ROW = 20;
const LABEL_W = 150;
const BAR_W = 260;
const COLOURS = { ok: "#2e7d32", bad: "#c62828", wait: "#1559b8" } as const;

export function barChart(id: string, title: string, bars: readonly ChartBar[]): string {
  const max = Math.max(1, ...bars.map((b) => b.count));
  const height = Math.max(1, bars.length) * ROW + 4;
  const rows = bars.map((b, i) => {
    const y = i * ROW + 2;
    const w = b.count === 0 ? 0 : Math.max(1, Math.round((b.count / max) * BAR_W));
    const label = b.label.length > 22 ? `${b.label.slice(0, 21)}…` : b.label;
    const bar = `<g class="bar" data-label="${esc(b.label)}" data-count="${b.count}"><title>${esc(b.label)}: ${b.count}</title>
<text x="${LABEL_W - 6}" y="${y + 14}" text-anchor="end">${esc(label)}</text>
<rect x="${LABEL_W}" y="${y + 3}" width="${w}" height="${ROW - 6}" fill="${COLOURS[b.tone ?? "wait"]}" rx="2"></rect>
<text x="${LABEL_W + w + 5}" y="${y + 14}">${b.count}</text></g>`;
    return b.href ? `<a href="${esc(b.href)}">${bar}</a>` : bar;
  });
  return `<figure class="chart" id="${esc(id)}"><figcaption>${esc(title)}</figcaption>
<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${esc(title)}" viewBox="0 0 ${LABEL_W + BAR_W + 60} ${height}" width="100%" style="max-width:${LABEL_W + BAR_W + 60}px" font-size="12" font-family="system-ui,sans-serif">
${bars.length ? rows.join("\n") : `<text x="4" y="16" fill="#666">no boards yet</text>`}
</svg></figure>`;
}

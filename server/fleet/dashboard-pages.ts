// The dashboard's HTML, rendered on the server: sign-in, the fleet overview
// (rollouts with progress per stage, devices, upload, new rollout) and one
// device's history. Phone-sized by CSS alone; the only script uploads with a
// progress bar (and reloads the page when asked to refresh itself).
import type { CheckinView, DeviceView, DownloadView } from "./registry";
import type { RolloutView, StageView } from "./rollouts";
import { esc as escText } from "../../modules/core/portal/html";
import { barChart, type ChartBar } from "./chart";
import type { DeviceFilter, DevicePage, FleetPicture } from "./device-search";

/** The portal's escaping (text and quoted attributes), for any value; null and undefined as "". */
export const esc = (value: unknown): string => escText(String(value ?? ""));

const STYLE = `
:root{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;background:#f3f4f7}
body{margin:0}
header{display:flex;gap:1rem;justify-content:space-between;align-items:center;padding:.6rem 1rem;background:#1d2330;color:#fff}
header a,header button{color:#fff}
header h1{font-size:1.1rem;margin:0}
main{max-width:1100px;margin:0 auto;padding:.75rem}
section{background:#fff;border-radius:8px;padding:.75rem 1rem;margin-bottom:.9rem;box-shadow:0 1px 2px #0002}
h2{font-size:1.05rem;margin:.2rem 0 .6rem}
table{width:100%;border-collapse:collapse;font-size:.88rem}
th,td{text-align:left;padding:.35rem .45rem;border-bottom:1px solid #e4e7ec;vertical-align:top}
tr.rolled-back td,tr.failed td{background:#fdecea}
.charts{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem}
figure.chart{margin:0 0 .6rem;flex:1 1 320px}
figure.chart figcaption{font-size:.85rem;font-weight:600;margin-bottom:.2rem}
figure.chart a:hover rect{opacity:.75}
.pager{margin:.6rem 0;display:flex;gap:1rem;justify-content:center}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-size:.78rem;font-weight:600;background:#e4e7ec;white-space:nowrap}
.badge.valid,.badge.completed,.badge.done{background:#def3e2;color:#16652a}
.badge.rolled-back,.badge.failed,.badge.halted{background:#c62828;color:#fff}
.badge.active,.badge.current{background:#1559b8;color:#fff}
.muted{color:#667085}
.error{background:#fdecea;color:#8c1d18;padding:.5rem .75rem;border-radius:6px}
.note{background:#e8f1fd;padding:.5rem .75rem;border-radius:6px}
.rollout{border:1px solid #dde1e7;border-radius:8px;padding:.6rem;margin-bottom:.7rem}
.rollout.halted{border-color:#c62828}
.rollout h3{font-size:1rem;margin:0 0 .4rem;display:flex;flex-wrap:wrap;gap:.4rem;align-items:center}
.stages{display:grid;gap:.5rem;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));margin:.5rem 0}
.stage{border:1px solid #dde1e7;border-radius:6px;padding:.45rem .55rem;font-size:.85rem}
.stage.halted{border-color:#c62828;background:#fff4f3}
.stage.current{border-color:#1559b8}
.bar{display:flex;height:10px;border-radius:5px;overflow:hidden;background:#e4e7ec;margin:.3rem 0}
.bar span{display:block}.bar .ok{background:#2e7d32}.bar .bad{background:#c62828}.bar .wait{background:#8fa3b5}
form.inline{display:inline}
.actions{display:flex;flex-wrap:wrap;gap:.4rem;margin-top:.4rem}
button{font:inherit;padding:.35rem .8rem;border-radius:6px;border:1px solid #1559b8;background:#1559b8;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#1559b8}
button.danger{background:#c62828;border-color:#c62828}
label{display:block;font-size:.85rem;margin:.35rem 0}
input,select{font:inherit;padding:.3rem;max-width:100%;box-sizing:border-box}
.grid{display:grid;gap:.4rem 1rem;grid-template-columns:repeat(auto-fit,minmax(200px,1fr))}
progress{width:100%}
ul.events{margin:.3rem 0 0;padding-left:1.1rem;font-size:.82rem}
@media (max-width:640px){
 table.cards thead{display:none}
 table.cards tr{display:grid;grid-template-columns:1fr 1fr;border-bottom:1px solid #cfd4dc;padding:.3rem 0}
 table.cards td{display:block;border:0;padding:.1rem .25rem;overflow-wrap:anywhere}
 table.cards td::before{content:attr(data-label);display:block;font-size:.7rem;font-weight:600;color:#475467;text-transform:uppercase}
 table.devices td.hide-narrow{display:none}
 header{flex-wrap:wrap}
}`;

const UPLOAD_SCRIPT = `
const form = document.getElementById("upload-form");
const bar = document.getElementById("upload-progress");
const text = document.getElementById("upload-status");
let busy = false;
form.addEventListener("submit", (event) => {
  event.preventDefault();
  const file = form.elements.file.files[0];
  if (!file || busy) return;
  const name = form.elements.name.value.trim() || file.name;
  const xhr = new XMLHttpRequest();
  xhr.open("PUT", "/api/images/" + name.split("/").map(encodeURIComponent).join("/") + (form.elements.overwrite.checked ? "?overwrite=1" : ""));
  xhr.setRequestHeader("content-type", "application/octet-stream");
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) { bar.value = Math.round((e.loaded / e.total) * 100); text.textContent = "Uploading " + bar.value + " %"; } };
  xhr.onload = () => {
    busy = false;
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch {}
    if (xhr.status === 201) {
      bar.value = 100;
      text.textContent = "Uploaded " + body.path + ": " + (body.version ? "version " + body.version : "no version") + ", " + (body.chip || body.family) + ", " + body.size + " bytes, MD5 " + body.md5;
      text.dataset.state = "done";
      const select = document.getElementById("rollout-image");
      if (select && ![...select.options].some((o) => o.value === body.path)) select.add(new Option(body.path + (body.version ? " (" + body.version + ")" : ""), body.path));
    } else {
      text.textContent = "Upload refused: " + (body.error || xhr.status);
      text.dataset.state = "error";
    }
  };
  xhr.onerror = () => { busy = false; text.textContent = "Upload failed: connection lost"; text.dataset.state = "error"; };
  busy = true;
  bar.value = 0;
  text.dataset.state = "running";
  xhr.send(file);
});
const refresh = Number(new URLSearchParams(location.search).get("refresh"));
if (refresh > 0) setInterval(() => { if (!busy) location.reload(); }, Math.max(2, refresh) * 1000);
`;

function page(title: string, body: string, signedIn: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body><header><h1><a href="/dashboard" style="text-decoration:none">ota-server fleet</a></h1>${
    signedIn ? '<form class="inline" method="post" action="/dashboard/logout"><button class="secondary" style="color:#1559b8">Sign out</button></form>' : ""
  }</header><main>${body}</main></body></html>`;
}

export function loginPage(error?: string): string {
  return page(
    "Sign in · ota-server",
    `<section style="max-width:420px;margin:2rem auto">
<h2>Sign in</h2>
<p class="muted">Enter the admin token the server was started with (<code>--admin-token</code> or <code>OTA_ADMIN_TOKEN</code>).</p>
${error ? `<p class="error" id="login-error">${esc(error)}</p>` : ""}
<form method="post" action="/dashboard/login" id="login-form">
<label>Admin token <input type="password" name="token" autocomplete="current-password" required style="width:100%"></label>
<button type="submit">Sign in</button></form></section>`,
    false,
  );
}

export function ago(iso: string | null, now: number): string {
  if (!iso) return "";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

const time = (iso: string | null, now: number) => (iso ? `<time datetime="${esc(iso)}" title="${esc(iso)}">${esc(ago(iso, now))}</time>` : "");
const badge = (cls: string, text: string) => `<span class="badge ${esc(cls)}">${esc(text)}</span>`;
const share = (x: number | null) => (x === null ? "–" : `${Math.round(x * 100)} %`);

function answerText(d: { lastStatus: number | null; lastAnswer: string | null; lastImage: string | null }): string {
  if (d.lastStatus === null) return "";
  if (d.lastStatus === 200) return `200 sent ${d.lastImage ?? ""}`;
  if (d.lastStatus === 304) return "304 up to date";
  return `${d.lastStatus} ${d.lastAnswer ?? ""}`;
}

function stageCard(s: StageView): string {
  const total = Math.max(s.boards, s.offered, 1);
  const ok = (s.valid / total) * 100;
  const bad = ((s.rolledBack + s.failed) / total) * 100;
  const wait = (Math.max(0, s.offered - s.valid - s.rolledBack - s.failed) / total) * 100;
  return `<div class="stage ${esc(s.state)}" data-stage="${s.number}" data-state="${esc(s.state)}">
<div><strong>Stage ${s.number}</strong> · ${s.percent} % ${badge(s.state, s.state)}</div>
<div class="bar" title="updated / failed / in progress"><span class="ok" style="width:${ok.toFixed(1)}%"></span><span class="bad" style="width:${bad.toFixed(1)}%"></span><span class="wait" style="width:${wait.toFixed(1)}%"></span></div>
<div>${s.boards} boards · ${s.offered} offered · ${s.valid} updated</div>
<div>${s.rolledBack} rolled back · ${s.failed} failed · failure ${share(s.failureShare)}</div></div>`;
}

function rolloutCard(r: RolloutView, now: number): string {
  const actions: string[] = [];
  const post = (what: string, label: string, cls = "") =>
    `<form class="inline" method="post" action="/dashboard/rollouts/${r.id}/${what}">${
      what === "advance" ? `<input type="hidden" name="stage" value="${r.stage}">` : ""
    }<button class="${cls}" data-action="${what}">${esc(label)}</button></form>`;
  if (r.state === "active") {
    const next = r.stages[r.stage];
    actions.push(post("advance", next ? `Advance to stage ${next.number} (${next.percent} %)` : "Complete rollout"));
    actions.push(post("halt", "Halt", "danger"));
  }
  if (r.state === "halted") actions.push(post("resume", "Resume", "secondary"));
  return `<article class="rollout ${esc(r.state)}" id="rollout-${r.id}" data-state="${esc(r.state)}">
<h3>${r.kind === "mod" ? "Mod rollout" : "Rollout"} ${r.id} ${badge(r.state, r.state)} <span>${esc(r.image)}${r.version ? ` (${esc(r.version)})` : ""} → ${esc(r.channel)}</span></h3>
<div class="muted">Stage ${r.stage} of ${r.stages.length} · halts above ${Math.round(r.threshold * 1000) / 10} % failed (after ${r.minOutcomes} outcomes) · ${
    r.advanceEveryMs ? `advances every ${Math.round(r.advanceEveryMs / 1000)} s${r.nextAdvanceAt ? `, next ${esc(new Date(r.nextAdvanceAt).toLocaleTimeString("en-GB"))}` : ""}` : "advanced by hand"
  } · created ${time(r.createdAt, now)}</div>
${r.haltedReason ? `<p class="error halted-reason">Halted: ${esc(r.haltedReason)}</p>` : ""}
<div class="stages">${r.stages.map(stageCard).join("")}</div>
${actions.length ? `<div class="actions">${actions.join("")}</div>` : ""}
<details><summary class="muted">History</summary><ul class="events">${r.events
    .map((e) => `<li>${time(e.at, now)} ${esc(e.kind)}${e.stage ? ` (stage ${e.stage})` : ""}${e.detail ? `: ${esc(e.detail)}` : ""}</li>`)
    .join("")}</ul></details></article>`;
}

function deviceRow(d: DeviceView, now: number): string {
  // A report that does not count toward its rollout (rollouts.ts) is still shown, marked, with why on hover.
  const notCounted = d.lastResultNotCounted ? ` <small class="muted not-counted" title="${esc(d.lastResultNotCounted)}">not counted</small>` : "";
  const result = d.lastResult ? `${badge(d.lastResult, d.lastResult)}${d.lastResultVersion ? ` ${esc(d.lastResultVersion)}` : ""}${notCounted}` : "";
  return `<tr class="${d.lastResult === "rolled-back" || d.lastResult === "failed" ? esc(d.lastResult) : ""}" data-mac="${esc(d.mac)}">
<td data-label="Device"><a href="/dashboard/devices/${esc(d.mac)}">${esc(d.mac)}</a></td>
<td data-label="Channel" class="hide-narrow">${esc(d.channel)}</td>
<td data-label="Version" class="version">${esc(d.version ?? "")}${d.runningMod ? `<div class="mod muted">mod ${esc(d.runningMod)}</div>` : ""}</td>
<td data-label="Chip" class="hide-narrow">${esc(d.chip ?? d.family)}</td>
<td data-label="Last seen">${time(d.lastSeen, now)}</td>
<td data-label="Last result" class="result">${result}</td>
<td data-label="Last answer">${esc(answerText(d))}</td></tr>`;
}

export interface Overview {
  now: number;
  /** One page of the devices matching `filter`. */
  devices: DevicePage;
  filter: DeviceFilter;
  picture: FleetPicture;
  rollouts: RolloutView[];
  images: Array<{ path: string; version: string | null }>;
  channels: string[];
  error?: string;
  note?: string;
  maxUploadBytes: number;
}

/** The list's address with these filters and page (empty ones left out). */
export function listHref(filter: DeviceFilter, page = 1): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (typeof v === "string" && v !== "") q.set(k, v);
  if (page > 1) q.set("page", String(page));
  const text = q.toString();
  return `/dashboard${text ? `?${text}` : ""}#devices`;
}

const resultTone = (label: string): ChartBar["tone"] => (label === "rolled-back" || label === "failed" ? "bad" : label === "valid" ? "ok" : "wait");

/** The fleet's picture: boards per version, per last result, per stage of the rollouts under way. */
function charts(o: Overview, current: RolloutView[]): string {
  const versions = o.picture.versions.map((v) => ({ ...v, href: v.label === "other" ? undefined : listHref({ version: v.label }) }));
  const results = o.picture.results.map((r) => ({ ...r, tone: resultTone(r.label), href: listHref({ result: r.label }) }));
  const stages = current.flatMap((r) =>
    r.stages.map((st) => ({
      label: `${r.kind === "mod" ? "mod " : ""}${r.id}: stage ${st.number} (${st.percent} %)`,
      count: st.boards,
      tone: (st.state === "halted" ? "bad" : st.state === "done" ? "ok" : "wait") as ChartBar["tone"],
      href: listHref({ channel: r.channel }),
    })),
  );
  return `<div class="charts">${barChart("chart-versions", "Boards per version", versions)}${barChart("chart-results", "Boards per last result", results)}${
    stages.length ? barChart("chart-stages", "Boards per stage of the rollouts under way", stages) : ""
  }</div>`;
}

function searchForm(o: Overview): string {
  const f = o.filter;
  const option = (value: string, label: string, selected: string | undefined) => `<option value="${esc(value)}"${value === (selected ?? "") ? " selected" : ""}>${esc(label)}</option>`;
  return `<form id="device-search" method="get" action="/dashboard#devices" class="grid">
<label>MAC <input name="mac" value="${esc(f.mac ?? "")}" placeholder="part of a MAC" maxlength="64"></label>
<label>Version <input name="version" value="${esc(f.version ?? "")}" list="versions" maxlength="64"></label>
<datalist id="versions">${o.picture.versions.filter((v) => v.label !== "other").map((v) => `<option value="${esc(v.label)}">`).join("")}</datalist>
<label>Channel <select name="channel">${option("", "any", f.channel)}${[...new Set([...o.picture.channels, ...(f.channel ? [f.channel] : [])])].map((c) => option(c, c, f.channel)).join("")}</select></label>
<label>Last result <select name="result">${option("", "any", f.result)}${["valid", "rolled-back", "failed", "none"].map((r) => option(r, r, f.result)).join("")}</select></label>
<div><button type="submit">Search</button> <a href="/dashboard#devices">clear</a></div></form>`;
}

function pager(o: Overview): string {
  const { page, pages } = o.devices;
  if (pages <= 1) return "";
  const link = (n: number, text: string, rel: string) => `<a href="${esc(listHref(o.filter, n))}" rel="${rel}">${text}</a>`;
  return `<nav class="pager" data-page="${page}" data-pages="${pages}">${page > 1 ? link(page - 1, "← previous", "prev") : ""} page ${page} of ${pages} ${
    page < pages ? link(page + 1, "next →", "next") : ""
  }</nav>`;
}

export function overviewPage(o: Overview): string {
  const rolledBack = o.picture.results.find((r) => r.label === "rolled-back")?.count ?? 0;
  const current = o.rollouts.filter((r) => r.state === "active" || r.state === "halted");
  const past = o.rollouts.filter((r) => r.state !== "active" && r.state !== "halted");
  const searching = Object.values(o.filter).some((v) => v !== undefined && v !== "");
  const list = o.devices.devices;
  return page(
    "Fleet · ota-server",
    `${o.error ? `<p class="error" id="page-error">${esc(o.error)}</p>` : ""}${o.note ? `<p class="note" id="page-note">${esc(o.note)}</p>` : ""}
<section id="rollouts"><h2>Rollouts</h2>
${current.length ? current.map((r) => rolloutCard(r, o.now)).join("") : '<p class="muted">No rollout under way.</p>'}
${past.length ? `<details><summary>Earlier rollouts (${past.length})</summary>${past.map((r) => rolloutCard(r, o.now)).join("")}</details>` : ""}
</section>
<section id="devices"><h2>Devices <span class="muted">${o.picture.total} known · ${o.picture.versions.map((v) => `${esc(v.label)}: ${v.count}`).join(" · ")}${
      rolledBack ? ` · <strong style="color:#c62828">${rolledBack} rolled back</strong>` : ""
    }</span></h2>
${o.picture.total ? `${charts(o, current)}${searchForm(o)}` : ""}
${
  list.length
    ? `<p class="muted" id="device-count" data-matching="${o.devices.matching}">${searching ? `${o.devices.matching} matching` : `${o.devices.matching} devices`}${
        o.devices.pages > 1 ? ` · showing ${(o.devices.page - 1) * o.devices.size + 1}–${(o.devices.page - 1) * o.devices.size + list.length}` : ""
      }</p><table class="cards devices"><thead><tr><th>Device</th><th>Channel</th><th>Version</th><th>Chip</th><th>Last seen</th><th>Last result</th><th>Last answer</th></tr></thead><tbody>
${list.map((d) => deviceRow(d, o.now)).join("")}</tbody></table>${pager(o)}`
    : o.picture.total
      ? '<p class="muted" id="device-count" data-matching="0">No device matches.</p>'
      : '<p class="muted">No board has checked in yet. Boards check in at the advanced-updater endpoint (ota-server --config).</p>'
}</section>
<section id="upload"><h2>Upload an image</h2>
<form id="upload-form"><div class="grid">
<label>Image file <input type="file" name="file" accept=".bin,application/octet-stream" required></label>
<label>Name in the catalog <input type="text" name="name" placeholder="same as the file"></label>
<label><input type="checkbox" name="overwrite"> replace an image of that name</label></div>
<button type="submit" id="upload-btn">Upload</button>
<progress id="upload-progress" max="100" value="0"></progress><div id="upload-status" class="muted">Up to ${Math.round(o.maxUploadBytes / 1048576)} MiB; the header is checked before the file is placed.</div>
</form></section>
<section id="new-rollout"><h2>New rollout</h2>
<form method="post" action="/dashboard/rollouts" id="rollout-form"><div class="grid">
<label>Channel <input name="channel" value="stable" list="channels" required pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,31}"></label>
<datalist id="channels">${o.channels.map((c) => `<option value="${esc(c)}">`).join("")}</datalist>
<label>Image <select name="image" id="rollout-image" required>${o.images
      .map((i) => `<option value="${esc(i.path)}">${esc(i.path)}${i.version ? ` (${esc(i.version)})` : ""}</option>`)
      .join("")}</select></label>
<label>Stages (% of boards) <input name="stages" value="10,50,100" required></label>
<label>Halt above (% failed) <input name="threshold" type="number" min="0" max="99" step="any" value="20" required></label>
<label>Outcomes before the halt rule applies <input name="minOutcomes" type="number" min="1" value="3" required></label>
<label>Advance every (seconds, empty: by hand) <input name="advanceEvery" type="number" min="1" step="any"></label>
</div><button type="submit">Start rollout</button></form></section>
<p class="muted"><a href="?refresh=5">Refresh every 5 s</a> · JSON: <code>/api/devices</code>, <code>/api/rollouts</code></p>
<script>${UPLOAD_SCRIPT}</script>`,
    true,
  );
}

export function devicePage(device: DeviceView, history: { checkins: CheckinView[]; downloads: DownloadView[] }, now: number): string {
  const facts: Array<[string, unknown]> = [
    ["Channel", device.channel], ["Version", device.version], ["Chip", device.chip ?? device.family], ["Sketch MD5", device.sketchMd5],
    ["Flash", device.flashSize], ["Free space", device.freeSpace], ["SDK", device.sdkVersion], ["AP MAC", device.apMac],
    ["First seen", device.firstSeen], ["Check-ins", device.checkins],
    ["Last result", device.lastResult ? `${device.lastResult} ${device.lastResultVersion ?? ""}` : ""],
  ];
  // A board that hosts mods (x-Ota-Mod-Host on its last check-in): its running mod, XS and last mod result.
  if (device.modHost !== null)
    facts.push(
      ["Mod", device.runningMod || "none"], ["Mod host XS", device.modHost],
      ["Last mod result", device.lastModResult ? `${device.lastModResult} ${device.lastModResultVersion ?? ""}` : ""],
    );
  return page(
    `${device.mac} · ota-server`,
    `<p><a href="/dashboard">← Fleet</a></p>
<section><h2>${esc(device.mac)} ${device.lastResult ? badge(device.lastResult, device.lastResult) : ""}</h2>
<table class="cards"><tbody>${facts.map(([k, v]) => `<tr><th>${esc(k)}</th><td data-label="${esc(k)}">${esc(v ?? "")}</td></tr>`).join("")}</tbody></table></section>
<section id="checkins"><h2>Check-ins</h2><table class="cards"><thead><tr><th>When</th><th>Answer</th><th>Image</th><th>Why</th><th>Running</th><th>Reported</th></tr></thead><tbody>
${history.checkins
  .map(
    (c) => `<tr class="${c.updateResult === "rolled-back" ? "rolled-back" : ""}"><td data-label="When">${time(c.at, now)}</td><td data-label="Answer">${c.status} ${esc(c.reason ?? "")}</td>
<td data-label="Image">${esc((c.answer === "mod" ? c.modImage : c.image) ?? "")}</td><td data-label="Why">${esc(c.source ?? "")}</td><td data-label="Running">${esc(c.version ?? "")}${c.runningMod ? ` · mod ${esc(c.runningMod)}` : ""}</td>
<td data-label="Reported">${c.updateResult ? `${badge(c.updateResult, c.updateResult)} ${esc(c.updateVersion ?? "")}` : ""}${c.modResult ? ` ${badge(c.modResult, `mod ${c.modResult}`)} ${esc(c.modResultVersion ?? "")}` : ""}</td></tr>`,
  )
  .join("")}</tbody></table></section>
<section id="downloads"><h2>Downloads</h2><table class="cards"><thead><tr><th>When</th><th>Image</th><th>Status</th><th>Bytes sent</th><th>Completed</th></tr></thead><tbody>
${history.downloads
  .map(
    (d) => `<tr><td data-label="When">${time(d.at, now)}</td><td data-label="Image">${esc(d.path)}</td><td data-label="Status">${d.status}</td>
<td data-label="Bytes sent">${d.bytesSent}${d.length !== null ? ` of ${d.length}` : ""}</td><td data-label="Completed">${d.completed ? "yes" : badge("failed", "cut short")}</td></tr>`,
  )
  .join("")}</tbody></table></section>`,
    true,
  );
}

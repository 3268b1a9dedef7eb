// UPDATE page: what is installed (the running image, the other slot), the
// catalog as a radio list with the running image marked, the UPDATE button,
// the upload of a file from the phone (page-upload.ts), update-server
// settings; plus its JSON APIs. Opening the page (re)loads the catalog; the
// page script polls GET /api/catalog and reloads with ?cached=1 once it has
// settled, so the list itself is always rendered (and escaped) here.
import type { CatalogEntry, CatalogState } from "../updater-api";
import type { DeviceInfo } from "../ports";
import type { BootStatus } from "../boot/policy";
import { esc, formatHHMM, formatSize, layout } from "./html";
import { utf8Length } from "./form";
import { htmlResponse, jsonResponse, seeOther } from "./responses";
import type { PortalContext, Route } from "./router";
import { isActivePhase } from "./page-progress";
import { signingSection } from "./signing";
import { slotText } from "./pages-boot";
import { uploadScriptRoute, uploadSection } from "./page-upload";
import { isRunningImage, runningImage, type RunningImage } from "../engine/installed";
import { passwordFirstNotice } from "./security";

/** Catalog rows per page (~210 bytes each); more are paged with ?from=N. */
export const MAX_LISTED = 20;

/**
 * Bytes of a whole UPDATE page: rows are added while the page stays under
 * it, so a page holds fewer than MAX_LISTED rows when they carry versions and
 * reasons (a folder of another chip's builds), or when the rest of the page
 * is long (notes, an error, long settings). The device sends pages from RAM
 * and keeps each under 8 KB; the first row of a page is always shown.
 */
export const PAGE_BUDGET = 8100;

/** The most the list's frame around the rows takes: form, button, both paging links (4-digit offsets), Reload. */
const LIST_FRAME = 350;
/** What the app mods' part of the list adds around its rows. */
const MODS_FRAME = `<div id=mods><h3>App mods</h3><ul class=list></ul></div>`.length;

// Not once a file is picked for upload (window.B): the reload would lose it, or cut the upload.
const CATALOG_SCRIPT =
  "(function(){function p(){fetch('/api/catalog',{cache:'no-store'}).then(function(r){return r.json()})" +
  ".then(function(j){if(j.state==='loading')setTimeout(p,1000);else if(!window.B)location.replace('/update?cached=1')}," +
  "function(){setTimeout(p,2000)})}setTimeout(p,1000)})()";

/** "v2.0.0" for a numeric version; other version strings ("dev-42", "v1.2") as they are. */
function versionLabel(version: string): string {
  return /^[0-9]/.test(version) ? `v${version}` : version;
}

/** One row; `required` on one radio makes the group required (the label holds its input: no ids needed). A mod's row has the class mod-row. */
function entryRow(entry: CatalogEntry, required: boolean, running: RunningImage): string {
  const off = entry.disabled !== undefined;
  const mod = entry.kind === "mod";
  const cls = mod ? (off ? ` class="mod-row off"` : " class=mod-row") : off ? " class=off" : "";
  // A mod's row from AutoConnect's listing has no date or time (and no size without our server): no empty parts.
  const when = `${esc(entry.date)} ${esc(formatHHMM(entry.time))}`.trim();
  const meta = [when, entry.size === undefined ? "" : esc(formatSize(entry.size)), entry.version === undefined ? "" : esc(versionLabel(entry.version))].filter((part) => part !== "").join(" · ");
  return (
    `<li${cls}><label>` +
    `<input type=radio name=fw value="${esc(entry.name)}"${off ? " disabled" : required ? " required" : ""}>` +
    `<span><b>${esc(entry.name)}</b>${!mod && isRunningImage(entry, running) ? ` <span class="ok running">running</span>` : ""}<br><span class=meta>${meta}</span>` +
    (off ? `<br><span class=why>${esc(entry.disabled ?? "")}</span>` : "") +
    "</span></label></li>"
  );
}

/** The firmware list; `budget` is the bytes its rows may take. */
function catalogSection(state: CatalogState, server: string, from: number, running: RunningImage, budget: number): string {
  switch (state.state) {
    case "idle":
      return `<p id=status>The catalog is not loaded.</p><a class="btn alt" href="/update">Load the catalog</a>`;
    case "loading":
      return `<p id=status>Loading the catalog from ${esc(server)}…</p>`;
    case "error":
      return `<p id=catalog-error class=error>${esc(state.error)}</p><a class="btn alt" href="/update">Try again</a>`;
    case "ready": {
      if (state.entries.length === 0) return `<p id=status>No available firmwares</p><a class="btn alt" href="/update">Reload</a>`;
      // Firmware first, then the app mods in their own part of the list (#mods); one radio group, one UPDATE button.
      const entries = listed(state.entries);
      const anyMods = entries.length > 0 && entries[entries.length - 1].kind === "mod";
      const start = from < entries.length ? from : 0;
      let rows = "";
      let modRows = "";
      let bytes = anyMods ? MODS_FRAME : 0;
      let end = start;
      let anyEnabled = false;
      while (end < entries.length && end - start < MAX_LISTED) {
        const row = entryRow(entries[end], !anyEnabled, running);
        const size = utf8Length(row);
        if (end > start && bytes + size > budget) break;
        if (entries[end].kind === "mod") modRows += row;
        else rows += row;
        bytes += size;
        if (entries[end].disabled === undefined) anyEnabled = true;
        end++;
      }
      const pages =
        (start > 0 ? `<a class="btn alt" id=catalog-prev href="/update?cached=1&amp;from=${Math.max(0, start - MAX_LISTED)}">Previous</a>` : "") +
        (end < entries.length
          ? `<a class="btn alt" id=catalog-next href="/update?cached=1&amp;from=${end}">More (${entries.length - end})</a>`
          : "");
      return (
        `<form id=update-form method=post action="/update">` +
        (rows !== "" ? `<ul class=list>${rows}</ul>` : "") +
        (modRows !== "" ? `<div id=mods><h3>App mods</h3><ul class=list>${modRows}</ul></div>` : "") +
        `<button id=update-btn${anyEnabled ? "" : " disabled"}>UPDATE</button></form>` +
        pages +
        `<a class="btn alt" href="/update">Reload</a>`
      );
    }
  }
}

/** The catalog in the order the page lists it: firmware, then app mods (each in the server's order). */
function listed(entries: CatalogEntry[]): CatalogEntry[] {
  if (!entries.some((e) => e.kind === "mod")) return entries;
  return [...entries.filter((e) => e.kind !== "mod"), ...entries.filter((e) => e.kind === "mod")];
}

function fromParameter(context: PortalContext): number {
  const text = context.query.get("from") ?? "";
  return /^[0-9]{1,4}$/.test(text) ? Number(text) : 0;
}

/** Settings as the form shows them: the stored ones, or what the user just typed. */
interface SettingsDraft {
  host: string;
  port: string | number;
  path: string;
}

/** The running image and the other slot, as the boot policy sees them. */
function installedSection({ running, previous }: BootStatus, device: DeviceInfo): string {
  const version = running.app?.version ?? device.appVersion;
  return (
    `<section id=installed><dl><dt>Running</dt><dd id=running-version>${esc(version)} <span class=meta>${esc(running.partition)}</span></dd>` +
    `<dt>Other slot</dt><dd id=other-slot>${slotText(previous)}</dd></dl></section>`
  );
}

export function updatePage(context: PortalContext, error?: string, draft?: SettingsDraft): string {
  const { updater, device, wifi, boot } = context.deps;
  const stored = updater.settings();
  const settings: SettingsDraft = draft ?? stored;
  const catalog = updater.catalog();
  const server = `${stored.host}:${stored.port}`;
  const phase = updater.progress().phase;
  const notes =
    (isActivePhase(phase) ? `<section><p>An update is running. <a href="/progress">Show progress</a></p></section>` : "") +
    (wifi.status().connected ? "" : `<section><p class=error>The station link is down: the update server is reached over it. <a href="/wifi">Wi-Fi</a></p></section>`);
  const status = boot.status();
  const before = `<p id=error>${esc(error ?? "")}</p>` + passwordFirstNotice(context.deps) + notes + signingSection(context.deps.signing) + installedSection(status, device) + `<section><h2>Firmware</h2><div id=catalog>`;
  const after =
    `</div></section>` +
    uploadSection(context.bootId, context.deps.signing?.required === true, context.deps.mods !== undefined) +
    `<section><h2>Update server</h2><form id=settings-form method=post action="/update/settings">` +
    `<label for=host>Host</label><input type=text id=host name=host maxlength=64 value="${esc(settings.host)}" autocapitalize=off>` +
    `<label for=port>Port</label><input type=number id=port name=port min=1 max=65535 value="${esc(settings.port)}">` +
    `<label for=path>Path</label><input type=text id=path name=path maxlength=128 value="${esc(settings.path)}" autocapitalize=off>` +
    `<button id=settings-btn class=alt>Save and reload</button></form></section>` +
    `<section><h2>Check in</h2><form id=checkin-form method=post action="/update/checkin">` +
    `<label for=url>HTTPUpdate server URL</label><input type=text id=url name=url maxlength=200 placeholder="http://host:port/path" autocapitalize=off>` +
    `<button id=checkin-btn class=alt>Ask for an update</button></form></section>`;
  const loading = catalog.state === "loading";
  const options = {
    appName: device.appName,
    script: loading ? CATALOG_SCRIPT : undefined,
    head: loading ? `<noscript><meta http-equiv=refresh content="3;url=/update?cached=1"></noscript>` : undefined,
  };
  // The page without its list, measured, says how much room the rows have.
  const budget = PAGE_BUDGET - LIST_FRAME - utf8Length(layout("UPDATE", before + after, options));
  const list = catalogSection(catalog, server, fromParameter(context), runningImage(device, status.running), budget);
  return layout("UPDATE", before + list + after, options);
}

function showUpdate(context: PortalContext): ReturnType<typeof htmlResponse> {
  // A plain visit fetches a fresh catalog, as AutoConnect does; ?cached=1 shows the last one.
  // Not while an update runs: a second connection would compete with the download.
  const { updater } = context.deps;
  const state = updater.catalog().state;
  if (context.query.get("cached") !== "1" && state !== "loading" && !isActivePhase(updater.progress().phase)) updater.loadCatalog();
  return htmlResponse(updatePage(context));
}

function startUpdate(context: PortalContext): string | undefined {
  const name = context.form.get("fw") ?? "";
  if (name === "") return "Choose a firmware first.";
  const catalog = context.deps.updater.catalog();
  if (catalog.state === "ready") {
    const entry = catalog.entries.find((e) => e.name === name);
    if (!entry) return "That firmware is not in the catalog.";
    if (entry.disabled !== undefined) return entry.disabled;
  }
  return context.deps.updater.start(name);
}

/** Parses the settings form; the updater validates the values themselves. */
function saveSettings(context: PortalContext): string | undefined {
  const host = (context.form.get("host") ?? "").trim();
  const portText = (context.form.get("port") ?? "").trim();
  const path = (context.form.get("path") ?? "").trim() || ".";
  if (!/^[0-9]{1,5}$/.test(portText)) return "The port is a number from 1 to 65535.";
  return context.deps.updater.saveSettings({ host, port: Number(portText), path });
}

/** The catalog as /api/catalog answers it: entries that are the running image carry "running": true. */
export type CatalogJson = Exclude<CatalogState, { state: "ready" }> | { state: "ready"; entries: (CatalogEntry & { running?: true })[] };

function catalogJson(context: PortalContext): CatalogJson {
  const catalog = context.deps.updater.catalog();
  if (catalog.state !== "ready") return catalog;
  const running = runningImage(context.deps.device, context.deps.boot.status().running);
  return { state: "ready", entries: catalog.entries.map((e) => (isRunningImage(e, running) ? { ...e, running: true } : e)) };
}

export const updateRoutes: Route[] = [
  {
    path: "/update",
    get: showUpdate,
    post: (c) => {
      const error = startUpdate(c);
      return error === undefined ? seeOther("/progress") : htmlResponse(updatePage(c, error), 400);
    },
    guarded: true,
    lock: "installs",
  },
  {
    path: "/update/settings",
    post: (c) => {
      const error = saveSettings(c);
      const draft = { host: c.form.get("host") ?? "", port: c.form.get("port") ?? "", path: c.form.get("path") ?? "" };
      if (error !== undefined) return htmlResponse(updatePage(c, error, draft), 400);
      c.deps.updater.loadCatalog();
      return seeOther("/update?cached=1");
    },
    guarded: true,
    lock: "installs",
  },
  {
    // ESP8266/ESP32 HTTPUpdate "advanced updater" check-in: the server decides (image or 304).
    path: "/update/checkin",
    post: (c) => {
      const url = (c.form.get("url") ?? "").trim();
      const error = url === "" ? "Enter the update server URL." : c.deps.updater.checkIn(url);
      return error === undefined ? seeOther("/progress") : htmlResponse(updatePage(c, error), 400);
    },
    guarded: true,
    lock: "installs",
  },
  {
    path: "/api/catalog",
    get: (c) => jsonResponse(catalogJson(c)),
    post: (c) => {
      c.deps.updater.loadCatalog();
      return jsonResponse(catalogJson(c));
    },
    guarded: true,
  },
  uploadScriptRoute,
  {
    path: "/api/update",
    post: (c) => {
      const error = startUpdate(c);
      return error === undefined ? jsonResponse({ ok: true }, 202) : jsonResponse({ ok: false, error }, 409);
    },
    guarded: true,
    lock: "installs",
  },
];

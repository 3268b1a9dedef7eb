// `ota status`: a board's /api/status in a few lines for people.
import { chipName } from "../modules/core/esp-image-rules";
import type { BoardStatus } from "./board";

export function statusText(label: string, s: BoardStatus): string {
  const lines = [`${label}: ${s.app} ${s.version} on ${chipName(s.chip)}, ${s.partition}, ${s.otaState}`];
  const v = s.validation;
  if (v.phase === "checking") lines.push(`  start-up check: ${Math.ceil((v.remainingMs ?? 0) / 1000)} s left${v.waitingFor ? ` (waiting for ${v.waitingFor})` : ""}`);
  if (s.lastUpdate) lines.push(`  last update: ${s.lastUpdate.version} ${s.lastUpdate.result}${v.reason && s.lastUpdate.result !== "valid" ? `: ${v.reason}` : ""}`);
  lines.push(`  other slot: ${s.previous.version ?? "empty"} (${s.previous.partition}${s.previous.version && !s.previous.bootable ? ", not bootable" : ""})`);
  if (s.mod !== undefined) lines.push(`  mod: ${s.mod ? `${s.mod.name} ${s.mod.version} (${s.mod.state})` : "none"}`);
  if (s.lastModUpdate) lines.push(`  last mod update: ${s.lastModUpdate.name ?? ""} ${s.lastModUpdate.version} ${s.lastModUpdate.result}${s.lastModUpdate.reason ? `: ${s.lastModUpdate.reason}` : ""}`);
  lines.push(`  update: ${s.update}; signed only: ${s.signing.required ? "yes" : "no"}; Wi-Fi: ${s.station.connected ? `${s.station.ssid ?? ""} ${s.station.address ?? ""}` : "not joined"}; AP ${s.ap.ssid}`);
  return lines.join("\n") + "\n";
}

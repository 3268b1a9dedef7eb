// `ota push`: sends a firmware image (.bin) or a mod (.xsa) to a board's own
// upload route, the one the phone uses (POST /update/upload, POST /update/mod),
// so the board runs the same pipeline, checks and refusals; then follows the
// commit, the restart and the start-up check through /api/progress and
// /api/status, and gives a verdict:
//   0 valid        the board runs the new version and confirmed it
//   1 refused      the board said no (wrong chip, not signed by its key, MD5
//                  mismatch, wrong password...): its reason
//   2 rolled-back  installed, then the start-up check failed or it reset: the
//                  board went back; the reason it gives
//   3 unreachable  no answer, or it did not come back in time
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseAppDescriptor } from "../modules/core/image";
import { ArchiveCheck } from "../modules/core/mods/archive";
import { SIGNATURE_HEADER_KEY } from "../modules/core/signature/header";
import { UPLOAD_PATH } from "../modules/core/portal/upload";
import { nodeDigest } from "../server/node-digest";
import { answerError, Board, boardProgress, headOnly, Unreachable, type BoardStatus } from "./board";
import type { ProgressView } from "./progress";
import { passwordRefusal } from "./password";

/** The mod upload route (same contract as POST /update/upload). */
export const MOD_UPLOAD_PATH = "/update/mod";

export type Outcome = "valid" | "refused" | "rolled-back" | "unreachable";
export const EXIT_CODES: Record<Outcome, number> = { valid: 0, refused: 1, "rolled-back": 2, unreachable: 3 };

export interface Verdict {
  outcome: Outcome;
  /** "valid: moddable-ota-demo 1.1.0", "refused: Image is for ESP32-S3, this board is ESP32"... */
  text: string;
}

export interface PushFile {
  path: string;
  name: string;
  kind: "image" | "mod";
  bytes: Uint8Array;
  md5: string;
  /** The .sig beside it, base64 on one line (x-Firmware-Signature). */
  signature?: string;
  /** What the file says it is (app descriptor, or the mod's ota-mod.json); undefined when it cannot tell. */
  app?: string;
  version?: string;
}

/** Reads FILE (and FILE.sig when present); throws with a message for people. */
export function readPushFile(path: string): PushFile {
  const kind = /\.xsa$/i.test(path) ? "mod" : /\.bin$/i.test(path) ? "image" : undefined;
  if (!kind) throw new Error(`${path}: expected a firmware image (.bin) or a mod (.xsa)`);
  const bytes = new Uint8Array(readFileSync(path));
  const sigPath = `${path}.sig`;
  const signature = existsSync(sigPath) ? readFileSync(sigPath).toString("base64") : undefined;
  const file: PushFile = { path, name: basename(path), kind, bytes, md5: createHash("md5").update(bytes).digest("hex"), ...(signature ? { signature } : {}) };
  if (kind === "image") {
    const desc = parseAppDescriptor(bytes);
    if (desc) return { ...file, app: desc.projectName, version: desc.version };
    return file;
  }
  try {
    const check = new ArchiveCheck(nodeDigest);
    check.write(bytes);
    const facts = check.end();
    return { ...file, app: facts.name, version: facts.version };
  } catch {
    return file; // the board says what is wrong with it
  }
}

export interface PushOptions {
  /** How long a board may stay away while it restarts (and after its start-up window). */
  comeBackMs: number;
  /** Between status polls. */
  pollMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function attempt<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch {
    return undefined;
  }
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const what = (file: PushFile) => `${file.kind === "mod" ? "mod " : ""}${file.app ?? file.name}${file.version ? ` ${file.version}` : ""}`;

/** Pushes one file to one board; never throws (a failure is a verdict). */
export async function pushOne(board: Board, file: PushFile, view: ProgressView, row: number, options: PushOptions): Promise<Verdict> {
  const refused = (text: string): Verdict => ({ outcome: "refused", text: `refused: ${text}` });
  const unreachable = (text: string): Verdict => ({ outcome: "unreachable", text: `unreachable: ${text}` });
  let before: BoardStatus;
  try {
    before = await board.status();
  } catch (e) {
    return unreachable(message(e));
  }
  // The upload route is guarded like /api/progress: learn about the password before sending anything.
  const probe = await attempt(board.call("GET", "/api/progress"));
  if (!probe) return unreachable("no answer from /api/progress");
  if (probe.status === 401) return refused(passwordRefusal(probe, Boolean(board.authorization), " (--password or OTA_PORTAL_PASSWORD)") ?? "");
  const headers: Record<string, string> = { "x-md5": file.md5, "x-filename": file.name };
  if (file.signature) headers[SIGNATURE_HEADER_KEY] = file.signature;
  view.begin(row);
  const route = file.kind === "mod" ? MOD_UPLOAD_PATH : UPLOAD_PATH;
  let answer;
  try {
    answer = await board.upload(route, file.bytes, headers, (sent) => view.sent(row, sent, file.bytes.length));
  } catch (e) {
    // The board may have refused and closed the connection, the answer lost in
    // the reset: a refusal on the way shows in its progress, one from the head
    // alone is given again to the head alone.
    const p = await attempt(boardProgress(board));
    if (p?.phase === "failed" && p.error && p.boot === before.boot) return refused(p.error);
    const again = await headOnly(board, route, file.bytes.length, headers);
    if (again) answer = again;
    else return unreachable(`the upload broke off: ${message(e)}`);
  }
  if (answer.status === 404 && file.kind === "mod") return refused("this board's firmware takes no mods (it has no POST /update/mod)");
  const password = passwordRefusal(answer, Boolean(board.authorization));
  if (password !== undefined) return refused(password);
  if (answer.status !== 202 && answer.status !== 200) return refused(answerError(answer));

  // Verify and commit, then the restart.
  view.phase(row, "verifying");
  const committed = Date.now() + options.comeBackMs;
  for (;;) {
    const p = await attempt(boardProgress(board));
    if (p && p.boot === before.boot) {
      if (p.phase === "failed") return refused(p.error ?? "the update failed");
      if (p.phase === "cancelled") return refused("the update was cancelled on the board");
      if (p.phase === "done") break;
    } else {
      break; // gone (restarting) or already a new boot
    }
    if (Date.now() > committed) return unreachable(`still ${p.phase} after ${options.comeBackMs / 1000} s`);
    await sleep(options.pollMs);
  }
  view.phase(row, "restarting");
  return follow(board, before, file, view, row, options);
}

/** What the board is doing while its start-up check runs: a mod's check is the mod's, not the firmware's. */
export function checkingText(file: Pick<PushFile, "kind">, leftMs: number | undefined): string {
  const what = file.kind === "mod" ? "checking the new mod" : "checking the new firmware";
  return leftMs === undefined ? what : `${what}: ${Math.ceil(leftMs / 1000)} s left`;
}

/** Follows restarts until the board settles on a verdict for `file`. */
async function follow(board: Board, before: BoardStatus, file: PushFile, view: ProgressView, row: number, options: PushOptions): Promise<Verdict> {
  let deadline = Date.now() + options.comeBackMs;
  for (;;) {
    let s: BoardStatus | undefined;
    try {
      s = await board.status(2000);
    } catch (e) {
      if (!(e instanceof Unreachable)) throw e;
    }
    if (s && s.boot !== before.boot) {
      const checking = s.validation.phase === "checking" || s.validation.phase === "rolling-back" || s.otaState === "pending-verify" || modChecking(s, file);
      if (!checking) return judge(s, file);
      const left = s.validation.remainingMs;
      view.phase(row, checkingText(file, left));
      deadline = Math.max(deadline, Date.now() + (left ?? 0) + options.comeBackMs);
    }
    if (Date.now() > deadline) {
      return { outcome: "unreachable", text: s ? `unreachable: did not settle within ${options.comeBackMs / 1000} s (running ${s.app} ${s.version}, ${s.otaState})` : `unreachable: did not come back within ${options.comeBackMs / 1000} s` };
    }
    await sleep(options.pollMs);
  }
}

function modChecking(s: BoardStatus, file: PushFile): boolean {
  if (file.kind !== "mod" || !s.mod) return false;
  return s.mod.name === file.app && s.mod.version === file.version && s.mod.state !== "valid";
}

/** The verdict from a settled status. */
export function judge(s: BoardStatus, file: PushFile): Verdict {
  const reason = s.validation.reason;
  if (file.kind === "mod") {
    const last = s.lastModUpdate;
    if (last && last.version === file.version && (last.name === undefined || last.name === file.app) && last.result !== "valid") {
      const why = last.reason ?? reason;
      return { outcome: "rolled-back", text: `rolled back: ${what(file)} ${last.result === "failed" ? "failed" : "failed its start-up check and was rolled back"}${why ? `: ${why}` : ""}; running ${s.mod ? `mod ${s.mod.name} ${s.mod.version}` : "no mod"}` };
    }
    if (s.mod && s.mod.name === file.app && s.mod.version === file.version && s.mod.state === "valid") return { outcome: "valid", text: `valid: mod ${s.mod.name} ${s.mod.version} on ${s.app} ${s.version}` };
    return { outcome: "rolled-back", text: `rolled back: the board runs ${s.mod ? `mod ${s.mod.name} ${s.mod.version} (${s.mod.state})` : "no mod"}, not ${what(file)}` };
  }
  const last = s.lastUpdate;
  if (last && last.version === file.version && last.result !== "valid") {
    const story = last.result === "failed" ? "failed" : "failed its start-up check and was rolled back";
    return { outcome: "rolled-back", text: `rolled back: ${what(file)} ${story}${reason ? `: ${reason}` : ""}; running ${s.app} ${s.version}` };
  }
  if (s.version === file.version && (file.app === undefined || s.app === file.app) && s.otaState !== "pending-verify") return { outcome: "valid", text: `valid: ${s.app} ${s.version}` };
  return { outcome: "rolled-back", text: `rolled back: the board runs ${s.app} ${s.version}, not ${what(file)}${reason ? ` (${reason})` : ""}` };
}

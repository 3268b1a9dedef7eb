// POST /update/upload: an image sent from the phone (or curl) as the raw
// request body. The portal's body router (portal.ts) runs the usual checks on
// the request head alone, then this hands the body, piece by piece as the
// server adapter reads it, to the updater's upload session, which runs the same
// pipeline as a download. Contract (scripts and tests rely on it):
//   Content-Length required (411), x-MD5 optional (32 hex digits, else 400),
//   a form upload (multipart/form-data, or application/x-www-form-urlencoded:
//   a form without enctype, and curl --data-binary without -H "Content-Type:
//   application/octet-stream") is refused (415); 413 over the update
//   slot and 409 while another update runs, both before the body is read;
//   202 {"ok":true} once the body is in: verify and commit follow, and
//   /progress and /api/progress show the rest; 422 {"ok":false,"error"} when
//   the body itself was refused on the way (wrong chip, an image the bootloader
//   would not load: nothing was committed); 408 {"ok":false,"error"} as soon as
//   the update fails because the client stopped sending (the stall time), and
//   the server closes the connection. curl --data-binary works.
//   x-Firmware-Signature: the image's .sig file, base64 on one line
//   (base64 -w0 fw.bin.sig). A board with signing keys answers 422 at once
//   when it is missing (before the body is read), refuses a wrong project, a
//   downgrade or a bad or foreign signature from the image's head (422 once
//   the body is in, nothing erased), and bytes changed after signing at the
//   commit (shown on /progress, as other refusals).
import type { PortalBodyRouter, PortalRequest } from "../ports";
import type { UpdateKind, Updater } from "../updater-api";
import { jsonResponse } from "./responses";
import { SIGNATURE_HEADER_KEY } from "../signature/header";
import type { Route } from "./router";

export const UPLOAD_PATH = "/update/upload";
export const MOD_UPLOAD_PATH = "/update/mod";

/** The kind of update a streamed upload path takes, or undefined for any other path. */
export function uploadKind(path: string): UpdateKind | undefined {
  return path === UPLOAD_PATH ? "firmware" : path === MOD_UPLOAD_PATH ? "mod" : undefined;
}
/** Longest name (x-Filename) shown as the progress target. */
const MAX_NAME = 64;

type Routed = ReturnType<PortalBodyRouter>;

/** The two form encodings (HTML 4.01 17.13.4): neither carries an image as its raw bytes. */
const FORM_TYPE = /^\s*(?:multipart\/|application\/x-www-form-urlencoded\s*(?:;|$))/i;

/** The text without control characters (a name from a header goes into progress and pages). */
function printable(text: string): string {
  let out = "";
  for (const c of text) if (c.charCodeAt(0) >= 0x20 && c !== "\x7f") out += c;
  return out;
}

const refuse = (status: number, error: string): Routed => ({ respond: jsonResponse({ ok: false, error }, status) });

/** Takes the body of an upload (a firmware image, or an app mod for `kind` "mod") that passed the portal's checks. */
export function uploadSink(updater: Updater, head: PortalRequest, kind: UpdateKind = "firmware"): Routed {
  const what = kind === "mod" ? "mod" : "image";
  const length = head.headers.get("content-length")?.trim();
  if (length === undefined || !/^\d{1,10}$/.test(length)) return refuse(411, `Send the ${what} with its size (Content-Length)`);
  if (FORM_TYPE.test(head.headers.get("content-type") ?? "")) return refuse(415, `Send the ${what} as the raw request body (Content-Type: application/octet-stream), not as a form`);
  const md5 = head.headers.get("x-md5")?.trim().toLowerCase();
  const name = printable(head.headers.get("x-filename") ?? "").trim().slice(0, MAX_NAME) || (kind === "mod" ? "uploaded mod" : "uploaded image");
  const signature = head.headers.get(SIGNATURE_HEADER_KEY);
  const started = updater.upload({ size: Number(length), md5: md5 === "" ? undefined : md5, name, ...(signature === undefined ? {} : { signature }), ...(kind === "mod" ? { kind } : {}) });
  if (!started.ok) return refuse(started.status, started.error);
  const { upload } = started;
  return {
    stream: {
      write: (chunk) => upload.write(chunk),
      end: () => {
        upload.end();
        const p = updater.progress();
        return p.phase === "failed" ? jsonResponse({ ok: false, error: p.error ?? "Update failed" }, 422) : jsonResponse({ ok: true }, 202);
      },
      abort: (reason) => upload.abort(reason),
      watch: (answer) => upload.onStall((error) => answer(jsonResponse({ ok: false, error }, 408))),
    },
  };
}

/**
 * In the route table so the password, method and auth checks (and the table's
 * tests) cover it; a server adapter that cannot stream bodies lands here.
 */
export const uploadRoutes: Route[] = [UPLOAD_PATH, MOD_UPLOAD_PATH].map((path) => ({
  path,
  post: () => jsonResponse({ ok: false, error: "This server cannot take a streamed upload" }, 501),
  guarded: true,
  lock: "installs" as const,
}));

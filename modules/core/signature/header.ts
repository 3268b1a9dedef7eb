// The signature as it travels with a download or an upload: the .sig file's
// bytes, base64 on one line, in one header (docs/signing.md). Our server sends
// it when `<file>.sig` exists beside the image; a script or the portal's page
// sends it with an upload. Bounded: base64 of the largest accepted .sig.
import { base64Decode } from "../base64";
import { MAX_SIGNATURE_FILE } from "./sig-file";

/** As servers spell it on the wire. */
export const SIGNATURE_HEADER = "x-Firmware-Signature";
/** Lower-cased, as HttpResponseHead and PortalRequest carry header names. */
export const SIGNATURE_HEADER_KEY = "x-firmware-signature";
/** Base64 of MAX_SIGNATURE_FILE bytes: 1368 characters. */
export const MAX_SIGNATURE_HEADER = Math.ceil(MAX_SIGNATURE_FILE / 3) * 4;

/** The .sig bytes a header value carries, or why it carries none that can be read. */
export function signatureFromHeader(value: string): Uint8Array | { error: string } {
  const text = value.trim();
  if (text.length > MAX_SIGNATURE_HEADER) return { error: `the ${SIGNATURE_HEADER} header is longer than ${MAX_SIGNATURE_HEADER} characters` };
  const bytes = base64Decode(text);
  if (bytes === undefined) return { error: `the ${SIGNATURE_HEADER} header is not base64` };
  return bytes;
}

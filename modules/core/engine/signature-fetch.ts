// GET <path>.sig: the signature file beside a catalog image, for a board that
// takes only signed images when the download's answer carried no
// x-Firmware-Signature header (any static server: nginx, updateserver.py, a
// CDN). Asked after the image's last byte, before the commit. Bounded: at
// most MAX_SIGNATURE_FILE bytes are kept; a larger file is unreadable. 404
// (or 410) means the image has no signature.
import type { HttpClient, HttpExchange, HttpRequest } from "../ports";
import { connectFailed, hostPort, isHttpStatus, notHttp, serverAnswered } from "../messages";
import { MAX_SIGNATURE_FILE } from "../signature/sig-file";

export type SignatureFetch =
  /** The file's bytes; undefined when the server has none (404). */
  | { file: Uint8Array | undefined }
  /** The server sent something that cannot be a signature file (too large). */
  | { unreadable: string }
  /** No answer to judge: the transport failed or the server refused. */
  | { error: string };

const TOO_LARGE = `signature file is larger than ${MAX_SIGNATURE_FILE} bytes`;

/** Starts the request; `done` is called once, unless the exchange is aborted first. */
export function fetchSignatureFile(http: HttpClient, request: HttpRequest, done: (outcome: SignatureFetch) => void): HttpExchange {
  const where = hostPort(request.host, request.port);
  const buffer = new Uint8Array(MAX_SIGNATURE_FILE);
  let length = 0;
  let status = 0;
  let finished = false;
  let stop = false;
  // Set once request() returns; an adapter may answer from inside request() already.
  const held: { exchange?: HttpExchange } = {};
  /** `early`: the answer is known before the exchange ended, so it is stopped. */
  const finish = (outcome: SignatureFetch, early = true) => {
    if (finished) return;
    finished = true;
    stop = early;
    if (early) held.exchange?.abort();
    done(outcome);
  };
  held.exchange = http.request(
    { ...request, method: "GET" },
    {
      onHead: (head) => {
        status = head.status;
        if (!isHttpStatus(status)) return finish({ error: `Cannot fetch the image's signature: ${notHttp(where)}` });
        if (status === 404 || status === 410) return finish({ file: undefined });
        if (status !== 200) return finish({ error: `Cannot fetch the image's signature (${request.path}): ${serverAnswered(status)}` });
        const declared = head.headers.get("content-length");
        if (declared !== undefined && /^\s*\d+\s*$/.test(declared) && Number(declared) > MAX_SIGNATURE_FILE) finish({ unreadable: TOO_LARGE });
      },
      onData: (chunk) => {
        if (finished) return;
        if (length + chunk.length > MAX_SIGNATURE_FILE) return finish({ unreadable: TOO_LARGE });
        buffer.set(chunk, length);
        length += chunk.length;
      },
      onEnd: () => finish({ file: buffer.slice(0, length) }, false),
      onError: (_reason, failure) =>
        finish({ error: status === 0 ? `Cannot fetch the image's signature: ${connectFailed(where, failure)}` : `Cannot fetch the image's signature from ${where}: connection lost` }, false),
    },
  );
  if (stop) held.exchange.abort(); // answered early while request() was still running
  return {
    abort: () => {
      if (finished) return;
      finished = true;
      held.exchange?.abort();
    },
  };
}

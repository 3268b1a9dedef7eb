// A scripted HttpClient: each request gets a ScriptedResponse (from a list, in
// order, or from a route function), played back chunk by chunk on Promise jobs
// the way a real adapter delivers it. It records every request and can refuse a
// connection, never answer, drop, end early or stall at a byte offset.
//
// Like a real adapter it reuses one chunk buffer per exchange, and it poisons
// that buffer after each onData returns, so code that keeps a chunk past the
// call sees garbage (the HttpHandlers contract).
import type { HttpClient, HttpExchange, HttpFailure, HttpHandlers, HttpRequest } from "../../modules/core/ports";

export interface ScriptedResponse {
  /** Fail before any answer: onError(refuse, failure), the failure "refused" unless `failure` says otherwise (DNS, not HTTP...). */
  refuse?: string;
  failure?: HttpFailure;
  /** Accept the connection and never answer. */
  silent?: boolean;
  status?: number;
  /** Header names in any case; the head passes them lowercased, repeats joined with ", ". */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** Bytes the transport delivers (not checked against Content-Length: a lying server is a test case). */
  body?: Uint8Array;
  /** Delivery chunk size, at most 4096 (the port's bound). Default 4096. */
  chunkSize?: number;
  /** After `at` body bytes: "drop" = onError, "end" = onEnd early, "stall" = nothing more, ever. */
  cut?: { at: number; how: "drop" | "end" | "stall" };
  /**
   * Keep calling back after abort(), as an adapter whose socket had data
   * queued might: the client must ignore whatever comes late.
   */
  ignoresAbort?: boolean;
}

export type Route = (request: HttpRequest, index: number) => ScriptedResponse;

export const POISON = 0xa5;

export class ScriptedHttp implements HttpClient {
  readonly requests: HttpRequest[] = [];
  /** Exchanges the client aborted. */
  aborts = 0;
  /** Largest chunk handed to onData. */
  largestChunk = 0;
  private active = 0;
  private readonly route: Route;
  /** Callbacks delivered after the client aborted (only with ignoresAbort). */
  lateCallbacks = 0;

  constructor(route: Route | ScriptedResponse[]) {
    this.route = typeof route === "function" ? route : (_r, i) => route[i] ?? { refuse: `no scripted response #${i}` };
  }

  /** The value of a request header (case-insensitive name). */
  header(index: number, name: string): string | undefined {
    const found = this.requests[index]?.headers?.find(([n]) => n.toLowerCase() === name.toLowerCase());
    return found?.[1];
  }

  request(request: HttpRequest, handlers: HttpHandlers): HttpExchange {
    const index = this.requests.length;
    this.requests.push(request);
    const script = this.route(request, index);
    let aborted = false;
    let done = false;
    let quiet = false;
    this.active++;
    const finish = () => {
      if (!done) {
        done = true;
        this.active--;
      }
    };
    // With ignoresAbort the playback goes on after abort(), counting what it delivers late.
    const stopped = () => {
      if (!aborted) return false;
      if (!script.ignoresAbort) return true;
      this.lateCallbacks++;
      return false;
    };
    const play = async () => {
      await Promise.resolve(); // never call back before request() returns
      if (stopped()) return;
      if (script.refuse !== undefined) {
        handlers.onError(script.refuse, script.failure ?? { kind: "refused" });
        return;
      }
      if (script.silent) return;
      const headers = new Map<string, string>();
      for (const [n, v] of script.headers ?? []) {
        const k = n.toLowerCase();
        headers.set(k, headers.has(k) ? `${headers.get(k)}, ${v}` : v);
      }
      handlers.onHead({ status: script.status ?? 200, headers });
      const body = script.body ?? new Uint8Array(0);
      const size = Math.min(script.chunkSize ?? 4096, 4096);
      const scratch = new Uint8Array(size);
      const stop = script.cut ? Math.min(script.cut.at, body.length) : body.length;
      for (let at = 0; at < stop; ) {
        await Promise.resolve();
        if (stopped()) return;
        const n = Math.min(size, stop - at);
        scratch.set(body.subarray(at, at + n));
        if (n > this.largestChunk) this.largestChunk = n;
        handlers.onData(scratch.subarray(0, n));
        scratch.fill(POISON);
        at += n;
      }
      await Promise.resolve();
      if (stopped()) return;
      if (script.cut?.how === "stall") return; // stays "active" forever: only the client's timer can end it
      if (script.cut?.how === "drop") handlers.onError("connection reset by peer", { kind: "lost" });
      else handlers.onEnd();
    };
    const stalls = script.silent || script.cut?.how === "stall";
    play().then(
      () => {
        if (!stalls || aborted) finish();
        else {
          quiet = true;
          this.stalled++;
        }
      },
      (error: unknown) => {
        finish();
        this.thrown.push(error);
      },
    );
    return {
      abort: () => {
        if (aborted) return;
        aborted = true;
        this.aborts++;
        if (quiet) {
          quiet = false;
          this.stalled--;
        }
        if (done) return;
        finish();
      },
    };
  }

  /** Exchanges that went quiet on purpose (silent or stalled). */
  stalled = 0;
  /** Exceptions thrown out of the client's callbacks (a real adapter would crash or log them). */
  readonly thrown: unknown[] = [];

  /** Lets every exchange play until it ends, is aborted, or goes quiet on purpose. */
  async settle(): Promise<void> {
    for (let spins = 0; spins < 1_000_000; spins++) {
      await Promise.resolve();
      if (this.active - this.stalled <= 0) {
        // a few more turns for jobs the client queued in its last callback
        for (let i = 0; i < 4; i++) await Promise.resolve();
        if (this.active - this.stalled <= 0) return;
      }
    }
    throw new Error("ScriptedHttp.settle: playback did not finish");
  }
}

/** Options for serveBytes. */
export interface ServeOptions {
  /** Extra response headers (e.g. x-MD5). */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** Answer a Range request with 206 (default) or ignore it and send 200 with the whole body. */
  honourRange?: boolean;
  chunkSize?: number;
  cut?: ScriptedResponse["cut"];
  /** Header names left out of a 206 (e.g. "x-MD5": some servers send digests only with the whole body). */
  omitOnPartial?: readonly string[];
  /** The Content-Range a 206 carries, for servers that get it wrong. Default `bytes from-last/total`. */
  contentRange?: (from: number, total: number) => string;
  ignoresAbort?: boolean;
}

/** A well-formed answer for `bytes`, honouring `Range: bytes=N-` like the project's update server. */
export function serveBytes(bytes: Uint8Array, request: HttpRequest, options: ServeOptions = {}): ScriptedResponse {
  const range = request.headers?.find(([n]) => n.toLowerCase() === "range")?.[1];
  const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
  const base: ReadonlyArray<readonly [string, string]> = [["Content-Type", "application/octet-stream"], ...(options.headers ?? [])];
  if (m && options.honourRange !== false) {
    const from = Number(m[1]);
    const omit = (options.omitOnPartial ?? []).map((n) => n.toLowerCase());
    const range = options.contentRange ? options.contentRange(from, bytes.length) : `bytes ${from}-${bytes.length - 1}/${bytes.length}`;
    return {
      status: 206,
      headers: [...base.filter(([n]) => !omit.includes(n.toLowerCase())), ["Content-Length", String(bytes.length - from)], ["Content-Range", range]],
      body: bytes.subarray(from),
      chunkSize: options.chunkSize,
      cut: options.cut,
      ignoresAbort: options.ignoresAbort,
    };
  }
  return { status: 200, headers: [...base, ["Content-Length", String(bytes.length)]], body: bytes, chunkSize: options.chunkSize, cut: options.cut, ignoresAbort: options.ignoresAbort };
}

// Fetches the catalog from an AutoConnect-compatible update server:
// GET /_catalog?op=list&path=P, parsed as it streams in, every failure worded
// for the user. fetchRows is the same exchange for any JSON array of rows.
import type { Clock, HttpClient, HttpExchange, TimerId } from "../ports";
import type { CatalogEntry, ServerSettings } from "../updater-api";
import { CatalogError, CatalogParser, DEFAULT_CATALOG_LIMITS, type CatalogLimits, type JsonRowParser } from "./catalog-parser";
import { connectFailed, hostPort, isHttpStatus, notHttp, seconds, serverAnswered } from "../messages";
import { encodePath } from "./paths";

export type RowsResult<T> = { entries: T[] } | { error: string };
export type CatalogResult = RowsResult<CatalogEntry>;

export interface CatalogFetchOptions {
  /** No answer or no byte for this long fails the request. */
  timeoutMs: number;
  limits?: CatalogLimits;
  /** Extra request headers (the board's last update outcome). */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** The board hosts app mods: `.xsa` file rows are kept as mods. */
  mods?: boolean;
}

/**
 * Sent on catalog requests, as AutoConnect's device (arduino-esp32 HTTPClient)
 * does: updateserver.py reads the User-Agent of every request that is not
 * /_catalog and fails the connection when there is none.
 */
export const CATALOG_USER_AGENT = "ESP32HTTPClient";

export function catalogPath(path: string): string {
  return `/_catalog?op=list&path=${encodePath(path === "" ? "." : path)}`;
}

/** Starts the request; `done` is called exactly once unless cancel() comes first. */
export function fetchCatalog(
  deps: { http: HttpClient; clock: Clock },
  server: ServerSettings,
  options: CatalogFetchOptions,
  done: (result: CatalogResult) => void,
): { cancel(): void } {
  return fetchRows(deps, server, catalogPath(server.path), new CatalogParser(options.limits ?? DEFAULT_CATALOG_LIMITS, { mods: options.mods }), options.timeoutMs, done, options.headers);
}

/**
 * GET `target` on the server, fed to `parser` as it streams in: only a 200 is
 * read; no answer or no byte for `timeoutMs` fails. `done` is called exactly
 * once unless cancel() comes first.
 */
export function fetchRows<T>(
  deps: { http: HttpClient; clock: Clock },
  server: ServerSettings,
  target: string,
  parser: JsonRowParser<T>,
  timeoutMs: number,
  done: (result: RowsResult<T>) => void,
  headers: ReadonlyArray<readonly [string, string]> = [],
): { cancel(): void } {
  const where = hostPort(server.host, server.port);
  let exchange: HttpExchange | undefined = undefined;
  let timer: TimerId | undefined;
  let headSeen = false;
  let finished = false;

  const finish = (result: RowsResult<T>, abort: boolean) => {
    if (finished) return;
    finished = true;
    if (timer) deps.clock.clearTimeout(timer);
    if (abort) exchange?.abort();
    done(result);
  };
  const arm = () => {
    if (timer) deps.clock.clearTimeout(timer);
    timer = deps.clock.setTimeout(() => {
      timer = undefined;
      finish({ error: headSeen ? `Catalog download from ${where} stalled` : `No answer from ${where} within ${seconds(timeoutMs)}` }, true);
    }, timeoutMs);
  };

  arm();
  exchange = deps.http.request(
    { host: server.host, port: server.port, path: target, headers: [["User-Agent", CATALOG_USER_AGENT], ["Accept", "application/json"], ...headers] },
    {
      onHead(head) {
        if (finished) return;
        headSeen = true;
        if (!isHttpStatus(head.status)) return finish({ error: notHttp(where) }, true);
        if (head.status !== 200) return finish({ error: serverAnswered(head.status) }, true);
        arm();
      },
      onData(chunk) {
        if (finished) return;
        arm();
        try {
          parser.push(chunk);
        } catch (error) {
          finish({ error: error instanceof CatalogError ? error.message : String(error) }, true);
        }
      },
      onEnd() {
        if (finished) return;
        try {
          finish({ entries: parser.end() }, false);
        } catch (error) {
          finish({ error: error instanceof CatalogError ? error.message : String(error) }, false);
        }
      },
      onError(_reason, failure) {
        finish({ error: headSeen ? `Connection to ${where} lost while reading the catalog` : connectFailed(where, failure) }, false);
      },
    },
  );
  if (finished) exchange.abort(); // an adapter that failed synchronously
  return {
    cancel: () => {
      if (finished) return;
      finished = true;
      if (timer) deps.clock.clearTimeout(timer);
      exchange?.abort();
    },
  };
}

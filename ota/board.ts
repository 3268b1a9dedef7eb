// The `ota` CLI's client of a board's portal, over plain node:http (one
// connection per request and Connection: close, as the board's server answers).
// The upload streams the file from memory in 64 KB writes, paced by the socket
// (a write waits for 'drain'), and reports the bytes the socket took.
import { request, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import type { StatusJson } from "../modules/core/portal/pages-home";
import type { ModStatusJson } from "../modules/core/portal/pages-mods";
import type { Progress } from "../modules/core/updater-api";

/** /api/status; the mod fields are absent on firmware older than mods. */
export type BoardStatus = Omit<StatusJson, keyof ModStatusJson> & Partial<ModStatusJson>;

export type ProgressJson = Progress & { boot: string };

export interface Target {
  host: string;
  port: number;
  /** host:port as the user wrote it (or as discovery found it). */
  label: string;
}

/** HOST, HOST:PORT, [IPv6]:PORT; the port defaults to 80 (a board's portal). */
export function parseTarget(text: string): Target {
  const t = text.trim();
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(t);
  const plain = /^([A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(t);
  const m = v6 ?? plain;
  if (!m) throw new Error(`"${text}" is not HOST or HOST:PORT`);
  const port = m[2] === undefined ? 80 : Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`"${text}": the port must be 1-65535`);
  return { host: m[1], port, label: port === 80 ? m[1] : `${v6 ? `[${m[1]}]` : m[1]}:${port}` };
}

export interface HttpAnswer {
  status: number;
  text: string;
}

/** A transport failure (no answer at all): connection refused or reset, timeout. */
export class Unreachable extends Error {
  override name = "Unreachable";
}

const UPLOAD_PIECE = 64 * 1024;

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    res.on("data", (c: Buffer) => parts.push(c));
    res.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    res.on("error", reject);
    res.on("aborted", () => reject(new Unreachable("the answer was cut off")));
  });
}

/** The error text a board's JSON answer carries, else the status line. */
export function answerError(answer: HttpAnswer): string {
  try {
    const body = JSON.parse(answer.text) as { error?: unknown };
    if (typeof body.error === "string" && body.error !== "") return body.error;
  } catch {
    // not JSON
  }
  return `HTTP ${answer.status}`;
}

export class Board {
  constructor(
    readonly target: Target,
    /** Authorization header value (Basic) or undefined. */
    public authorization?: string,
  ) {}

  private headers(extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
    const h: OutgoingHttpHeaders = { host: this.hostHeader(), connection: "close", ...extra };
    if (this.authorization) h.authorization = this.authorization;
    return h;
  }

  private hostHeader(): string {
    const host = this.target.host.includes(":") ? `[${this.target.host}]` : this.target.host;
    return this.target.port === 80 ? host : `${host}:${this.target.port}`;
  }

  /** One request with a small body (or none); rejects with Unreachable when no answer comes. */
  call(method: "GET" | "POST", path: string, timeoutMs = 5000, body?: string): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const extra: OutgoingHttpHeaders = body === undefined ? {} : { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body) };
      const req = request({ host: this.target.host, port: this.target.port, method, path, headers: this.headers(extra), agent: false, timeout: timeoutMs }, (res) => {
        readBody(res).then((text) => resolve({ status: res.statusCode ?? 0, text }), reject);
      });
      req.on("timeout", () => req.destroy(new Unreachable(`no answer within ${timeoutMs / 1000} s`)));
      req.on("error", (e) => reject(e instanceof Unreachable ? e : new Unreachable(e.message)));
      req.end(body);
    });
  }

  async json<T>(path: string, timeoutMs?: number): Promise<{ status: number; body: T | undefined; answer: HttpAnswer }> {
    const answer = await this.call("GET", path, timeoutMs);
    let body: T | undefined;
    try {
      body = JSON.parse(answer.text) as T;
    } catch {
      body = undefined;
    }
    return { status: answer.status, body, answer };
  }

  async status(timeoutMs?: number): Promise<BoardStatus> {
    const r = await this.json<BoardStatus>("/api/status", timeoutMs);
    if (r.status !== 200 || !r.body) throw new Unreachable(`/api/status answered ${r.status}`);
    return r.body;
  }

  /**
   * POSTs `bytes` as the raw body. onSent(bytes the socket has taken) after each
   * write. Resolves with the board's answer, which may come before the whole
   * body went (a refusal from the head alone); rejects with Unreachable when
   * the connection broke without an answer.
   */
  upload(path: string, bytes: Uint8Array, headers: OutgoingHttpHeaders, onSent: (sent: number) => void, timeoutMs = 30_000): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      let answered = false;
      let failure: Error | undefined;
      const req = request(
        {
          host: this.target.host,
          port: this.target.port,
          method: "POST",
          path,
          headers: this.headers({ "content-type": "application/octet-stream", "content-length": bytes.length, ...headers }),
          agent: false,
          timeout: timeoutMs,
        },
        (res) => {
          answered = true;
          readBody(res).then(
            (text) => resolve({ status: res.statusCode ?? 0, text }),
            (e: unknown) => reject(e instanceof Error ? e : new Error(String(e))),
          );
        },
      );
      req.setNoDelay(true);
      req.on("timeout", () => req.destroy(new Unreachable(`the board stopped taking the upload for ${timeoutMs / 1000} s`)));
      req.on("error", (e) => {
        failure = e;
        // An answer already parsed wins (the board refused from the head and closed).
        setTimeout(() => {
          if (!answered) reject(e instanceof Unreachable ? e : new Unreachable(e.message));
        }, 50);
      });
      let at = 0;
      const pump = () => {
        while (at < bytes.length && !answered && !failure) {
          const end = Math.min(bytes.length, at + UPLOAD_PIECE);
          const piece = bytes.subarray(at, end);
          at = end;
          const more = req.write(piece, () => onSent(end));
          if (!more) {
            req.once("drain", pump);
            return;
          }
        }
        if (at >= bytes.length && !answered && !failure) req.end();
      };
      pump();
    });
  }
}

/**
 * Sends only the head of an upload (the real Content-Length and headers) and
 * waits for an answer the board gives from the head alone (a refusal: 401,
 * 409, 413, 422 for a missing signature...); then drops the connection. Used
 * after an upload broke off without an answer: a board that refuses from the
 * head answers at once and closes, and its answer can be lost in the reset.
 * undefined when no answer comes (the board was taking the body).
 */
export function headOnly(board: Board, path: string, size: number, headers: OutgoingHttpHeaders, waitMs = 3000): Promise<HttpAnswer | undefined> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: board.target.host,
        port: board.target.port,
        method: "POST",
        path,
        headers: { host: board.target.port === 80 ? board.target.host : `${board.target.host}:${board.target.port}`, connection: "close", "content-type": "application/octet-stream", "content-length": size, ...headers, ...(board.authorization ? { authorization: board.authorization } : {}) },
        agent: false,
      },
      (res) => {
        clearTimeout(timer);
        readBody(res).then(
          (text) => {
            resolve({ status: res.statusCode ?? 0, text });
            req.destroy();
          },
          () => resolve(undefined),
        );
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      resolve(undefined);
    }, waitMs);
    req.on("error", () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    req.flushHeaders();
  });
}

/** The progress of the board's update session (guarded: needs the password when one is set). */
export async function boardProgress(board: Board): Promise<ProgressJson | undefined> {
  const r = await board.json<ProgressJson>("/api/progress");
  return r.status === 200 ? r.body : undefined;
}

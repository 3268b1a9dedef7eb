// The portal password: --password, else OTA_PORTAL_PASSWORD, else a prompt on
// a TTY (typed without echo) when a board asks for it. Never read from a file,
// never printed.
import { basicHeader, PORTAL_USER } from "../modules/core/portal/basic-auth";
import { PASSWORD_FIRST } from "../modules/core/portal/security";
import { answerError, type Board, type HttpAnswer } from "./board";

export const PASSWORD_ENV = "OTA_PORTAL_PASSWORD";

export function givenPassword(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (flag !== undefined) return flag;
  const fromEnv = env[PASSWORD_ENV];
  return fromEnv === undefined || fromEnv === "" ? undefined : fromEnv;
}

/** Reads a line from the terminal without echoing it. */
export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    process.stderr.write(question);
    let text = "";
    const wasRaw = stdin.isRaw;
    stdin.setRawMode(true);
    stdin.resume();
    const done = (error?: Error) => {
      stdin.off("data", onData);
      stdin.setRawMode(wasRaw);
      stdin.pause();
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(text);
    };
    const onData = (chunk: Buffer) => {
      for (const c of chunk.toString("utf8")) {
        if (c === "\r" || c === "\n") return done();
        if (c === "\x03") return done(new Error("cancelled"));
        if (c === "\x7f" || c === "\b") text = [...text].slice(0, -1).join("");
        else if (c >= " ") text += c;
      }
    };
    stdin.on("data", onData);
  });
}

/**
 * Sets the boards' Authorization: the given password, or, when none was given
 * and a board answers 401 on a guarded route, the one typed at a prompt (on a
 * TTY only; otherwise the push reports the refusal).
 */
export async function authorize(boards: Board[], given: string | undefined): Promise<void> {
  let password = given;
  if (password === undefined && process.stdin.isTTY) {
    for (const board of boards) {
      const probe = await board.call("GET", "/api/progress").catch(() => undefined);
      if (probe?.status === 401) {
        password = await promptHidden(`Portal password for ${board.target.label}: `);
        break;
      }
    }
  }
  if (password === undefined) return;
  for (const board of boards) board.authorization = basicHeader(PORTAL_USER, password);
}

/**
 * Why a board refused a request, when the password is the reason: it needs the
 * password (401), or takes no update at all until one is set (403 "Set a
 * portal password first": a board with the secure defaults). Else undefined.
 */
export function passwordRefusal(answer: HttpAnswer, authorized: boolean, hint = ""): string | undefined {
  if (answer.status === 401) return authorized ? "wrong portal password" : `this board needs the portal password${hint}`;
  if (answer.status === 403 && answerError(answer).startsWith(PASSWORD_FIRST)) return `${PASSWORD_FIRST}: this board takes no update until its portal password is set (on its access point: /password)`;
  return undefined;
}

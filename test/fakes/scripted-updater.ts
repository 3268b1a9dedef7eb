// An Updater whose state the test sets directly, for portal routing and
// rendering tests. It records calls and validates settings like the facade's
// contract says (an error text or undefined). The real engine is exercised by
// test/core/portal/engine.test.ts.
import type { CatalogState, Progress, ServerSettings, Updater, UploadRequest, UploadStart } from "../../modules/core/updater-api";

export class ScriptedUpdater implements Updater {
  current: ServerSettings = { host: "192.168.1.10", port: 8000, path: "bin" };
  catalogState: CatalogState = { state: "idle" };
  /** What the next loadCatalog() leaves behind (undefined: stays "loading"). */
  nextCatalog: CatalogState | undefined;
  state: Progress = { phase: "idle", target: "", received: 0, total: 0, rate: 0, resumes: 0 };
  /** Error text start() returns (undefined: starts). */
  startError: string | undefined;
  readonly calls: string[] = [];

  settings(): ServerSettings {
    return { ...this.current };
  }

  saveSettings(settings: ServerSettings): string | undefined {
    this.calls.push(`saveSettings ${settings.host}:${settings.port} ${settings.path}`);
    if (settings.host === "") return "Enter the update server's host.";
    if (!(settings.port >= 1 && settings.port <= 65535)) return "The port is a number from 1 to 65535.";
    this.current = { ...settings };
    return undefined;
  }

  loadCatalog(): void {
    this.calls.push("loadCatalog");
    this.catalogState = this.nextCatalog ?? { state: "loading" };
  }

  catalog(): CatalogState {
    return this.catalogState;
  }

  start(name: string): string | undefined {
    this.calls.push(`start ${name}`);
    if (this.startError !== undefined) return this.startError;
    this.state = { phase: "connecting", target: name, received: 0, total: 0, rate: 0, resumes: 0 };
    return undefined;
  }

  checkIn(url: string): string | undefined {
    this.calls.push(`checkIn ${url}`);
    return undefined;
  }

  /** What upload() answers (undefined: it takes the body, recording it in `uploaded`). */
  uploadRefusal: { status: number; error: string } | undefined;
  readonly uploaded: Array<{ request: UploadRequest; bytes: number; ended: boolean; aborted?: string; stall?: (error: string) => void }> = [];

  upload(request: UploadRequest): UploadStart {
    this.calls.push(`upload ${request.name} ${request.size}`);
    if (this.uploadRefusal) return { ok: false, ...this.uploadRefusal };
    const record: { request: UploadRequest; bytes: number; ended: boolean; aborted?: string; stall?: (error: string) => void } = { request, bytes: 0, ended: false };
    this.uploaded.push(record);
    this.state = { phase: "checking", target: request.name, received: 0, total: request.size, rate: 0, resumes: 0 };
    return {
      ok: true,
      upload: {
        write: (chunk) => void (record.bytes += chunk.length),
        end: () => void (record.ended = true),
        abort: (reason) => void (record.aborted = reason),
        onStall: (listener) => void (record.stall = listener),
      },
    };
  }

  progress(): Progress {
    return { ...this.state };
  }

  cancel(): void {
    this.calls.push("cancel");
    if (this.state.phase !== "idle" && this.state.phase !== "done") this.state = { ...this.state, phase: "cancelled" };
  }
}

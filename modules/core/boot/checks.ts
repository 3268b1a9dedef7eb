// The start-up checks a new image must pass before it is confirmed: the access
// point is up, the portal answers on its own port, and the station has joined
// when credentials are stored. Apps add their own (a sensor found, a cloud
// reached) with BootPolicy.addCheck.
import type { Clock, HttpClient, HttpExchange, KeyValueStore, TimerId, WifiControl } from "../ports";
import type { ApStatus } from "../updater-api";
import { loadCredentials } from "../portal/wifi-credentials";
import { utf8Decode } from "../bytes";

/** "pass"; or still waiting (with what for); or failed for good. */
export type CheckResult = "pass" | { wait: string } | { fail: string };

export interface StartupCheck {
  /** Shown to the user: "portal", "Wi-Fi station", ... */
  readonly name: string;
  /** Called about once a second during the window; a pass is kept. Must not block. */
  poll(): CheckResult;
  /** Stops anything the check started (the window closed). */
  stop?(): void;
}

/** What the check reads of the AP lifecycle (wifi/ap-lifecycle.ts). */
export interface ApLifecycleView {
  status(): ApStatus;
  problem(): string | undefined;
}

/**
 * The AP is up. With a lifecycle, only while it wants the AP up (a board in
 * fallback mode that joins its network at boot never opens it) and a start
 * the radio refused fails the image.
 */
export function accessPointCheck(wifi: WifiControl, lifecycle?: ApLifecycleView): StartupCheck {
  return {
    name: "access point",
    poll: () => {
      const problem = lifecycle?.problem();
      if (problem !== undefined) return { fail: problem };
      if (lifecycle && !lifecycle.status().up) return "pass";
      return wifi.status().apUp ? "pass" : { wait: "not started" };
    },
  };
}

/** Passes at once when no network is stored: a board set up from its portal only has nothing to join. */
export function stationCheck(wifi: WifiControl, store: KeyValueStore): StartupCheck {
  return {
    name: "Wi-Fi station",
    poll: () => {
      const stored = loadCredentials(store);
      if (stored.length === 0 || wifi.status().connected) return "pass";
      return { wait: `not joined to ${stored.map((c) => c.ssid).join(" or ")}` };
    },
  };
}

export interface PortalCheckOptions {
  /** An address the portal accepts as its own Host (the AP's or the station's on a board, the portal host in the twin); read at each try, since the AP may be down. */
  host: string | (() => string);
  port: number;
  /** This boot's id: only our own portal answers with it (not another program on the port). */
  bootId: string;
  /** One request's time limit. Default 5000. */
  timeoutMs?: number;
}

/** Largest part of the status answer read. */
const MAX_STATUS_BYTES = 1024;

/** GET /api/status on the portal's own port over the network stack, expecting this boot's id. */
export function portalCheck(http: HttpClient, clock: Clock, options: PortalCheckOptions): StartupCheck {
  let exchange: HttpExchange | undefined;
  let timer: TimerId | undefined;
  let passed = false;
  let lastProblem = "no answer yet";
  const expected = `"boot":"${options.bootId}"`;

  const finish = (problem: string | undefined) => {
    if (timer) clock.clearTimeout(timer);
    timer = undefined;
    exchange?.abort();
    exchange = undefined;
    if (problem === undefined) passed = true;
    else lastProblem = problem;
  };

  const ask = () => {
    let status = 0;
    const body = new Uint8Array(MAX_STATUS_BYTES);
    let length = 0;
    timer = clock.setTimeout(() => finish(`no answer within ${Math.round((options.timeoutMs ?? 5000) / 1000)} s`), options.timeoutMs ?? 5000);
    exchange = http.request(
      { host: typeof options.host === "string" ? options.host : options.host(), port: options.port, path: "/api/status" },
      {
        onHead: (head) => {
          status = head.status;
        },
        onData: (chunk) => {
          const take = Math.min(chunk.length, MAX_STATUS_BYTES - length);
          body.set(chunk.subarray(0, take), length);
          length += take;
        },
        onEnd: () => {
          exchange = undefined;
          if (status !== 200) return finish(`answered ${status}`);
          finish(utf8Decode(body.subarray(0, length)).includes(expected) ? undefined : "another program answers on its port");
        },
        onError: (reason) => {
          exchange = undefined;
          finish(`not reachable (${reason})`);
        },
      },
    );
  };

  return {
    name: "portal",
    poll: () => {
      if (passed) return "pass";
      if (!exchange) ask();
      return { wait: lastProblem };
    },
    stop: () => finish("stopped"),
  };
}

// The board's wall clock (engine/wall-clock.ts): RFC 7231 Date parsing, the
// time learnt from the update server's answers and kept by the monotonic
// clock, the host clock when plausibly set, and a check-in with credentials
// whose board does not know the time: one HEAD first, then the signed check-in,
// or unsigned when nothing told the time.
import { test, assert } from "../../harness/t";
import { DATE_HALF_SECOND, PLAUSIBLE_AFTER, TIME_PATH, WallClock, learningHttp, parseHttpDate } from "../../../modules/core/engine/wall-clock";
import { FakeClock } from "../../fakes/clock";
import { ScriptedHttp } from "../../fakes/http";
import { createRig } from "../../fakes/rig";
import type { HttpClient, HttpHandlers, HttpRequest } from "../../../modules/core/ports";

const SECRET = "fleet-secret-0123456789";
const DATE = "Mon, 07 Dec 2026 13:16:59 GMT";
const DATE_MS = Date.UTC(2026, 11, 7, 13, 16, 59);
const URL = "http://192.168.4.2:8000/u";

test("IMF-fixdate parses; garbage, obsolete forms, impossible days and wrong weekdays do not", () => {
  assert.equal(parseHttpDate(DATE), DATE_MS);
  assert.equal(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777000); // RFC 7231's example
  assert.equal(parseHttpDate(" Thu, 29 Feb 2024 23:59:60 GMT "), Date.UTC(2024, 1, 29, 23, 59, 59)); // leap day, leap second
  for (const bad of [
    undefined,
    "",
    "garbage",
    "Sunday, 06-Nov-94 08:49:37 GMT", // RFC 850
    "Sun Nov  6 08:49:37 1994", // asctime
    "Sun, 06 Nov 1994 08:49:37 UTC",
    "Sun, 6 Nov 1994 08:49:37 GMT",
    "Tue, 06 Nov 1994 08:49:37 GMT", // a Sunday
    "Fri, 29 Feb 2025 10:00:00 GMT", // no 29 February in 2025
    "Sun, 00 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 24:00:00 GMT",
    "Sun, 06 Nov 1994 08:60:00 GMT",
    "Sun, 06 Nov 1994 08:49:61 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT; x",
  ]) assert.equal(parseHttpDate(bad), undefined, String(bad));
});

test("unknown until told; then the learnt time moves with the monotonic clock", () => {
  const clock = new FakeClock(5_000);
  const wall = new WallClock(clock);
  assert.equal(wall.known(), false);
  assert.equal(wall.now(), undefined);
  assert.equal(wall.learnFromDate(undefined), false);
  assert.equal(wall.learnFromDate("yesterday"), false);
  assert.equal(wall.learnFromDate("Thu, 01 Jan 1970 00:00:05 GMT"), false); // an unset server clock teaches nothing
  assert.equal(wall.known(), false);
  assert.ok(wall.learnFromDate(DATE));
  assert.equal(wall.source(), "server");
  assert.equal(wall.now(), DATE_MS + DATE_HALF_SECOND);
  clock.advance(61_234);
  assert.equal(wall.now(), DATE_MS + DATE_HALF_SECOND + 61_234);
  assert.ok(wall.learnFromDate("Mon, 07 Dec 2026 13:20:00 GMT")); // the last answer wins
  clock.advance(10);
  assert.equal(wall.now(), Date.UTC(2026, 11, 7, 13, 20, 0) + DATE_HALF_SECOND + 10);
});

test("the host's clock is used while plausibly set, not before", () => {
  const clock = new FakeClock();
  let host = 12_345; // an ESP32 without SNTP: 1970 and its uptime
  const wall = new WallClock(clock, () => host);
  assert.equal(wall.known(), false);
  host = PLAUSIBLE_AFTER - 1;
  assert.equal(wall.known(), false);
  host = 1_800_000_000_000; // SNTP set it
  assert.equal(wall.now(), 1_800_000_000_000);
  assert.equal(wall.source(), "host");
  wall.learnFromDate(DATE); // the host's clock still wins
  assert.equal(wall.now(), 1_800_000_000_000);
  host = 7;
  assert.equal(wall.now(), DATE_MS + DATE_HALF_SECOND);
  assert.equal(new WallClock(clock, () => Number.NaN).known(), false);
  assert.equal(new WallClock(clock, () => 5_000_000_000_000).known(), false); // year 2128: garbage too
});

test("every answer's Date is learnt before the caller sees its head", async () => {
  const wall = new WallClock(new FakeClock());
  const http = new ScriptedHttp([{ status: 404, headers: [["Date", DATE]] }]);
  let seen: number | undefined;
  learningHttp(http, wall).request({ host: "h", port: 1, path: "/" }, { onHead: () => (seen = wall.now()), onData: () => {}, onEnd: () => {}, onError: () => {} });
  await http.settle();
  assert.equal(seen, DATE_MS + DATE_HALF_SECOND);
});

/** The rig's check-in server: answers every request with a Date, the time-asking HEAD too. */
function dated(status = 304, date = DATE) {
  return (r: HttpRequest) => (r.method === "HEAD" ? { status: 403, headers: [["Date", date]] as const } : { status, headers: [["Date", date]] as const });
}

test("a board that does not know the time asks the check-in's server once (HEAD /_catalog), then signs with the time it learnt", async () => {
  const rig = createRig({ route: dated(), options: { boardAuth: { secret: SECRET, hostTime: () => 3_000 } } });
  rig.updater.checkIn(URL);
  await rig.settle();
  assert.deepEqual(rig.http.requests.map((r) => [r.method ?? "GET", r.host, r.port, r.path]), [["HEAD", "192.168.4.2", 8000, TIME_PATH], ["GET", "192.168.4.2", 8000, "/u"]]);
  assert.equal(rig.http.header(0, "x-Ota-Auth"), undefined);
  assert.equal(rig.http.header(0, "x-ESP32-STA-MAC"), undefined); // the HEAD is no check-in
  assert.equal(rig.http.header(1, "x-Ota-Auth")?.split(" ")[1], String(DATE_MS + DATE_HALF_SECOND));
  assert.equal(rig.updater.progress().phase, "current");
  rig.clock.advance(60_000);
  rig.updater.checkIn(URL); // known now: no HEAD
  await rig.settle();
  assert.equal(rig.http.requests.length, 3);
  assert.equal(rig.http.requests[2].method ?? "GET", "GET");
  assert.equal(rig.http.header(2, "x-Ota-Auth")?.split(" ")[1], String(DATE_MS + DATE_HALF_SECOND + 60_000));
});

test("the time learnt from a catalog answer serves the next check-in: no HEAD", async () => {
  const rig = createRig({ route: (r) => (r.path.startsWith("/_catalog") ? { status: 200, headers: [["Date", DATE]], body: new TextEncoder().encode("[]") } : { status: 304 }), options: { boardAuth: { secret: SECRET } } });
  rig.updater.loadCatalog();
  await rig.settle();
  const before = rig.http.requests.length;
  rig.updater.checkIn(URL);
  await rig.settle();
  assert.deepEqual(rig.http.requests.slice(before).map((r) => r.method ?? "GET"), ["GET"]);
  assert.equal(rig.http.header(before, "x-Ota-Auth")?.split(" ")[1], String(DATE_MS + DATE_HALF_SECOND));
});

test("a host clock that is set: no HEAD, its time signs", async () => {
  const rig = createRig({ route: dated(), options: { boardAuth: { secret: SECRET, hostTime: () => 1_800_000_000_000 } } });
  rig.updater.checkIn(URL);
  await rig.settle();
  assert.deepEqual(rig.http.requests.map((r) => r.method ?? "GET"), ["GET"]);
  assert.equal(rig.http.header(0, "x-Ota-Auth")?.split(" ")[1], "1800000000000");
});

test("no Date in the HEAD's answer, or no answer: the check-in goes unsigned, and the log says why", async () => {
  const lines: string[] = [];
  const rig = createRig({ route: (r) => (r.method === "HEAD" ? { status: 403 } : { status: 304 }), options: { boardAuth: { secret: SECRET } }, log: (l) => lines.push(l) });
  rig.updater.checkIn(URL);
  await rig.settle();
  assert.deepEqual(rig.http.requests.map((r) => r.method ?? "GET"), ["HEAD", "GET"]);
  assert.equal(rig.http.header(1, "x-Ota-Auth"), undefined);
  assert.equal(rig.updater.progress().phase, "current");
  assert.ok(lines.some((l) => /without board credentials: the board does not know the time/.test(l)), lines.join("\n"));

  // A server that never answers the HEAD: the check-in goes after stallMs, the HEAD aborted.
  const silent = createRig({ route: (r) => (r.method === "HEAD" ? { silent: true } : { status: 304 }), options: { boardAuth: { secret: SECRET }, stallMs: 2000 } });
  silent.updater.checkIn(URL);
  await silent.settle();
  assert.equal(silent.http.requests.length, 1);
  assert.equal(silent.updater.progress().phase, "connecting");
  silent.clock.advance(2000);
  assert.equal(silent.http.aborts, 1); // the HEAD
  await silent.settle();
  assert.deepEqual(silent.http.requests.map((r) => r.method ?? "GET"), ["HEAD", "GET"]);
  assert.equal(silent.updater.progress().phase, "current");
});

test("without credentials nothing asks the time", async () => {
  const rig = createRig({ route: dated() });
  rig.updater.checkIn(URL);
  await rig.settle();
  assert.deepEqual(rig.http.requests.map((r) => r.method ?? "GET"), ["GET"]);
});

test("cancelled while asking the time: nothing more is sent", async () => {
  const rig = createRig({ route: (r) => (r.method === "HEAD" ? { silent: true } : { status: 304 }), options: { boardAuth: { secret: SECRET } } });
  rig.updater.checkIn(URL);
  await rig.settle();
  rig.updater.cancel();
  rig.clock.advance(60_000);
  await rig.settle();
  assert.equal(rig.http.requests.length, 1);
  assert.notEqual(rig.updater.progress().phase, "current");
});

/** The HEAD is kept by the test, which answers it when it likes (or at once); everything else plays from the script. */
function heldHead(answerAtOnce: boolean) {
  const held: { handlers?: HttpHandlers; aborted: number } = { aborted: 0 };
  const wrap = (http: HttpClient & { requests: HttpRequest[] }): HttpClient => ({
    request(request, handlers) {
      if (request.method !== "HEAD") return http.request(request, handlers);
      http.requests.push(request);
      held.handlers = handlers;
      if (answerAtOnce) handlers.onError("refused at once", { kind: "refused" });
      return { abort: () => held.aborted++ };
    },
  });
  return { held, wrap };
}

test("the HEAD answered at once (inside request()): the check-in it starts is the exchange a cancel aborts", async () => {
  const { wrap } = heldHead(true);
  const rig = createRig({ route: (r) => (r.method === "HEAD" ? { status: 403 } : { silent: true }), options: { boardAuth: { secret: SECRET } }, wrapHttp: wrap });
  rig.updater.checkIn(URL);
  await rig.settle();
  assert.deepEqual(rig.http.requests.map((r) => r.method ?? "GET"), ["HEAD", "GET"]);
  rig.updater.cancel();
  assert.equal(rig.http.aborts, 1); // the GET's connection, not the finished HEAD's
});

test("a HEAD that answers after the session gave up on it starts nothing more", async () => {
  const { held, wrap } = heldHead(false);
  const rig = createRig({ route: () => ({ silent: true }), options: { boardAuth: { secret: SECRET }, stallMs: 1000 }, wrapHttp: wrap });
  rig.updater.checkIn(URL);
  rig.clock.advance(1000);
  assert.equal(held.aborted, 1);
  await rig.settle();
  held.handlers?.onError("late", { kind: "lost" }); // while the check-in waits for its answer
  await rig.settle();
  assert.deepEqual(rig.http.requests.map((r) => r.method ?? "GET"), ["HEAD", "GET"]);
  assert.equal(rig.updater.progress().phase, "connecting");
});

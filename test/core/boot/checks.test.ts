// The built-in start-up checks on fakes (Node and XS): the portal must answer
// on its own port with this boot's id, the station must join when a network is
// stored, the access point must be up.
import { test, assert } from "../../harness/t";
import { accessPointCheck, portalCheck, stationCheck } from "../../../modules/core/boot/checks";
import { rememberCredential } from "../../../modules/core/portal/wifi-credentials";
import { utf8Encode } from "../../../modules/core/bytes";
import { FakeClock } from "../../fakes/clock";
import { ScriptedHttp, type ScriptedResponse } from "../../fakes/http";
import { FakeWifi } from "../../fakes/wifi";
import { MemoryStore } from "../../fakes/store";

const json = (text: string): ScriptedResponse => ({ status: 200, headers: [["Content-Length", String(utf8Encode(text).length)]], body: utf8Encode(text) });

test("portal: passes when GET /api/status on the portal's own address answers 200 with this boot's id", async () => {
  const http = new ScriptedHttp([{ refuse: "connection refused" }, json('{"app":"x","boot":"other-boot"}'), { status: 302, headers: [["Location", "/"]] }, json('{"app":"x","boot":"b-1"}')]);
  const clock = new FakeClock();
  const check = portalCheck(http, clock, { host: "192.168.4.1", port: 80, bootId: "b-1" });
  assert.deepEqual(check.poll(), { wait: "no answer yet" });
  await http.settle();
  assert.deepEqual(check.poll(), { wait: "not reachable (connection refused)" });
  await http.settle();
  assert.deepEqual(check.poll(), { wait: "another program answers on its port" }, "a server that is not ours on the port does not count");
  await http.settle();
  assert.deepEqual(check.poll(), { wait: "answered 302" });
  await http.settle();
  assert.equal(check.poll(), "pass");
  assert.equal(check.poll(), "pass");
  assert.equal(http.requests.length, 4, "no request after the pass");
  assert.deepEqual([http.requests[0].host, http.requests[0].port, http.requests[0].path], ["192.168.4.1", 80, "/api/status"]);
});

test("portal: a request that never answers is given up after its time limit and asked again", async () => {
  const http = new ScriptedHttp([{ silent: true }, json('{"boot":"b-2"}')]);
  const clock = new FakeClock();
  const check = portalCheck(http, clock, { host: "127.0.0.1", port: 8080, bootId: "b-2", timeoutMs: 3000 });
  check.poll();
  await http.settle();
  assert.deepEqual(check.poll(), { wait: "no answer yet" }, "one request at a time");
  assert.equal(http.requests.length, 1);
  clock.advance(3000);
  assert.equal(http.aborts, 1);
  assert.deepEqual(check.poll(), { wait: "no answer within 3 s" });
  await http.settle();
  assert.equal(check.poll(), "pass");
});

test("portal: a host given as a function is read at each try (the AP's address, then the station's once the AP is down)", async () => {
  const http = new ScriptedHttp([{ refuse: "connection refused" }, json('{"boot":"b-3"}')]);
  let host = "192.168.4.1";
  const check = portalCheck(http, new FakeClock(), { host: () => host, port: 80, bootId: "b-3" });
  check.poll();
  await http.settle();
  host = "192.168.1.57";
  check.poll();
  await http.settle();
  assert.equal(check.poll(), "pass");
  assert.deepEqual(http.requests.map((r) => r.host), ["192.168.4.1", "192.168.1.57"]);
});

test("portal: stop() aborts a request in flight", async () => {
  const http = new ScriptedHttp([{ silent: true }]);
  const check = portalCheck(http, new FakeClock(), { host: "127.0.0.1", port: 8080, bootId: "b" });
  check.poll();
  await http.settle();
  check.stop?.();
  assert.equal(http.aborts, 1);
});

test("station: passes with no stored network; with one, only once the station has joined", () => {
  const wifi = new FakeWifi({ connected: false });
  const store = new MemoryStore();
  const check = stationCheck(wifi, store);
  assert.equal(check.poll(), "pass", "a board set up from its portal only has nothing to join");
  rememberCredential(store, { ssid: "home", password: "password1" });
  assert.deepEqual(check.poll(), { wait: "not joined to home" });
  wifi.current = { ...wifi.current, connected: true, stationSsid: "home", stationAddress: "192.168.1.5" };
  assert.equal(check.poll(), "pass");
});

test("access point: passes once it is up", () => {
  const wifi = new FakeWifi({ apUp: false });
  const check = accessPointCheck(wifi);
  assert.deepEqual(check.poll(), { wait: "not started" });
  wifi.current = { ...wifi.current, apUp: true };
  assert.equal(check.poll(), "pass");
});

test("access point with a lifecycle: passes while it keeps the AP down, waits for it when it wants it up, fails when the radio refused", () => {
  const wifi = new FakeWifi({ apUp: false });
  const lifecycle = { up: false, problem: undefined as string | undefined, status: () => ({ mode: "fallback" as const, up: lifecycle.up, closesInS: null }) };
  const check = accessPointCheck(wifi, { status: () => lifecycle.status(), problem: () => lifecycle.problem });
  assert.equal(check.poll(), "pass", "fallback mode joined at boot: the AP is not wanted");
  lifecycle.up = true;
  assert.deepEqual(check.poll(), { wait: "not started" }, "wanted up: the radio must say so");
  wifi.current = { ...wifi.current, apUp: true };
  assert.equal(check.poll(), "pass");
  lifecycle.problem = "the access point could not start: esp_wifi_start failed";
  assert.deepEqual(check.poll(), { fail: "the access point could not start: esp_wifi_start failed" });
});

import { test, assert } from "../../harness/t";
import { catalogPath } from "../../../modules/core/engine/catalog-client";
import { utf8Encode } from "../../../modules/core/bytes";
import { createRig } from "../../fakes/rig";
import type { ScriptedResponse } from "../../fakes/http";
import { REFERENCE_CATALOG } from "../../fakes/fixtures"; // /work/shared/fixtures/autoconnect-updateserver-catalog-response.http

const json = (text: string, extra: Partial<ScriptedResponse> = {}): ScriptedResponse => ({
  status: 200,
  headers: [["Content-Type", "application/json"], ["Content-Length", String(utf8Encode(text).length)]],
  body: utf8Encode(text),
  ...extra,
});

async function catalogWith(response: ScriptedResponse, slotSize?: number) {
  const rig = createRig({ route: [response], slotSize });
  rig.updater.loadCatalog();
  assert.deepEqual(rig.updater.catalog(), { state: "loading" });
  await rig.settle();
  return rig;
}

test("the catalog request is GET /_catalog?op=list&path=P on the configured server", async () => {
  const rig = await catalogWith(json(REFERENCE_CATALOG));
  assert.equal(rig.http.requests.length, 2, "the catalog, then our server's chip list (catalog-facts.test.ts)");
  const r = rig.http.requests[0];
  assert.deepEqual([r.host, r.port, r.path, r.method ?? "GET"], ["192.168.4.2", 8000, "/_catalog?op=list&path=.", "GET"]);
  assert.equal(catalogPath("bin/esp32"), "/_catalog?op=list&path=bin/esp32");
  assert.equal(catalogPath("my fw"), "/_catalog?op=list&path=my%20fw");
  // a query value: updateserver.py decodes it with parse_qs, so "+", "&", "#" and "%" are escaped
  assert.equal(catalogPath("a+b&c#d%"), "/_catalog?op=list&path=a%2Bb%26c%23d%25");
  assert.equal(rig.http.header(0, "User-Agent"), "ESP32HTTPClient", "the User-Agent AutoConnect's device sends");
});

test("the reference server's catalog is offered as its two bin rows", async () => {
  const rig = await catalogWith(json(REFERENCE_CATALOG, { chunkSize: 17 }));
  assert.deepEqual(rig.updater.catalog(), {
    state: "ready",
    entries: [
      { name: "fw_v2.bin", date: "11/22/26", time: "10:55:15", size: 2404 },
      { name: "fw_v1.bin", date: "11/22/26", time: "10:55:15", size: 1028 },
    ],
  });
});

test("entries larger than the update partition are listed but disabled, with the reason", async () => {
  const text = '[{"name":"big.bin","type":"bin","size":4404019},{"name":"ok.bin","type":"bin","size":1992294},{"name":"zero.bin","type":"bin","size":0}]';
  const rig = await catalogWith(json(text), 1992294);
  const state = rig.updater.catalog();
  assert.ok(state.state === "ready");
  assert.equal(state.entries[0].disabled, "Too large: 4.2 MB, the update partition holds 1.9 MB");
  assert.equal(state.entries[1].disabled, undefined);
  assert.equal(state.entries[2].disabled, "Empty file");
  assert.equal(rig.updater.start("big.bin"), "Too large: 4.2 MB, the update partition holds 1.9 MB");
  assert.deepEqual(rig.http.requests.filter((r) => r.path.endsWith(".bin")), [], "a disabled entry is never fetched");
});

test("an empty catalog is ready with no entries (the portal says 'No available firmwares')", async () => {
  const rig = await catalogWith(json("[]"));
  assert.deepEqual(rig.updater.catalog(), { state: "ready", entries: [] });
});

test("a refused connection reads 'Cannot connect to host:port: connection refused'", async () => {
  const rig = await catalogWith({ refuse: "ECONNREFUSED" });
  assert.deepEqual(rig.updater.catalog(), { state: "error", error: "Cannot connect to 192.168.4.2:8000: connection refused" });
});

test("a failed connection is named by its cause: name not found, not HTTP (what came, cut and cleaned), closed without an answer", async () => {
  for (const [failure, error] of [
    [{ kind: "resolve" }, "Cannot connect to 192.168.4.2:8000: name not found"],
    [{ kind: "not-http", got: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n" }, "Server at 192.168.4.2:8000 did not answer HTTP (got 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3')"],
    [{ kind: "not-http", got: "\r\n\x00\x01junk\u00e9" + "x".repeat(60) }, `Server at 192.168.4.2:8000 did not answer HTTP (got '??junk?${"x".repeat(33)}...')`],
    [{ kind: "not-http" }, "Server at 192.168.4.2:8000 did not answer HTTP"],
    [{ kind: "lost" }, "Server at 192.168.4.2:8000 closed the connection without answering"],
    [{ kind: "other" }, "Cannot connect to 192.168.4.2:8000"],
  ] as const) {
    const rig = await catalogWith({ refuse: "x", failure });
    assert.deepEqual(rig.updater.catalog(), { state: "error", error }, failure.kind);
  }
});

test("a status line without a status code 100-599 (garbage that parsed as a head) reads 'did not answer HTTP', never 'Server answered NaN'", async () => {
  for (const status of [NaN, 0, 99, 600, 2000, 200.5]) {
    const rig = await catalogWith({ status, headers: [["Content-Length", "2"]], body: utf8Encode("[]") });
    assert.deepEqual(rig.updater.catalog(), { state: "error", error: "Server at 192.168.4.2:8000 did not answer HTTP" }, String(status));
  }
});

test("a status other than 200 reads 'Server answered <code> <reason>'", async () => {
  for (const [status, text] of [
    [404, "Server answered 404 Not Found"],
    [403, "Server answered 403 Forbidden"],
    [500, "Server answered 500 Internal Server Error"],
    [599, "Server answered 599"],
  ] as const) {
    const rig = await catalogWith({ status, headers: [["Content-Length", "9"]], body: utf8Encode("not found") });
    assert.deepEqual(rig.updater.catalog(), { state: "error", error: text });
    assert.equal(rig.http.aborts, 1, "the error body is not read");
  }
});

test("an HTML page instead of JSON reads 'Not a catalog'", async () => {
  const rig = await catalogWith(json("<!DOCTYPE html><html>captive portal login</html>"));
  assert.deepEqual(rig.updater.catalog(), { state: "error", error: "Not a catalog: the server did not send a firmware list" });
});

test("a catalog over 16 KB stops reading at the cap: 'Catalog too large'", async () => {
  const row = '{"name":"readme.txt","type":"file"}';
  const text = `[${Array.from({ length: 1000 }, () => row).join(",")}]`;
  const rig = await catalogWith(json(text));
  assert.deepEqual(rig.updater.catalog(), { state: "error", error: "Catalog too large: over 16 KB" });
  assert.equal(rig.http.aborts, 1, "the rest of the body is not downloaded");
});

test("a server that never answers times out after 8 s", async () => {
  const rig = await catalogWith({ silent: true });
  rig.clock.advance(7999);
  assert.deepEqual(rig.updater.catalog(), { state: "loading" });
  rig.clock.advance(1);
  assert.deepEqual(rig.updater.catalog(), { state: "error", error: "No answer from 192.168.4.2:8000 within 8 s" });
});

test("a catalog cut off mid-body reads as a lost connection; a stalled one times out", async () => {
  const text = REFERENCE_CATALOG;
  let rig = await catalogWith(json(text, { cut: { at: 100, how: "drop" } }));
  assert.deepEqual(rig.updater.catalog(), { state: "error", error: "Connection to 192.168.4.2:8000 lost while reading the catalog" });
  rig = await catalogWith(json(text, { cut: { at: 100, how: "end" } }));
  assert.deepEqual(rig.updater.catalog(), { state: "error", error: "Not a catalog: the server did not send a firmware list" });
  rig = await catalogWith(json(text, { cut: { at: 100, how: "stall" } }));
  rig.clock.advance(8000);
  assert.deepEqual(rig.updater.catalog(), { state: "error", error: "Catalog download from 192.168.4.2:8000 stalled" });
});

test("loading again replaces the earlier result and uses the saved settings", async () => {
  const rig = createRig({ route: [{ refuse: "ECONNREFUSED" }, json(REFERENCE_CATALOG)] });
  rig.updater.loadCatalog();
  await rig.settle();
  assert.equal(rig.updater.catalog().state, "error");
  assert.equal(rig.updater.saveSettings({ host: "10.0.0.7", port: 8080, path: "/bin/" }), undefined);
  rig.updater.loadCatalog();
  await rig.settle();
  assert.equal(rig.updater.catalog().state, "ready");
  assert.deepEqual([rig.http.requests[1].host, rig.http.requests[1].port, rig.http.requests[1].path], ["10.0.0.7", 8080, "/_catalog?op=list&path=bin"]);
});

test("saving a different server forgets the old list; saving the same one keeps it", async () => {
  const rig = await catalogWith(json(REFERENCE_CATALOG));
  assert.equal(rig.updater.saveSettings({ host: "192.168.4.2", port: 8000, path: "." }), undefined);
  assert.equal(rig.updater.catalog().state, "ready");
  assert.equal(rig.updater.saveSettings({ host: "192.168.4.3", port: 8000, path: "." }), undefined);
  assert.deepEqual(rig.updater.catalog(), { state: "idle" });
  assert.equal(rig.updater.start("fw_v2.bin"), "Load the firmware list first");
});

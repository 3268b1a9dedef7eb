// POST /update/upload through the portal's body router (Node and XS): the
// usual checks on the request head alone, then the body to the updater as a
// stream; 202 once it is in; refusals before a byte is read.
import { test, assert } from "../../harness/t";
import { portalRig, request, header, OPEN_PORTAL } from "../../fakes/portal-client";
import { basicHeader, setPassword } from "../../../modules/core/portal/basic-auth";
import type { PortalBodySink, PortalResponse } from "../../../modules/core/ports";

function upload(headers: Record<string, string>, options: { host?: string } = {}) {
  return request("POST", "/update/upload", { headers: { "content-type": "application/octet-stream", ...headers }, host: options.host });
}

function streamed(routed: ReturnType<ReturnType<typeof portalRig>["portal"]["bodyRouter"]>): PortalBodySink {
  if (!routed || !("stream" in routed)) throw new Error(`not streamed: ${JSON.stringify(routed)}`);
  return routed.stream;
}

function responded(routed: ReturnType<ReturnType<typeof portalRig>["portal"]["bodyRouter"]>): PortalResponse {
  if (!routed || !("respond" in routed)) throw new Error("expected an answer without the body");
  return routed.respond;
}

test("an upload's body goes to the updater in pieces; 202 once it is in", () => {
  const web = portalRig(OPEN_PORTAL);
  const sink = streamed(web.portal.bodyRouter(upload({ "content-length": "10000", "x-md5": "0123456789ABCDEF0123456789ABCDEF", "x-filename": "fw\u0007-1.2.0.bin" })));
  sink.write(new Uint8Array(4096));
  sink.write(new Uint8Array(4096));
  sink.write(new Uint8Array(1808));
  const r = sink.end();
  assert.equal(r.status, 202);
  assert.deepEqual(JSON.parse(r.body), { ok: true });
  assert.equal(web.updater.uploaded.length, 1);
  assert.deepEqual(web.updater.uploaded[0], { request: { size: 10000, md5: "0123456789abcdef0123456789abcdef", name: "fw-1.2.0.bin" }, bytes: 10000, ended: true });
});

test("refused from the head alone: no size 411, a form 415, busy 409, too large 413, cross-site 403, foreign host redirected", () => {
  const web = portalRig(OPEN_PORTAL);
  assert.equal(responded(web.portal.bodyRouter(request("POST", "/update/upload", { headers: { "content-length": "abc" } }))).status, 411);
  const form = responded(web.portal.bodyRouter(upload({ "content-length": "100", "content-type": "multipart/form-data; boundary=x" })));
  assert.equal(form.status, 415);
  assert.match(JSON.parse(form.body).error, /raw request body/);
  // the other form encoding too (a <form> without enctype, curl --data-binary's default type), any case, with parameters
  for (const type of ["application/x-www-form-urlencoded", "Application/X-WWW-Form-Urlencoded; charset=UTF-8", " application/x-www-form-urlencoded "]) {
    const urlencoded = responded(web.portal.bodyRouter(upload({ "content-length": "100", "content-type": type })));
    assert.deepEqual([urlencoded.status, JSON.parse(urlencoded.body).error], [415, "Send the image as the raw request body (Content-Type: application/octet-stream), not as a form"], type);
  }
  // a type that only starts like it is no form
  assert.ok("stream" in (web.portal.bodyRouter(upload({ "content-length": "100", "content-type": "application/x-www-form-urlencodedx" })) ?? {}));
  web.updater.uploaded.length = 0;
  web.updater.uploadRefusal = { status: 409, error: "An update is already running" };
  const busy = responded(web.portal.bodyRouter(upload({ "content-length": "100" })));
  assert.deepEqual([busy.status, JSON.parse(busy.body)], [409, { ok: false, error: "An update is already running" }]);
  web.updater.uploadRefusal = { status: 413, error: "Image is 4 MB, the update partition holds 1.9 MB" };
  assert.equal(responded(web.portal.bodyRouter(upload({ "content-length": "4194304" }))).status, 413);
  web.updater.uploadRefusal = undefined;
  assert.equal(responded(web.portal.bodyRouter(upload({ "content-length": "100", origin: "http://evil.example" }))).status, 403);
  assert.equal(responded(web.portal.bodyRouter(upload({ "content-length": "100" }, { host: "captive.apple.com" }))).status, 302);
  assert.equal(web.updater.uploaded.length, 0, "no upload was started");
  // other paths and methods are the form handler's
  assert.equal(web.portal.bodyRouter(request("POST", "/update", { headers: { "content-length": "10" } })), undefined);
  assert.equal(web.portal.bodyRouter(request("GET", "/update/upload")), undefined);
});

test("a client that stops sending: once the updater gives up, the sink answers 408 with the error (the server sends it and closes)", () => {
  const web = portalRig(OPEN_PORTAL);
  const sink = streamed(web.portal.bodyRouter(upload({ "content-length": "10000" })));
  const answers: PortalResponse[] = [];
  sink.watch?.((response) => answers.push(response));
  sink.write(new Uint8Array(4096));
  assert.deepEqual(answers, []);
  web.updater.uploaded[0].stall?.("The upload stalled at 40 %: nothing arrived for 8 s");
  assert.equal(answers.length, 1);
  assert.equal(answers[0].status, 408);
  assert.deepEqual(JSON.parse(answers[0].body), { ok: false, error: "The upload stalled at 40 %: nothing arrived for 8 s" });
});

test("the portal password guards the upload; the right credentials pass", () => {
  const web = portalRig(OPEN_PORTAL);
  setPassword(web.store, "s3cret-pass");
  const refused = responded(web.portal.bodyRouter(upload({ "content-length": "100" })));
  assert.equal(refused.status, 401);
  assert.match(header(refused, "www-authenticate") ?? "", /^Basic realm=/);
  assert.equal(web.updater.uploaded.length, 0);
  const sink = streamed(web.portal.bodyRouter(upload({ "content-length": "100", authorization: basicHeader("admin", "s3cret-pass") })));
  sink.write(new Uint8Array(100));
  assert.equal(sink.end().status, 202);
});

test("a body broken off is reported to the updater; a server that cannot stream gets 501 from the route table", () => {
  const web = portalRig(OPEN_PORTAL);
  const sink = streamed(web.portal.bodyRouter(upload({ "content-length": "1000" })));
  sink.write(new Uint8Array(10));
  sink.abort("the client went away");
  assert.equal(web.updater.uploaded[0].aborted, "the client went away");
  assert.equal(web.portal(upload({ "content-length": "0" })).status, 501);
});

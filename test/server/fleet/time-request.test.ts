// The request a board sends to learn the time before its first signed
// check-in (modules/core/engine/wall-clock.ts askTime): HEAD /_catalog on the
// check-in server. Ours answers it at once with its Date and records nothing;
// a HEAD of the check-in URL instead would be recorded as a refused check-in,
// which is why the board does not ask there.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TIME_PATH, parseHttpDate } from "../../../modules/core/engine/wall-clock";
import { buildImage } from "../../../tools/esp-image";
import { BACKENDS } from "../../support/databases";
import { rawRequest, requestText } from "../helpers";
import { startFleetServer, type FleetServer } from "./helpers";

const SECRET = "fleet-secret-0123456789abcdef";
const backend = BACKENDS[0]; // SQLite: what is recorded does not depend on the database

describe("the board's time request", () => {
  let s: FleetServer;
  before(async () => {
    s = await startFleetServer(backend, { rules: "default: { firmware: fw/v1.bin }", files: { "fw/v1.bin": Buffer.from(buildImage({ version: "1.0.0", size: 30_000 })) }, fleet: { fleetSecret: SECRET } }); // (under --require-board-auth nothing uncredentialed is recorded at all)
  });
  after(() => s?.stop());
  const checkins = async () => Number((await s.fleet!.db.get<{ n: number }>("SELECT count(*) AS n FROM checkins"))?.n);

  test("HEAD /_catalog: answered with the server's Date, nothing recorded; HEAD of the check-in URL would be", async () => {
    const r = await rawRequest(s.port, requestText(TIME_PATH, { Host: "127.0.0.1" }, "HEAD"), true);
    assert.equal(r.status, 403);
    const date = parseHttpDate(r.headers.date);
    assert.ok(date !== undefined && Math.abs(date - Date.now()) < 2000, String(r.headers.date));
    await s.api("/api/devices"); // a turn for the response's close hook
    assert.equal(await checkins(), 0);
    await rawRequest(s.port, requestText("/update", { Host: "127.0.0.1" }, "HEAD"), true);
    const deadline = Date.now() + 5000;
    while ((await checkins()) === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    assert.equal(await checkins(), 1);
  });
});

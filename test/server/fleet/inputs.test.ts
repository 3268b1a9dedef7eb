// Text that would reach the database is refused at the schema edge with 400,
// the same on both engines: a NUL (PostgreSQL refuses it in TEXT, and once
// answered 500) or another control character in a channel, image or reason.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { buildImage } from "../../../tools/esp-image";
import { BACKENDS } from "../../support/databases";
import { startFleetServer, type FleetServer } from "./helpers";

const v1 = Buffer.from(buildImage({ version: "1.0.0", size: 30_000 }));

for (const backend of BACKENDS) {
  describe(`control characters on ${backend.name}`, { skip: backend.skip }, () => {
    let s: FleetServer;
    before(async () => {
      s = await startFleetServer(backend, { rules: "default: { firmware: fw/v1.bin }", files: { "fw/v1.bin": v1 } });
    });
    after(() => s?.stop());

    test("GET /api/devices?channel= with a NUL or a control character: 400; a plain channel: 200", async () => {
      for (const q of ["%00", "beta%00", "a%01b", "%7F"]) {
        const r = await s.api<{ error: string }>(`/api/devices?channel=${q}`);
        assert.equal(r.status, 400, q);
      }
      assert.equal((await s.api("/api/devices?channel=beta")).status, 200);
    });

    test("a rollout's channel, image and a halt reason with a NUL: 400", async () => {
      for (const body of [{ channel: "sta\u0000ble", image: "fw/v1.bin" }, { channel: "stable", image: "fw/v1.bin\u0000" }]) {
        const r = await s.api("/api/rollouts", { method: "POST", body });
        assert.equal(r.status, 400, JSON.stringify(body));
      }
      const created = await s.api<{ id: number }>("/api/rollouts", { method: "POST", body: { channel: "stable", image: "fw/v1.bin" } });
      assert.equal(created.status, 201);
      assert.equal((await s.api(`/api/rollouts/${created.body.id}/halt`, { method: "POST", body: { reason: "bad\u0000" } })).status, 400);
      assert.equal((await s.api(`/api/rollouts/${created.body.id}/halt`, { method: "POST", body: { reason: "fine" } })).status, 200);
    });
  });
}

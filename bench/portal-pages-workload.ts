// Workload of bench/portal-pages.ts: renders each portal page many times over
// fakes and reports its size and mean time per request. Engine-neutral: runs
// inside XS and on Node alike.
import { portalRig } from "../test/fakes/portal-client";
import { utf8Length } from "../modules/core/portal/form";
import { rememberCredential } from "../modules/core/portal/wifi-credentials";

export interface PageFigure {
  page: string;
  bytes: number;
  msPerRequest: number;
}

export function runPortalBench(rounds = 300): PageFigure[] {
  const rig = portalRig();
  rig.updater.catalogState = {
    state: "ready",
    entries: Array.from({ length: 64 }, (_, i) => ({ name: `firmware-release-${i}.bin`, date: "11/22/26", time: "10:55:15", size: 1500000 + i, disabled: i % 3 === 0 ? "Built for ESP32-S3, this is an ESP32" : undefined })),
  };
  rig.wifi.synchronousScan = true;
  rig.wifi.networks = Array.from({ length: 30 }, (_, i) => ({ ssid: `Network number ${i} with long name`, rssi: -40 - i, secure: true }));
  for (let i = 0; i < 5; i++) rememberCredential(rig.store, { ssid: `Stored network ${i} name`, password: "password123" });
  rig.get("/wifi");
  const figures: PageFigure[] = [];
  const measure = (page: string, run: () => string) => {
    const bytes = utf8Length(run());
    const start = Date.now();
    for (let i = 0; i < rounds; i++) run();
    figures.push({ page, bytes, msPerRequest: (Date.now() - start) / rounds });
  };
  measure("GET / (home)", () => rig.get("/").body);
  measure("GET /wifi (15 networks, 5 stored)", () => rig.get("/wifi?cached=1").body);
  measure("GET /update (20 of 64 rows)", () => rig.get("/update?cached=1").body);
  measure("GET /api/catalog (64 rows)", () => rig.get("/api/catalog").body);
  rig.updater.state = { phase: "downloading", target: "firmware-release-1.bin", received: 700000, total: 1500001, rate: 50000, resumes: 0 };
  measure("GET /progress", () => rig.get("/progress").body);
  measure("GET /api/progress", () => rig.get("/api/progress").body);
  measure("GET /generate_204 (captive)", () => rig.get("/generate_204").body);
  measure("POST /wifi/connect", () => rig.post("/wifi/connect", { ssid: "Stored network 1 name", password: "password123" }).body);
  return figures;
}

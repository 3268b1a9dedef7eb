// What the route plugins share: the contained catalog root, the digest cache,
// the advanced-updater rules and whether the download gate is open.
import type { FastifyRequest } from "fastify";
import type { BufferPool } from "./buffer-pool";
import type { CatalogRoot } from "./catalog-root";
import type { DigestCache } from "./digests";
import type { DeviceRequest } from "./device-headers";
import type { Rules, Target } from "./rules";

/**
 * The advanced updater's firmware choice after the rules: may return another
 * target (a rollout's image) or the rule's own. Absent: the rules decide alone.
 */
export type TargetChooser = (device: DeviceRequest, ruled: Target | undefined, request: FastifyRequest) => Promise<Target | undefined>;

export interface ServerContext {
  root: CatalogRoot;
  digests: DigestCache;
  rules?: Rules;
  open: boolean;
  /** Read buffers shared by all downloads. */
  pool: BufferPool;
  chooseTarget?: TargetChooser;
}

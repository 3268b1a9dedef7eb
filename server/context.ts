// What the route plugins share: the contained catalog root, the digest cache,
// the advanced-updater rules and whether the download gate is open.
import type { BufferPool } from "./buffer-pool";
import type { CatalogRoot } from "./catalog-root";
import type { DigestCache } from "./digests";
import type { Rules } from "./rules";

export interface ServerContext {
  root: CatalogRoot;
  digests: DigestCache;
  rules?: Rules;
  open: boolean;
  /** Read buffers shared by all downloads. */
  pool: BufferPool;
}

// What the route plugins share: the contained catalog root, the files and
// folders found in it (with their cached bytes, digests and listings), the
// advanced-updater rules, whether the download gate is open, and the optional
// X-Accel-Redirect store.
import type { AccelStore } from "./accel";
import type { BufferPool } from "./buffer-pool";
import type { CatalogRoot } from "./catalog-root";
import type { FolderCache } from "./folders";
import type { ImageStore } from "./image-store";
import type { FastifyRequest } from "fastify";
import type { DeviceRequest } from "./device-headers";
import type { Rules, Target } from "./rules";
import type { FileFinder } from "./served-file";
import type { SignatureFiles } from "./signature-files";

/**
 * The advanced updater's firmware choice after the rules: may return another
 * target (a rollout's image) or the rule's own. Absent: the rules decide alone.
 */
export type TargetChooser = (device: DeviceRequest, ruled: Target | undefined, request: FastifyRequest) => Promise<Target | undefined>;

export interface ServerContext {
  root: CatalogRoot;
  images: ImageStore;
  files: FileFinder;
  folders: FolderCache;
  rules?: Rules;
  open: boolean;
  /** Read buffers for files streamed from disk (too large for the image store). */
  pool: BufferPool;
  chooseTarget?: TargetChooser;
  /** Set in X-Accel-Redirect mode (nginx in front sends the bytes). */
  accel?: AccelStore;
  /** The .sig files beside images (x-Firmware-Signature, "signed"). */
  signatures: SignatureFiles;
}

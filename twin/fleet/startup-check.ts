// Whether a virtual board's app passes its start-up check after installing an
// image: the one place the fleet simulator decides it. board.ts adds it to the
// core's boot policy as an app check, so a board that fails is marked invalid,
// goes back to its old image, and reports `rolled-back` on its next check-ins.
import { createHash } from "node:crypto";

export interface BoardRef {
  index: number;
  mac: string;
}

export interface InstalledImage {
  version: string;
  md5: string;
}

export type StartupCheck = (board: BoardRef, image: InstalledImage) => boolean;

export const allPass: StartupCheck = () => true;

/**
 * About `share` of the boards fail with each image, the same boards every run
 * (a hash of MAC and version). `versions`, when given, limits failures to those images.
 */
export function failingShare(share: number, versions?: readonly string[]): StartupCheck {
  return (board, image) => {
    if (versions && !versions.includes(image.version)) return true;
    const h = createHash("sha256").update(`${board.mac}/${image.version}`).digest().readUInt32BE(0) / 2 ** 32;
    return h >= share;
  };
}

/** Exactly these boards fail (tests). */
export function failingBoards(macs: Iterable<string>, versions?: readonly string[]): StartupCheck {
  const failing = new Set(macs);
  return (board, image) => !(failing.has(board.mac) && (!versions || versions.includes(image.version)));
}

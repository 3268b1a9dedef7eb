// Single byte-range requests (RFC 9110 section 14). HTTPUpdate never sends
// Range; browsers and download tools resuming a transfer do.

export type RangeDecision =
  | { kind: "full" }
  | { kind: "partial"; start: number; end: number } // inclusive end
  | { kind: "unsatisfiable" };

/**
 * Decides what to send for `Range` / `If-Range` on a representation of
 * `size` bytes with strong `etag` and `lastModified` (HTTP date).
 * Multiple ranges and unknown units fall back to the full body (allowed by RFC).
 */
export function decideRange(
  size: number,
  range: string | undefined,
  ifRange: string | undefined,
  etag: string,
  lastModified: string,
): RangeDecision {
  if (range === undefined) return { kind: "full" };
  if (ifRange !== undefined && !ifRangeMatches(ifRange.trim(), etag, lastModified)) return { kind: "full" };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(range);
  if (!m || (m[1] === "" && m[2] === "")) return { kind: "full" };
  if (m[1] === "") {
    // suffix range: the last N bytes
    const n = Number(m[2]);
    if (n === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  if (!Number.isSafeInteger(start) || start >= size) return { kind: "unsatisfiable" };
  let end = m[2] === "" ? size - 1 : Number(m[2]);
  if (!Number.isSafeInteger(end) && m[2] !== "") end = size - 1;
  if (end < start) return { kind: "full" }; // syntactically invalid: ignore the header
  return { kind: "partial", start, end: Math.min(end, size - 1) };
}

function ifRangeMatches(value: string, etag: string, lastModified: string): boolean {
  if (value.startsWith('"') || value.startsWith("W/")) return value === etag; // strong comparison: W/ never matches
  return value === lastModified;
}

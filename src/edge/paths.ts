import type { MtlsMode, PathRule } from "../config/types.ts";

const STRICTNESS: Record<MtlsMode, number> = { off: 0, permissive: 1, enforce: 2 };

/** Picks the stricter of two modes. */
export function stricterMode(a: MtlsMode, b: MtlsMode): MtlsMode {
  return STRICTNESS[a] >= STRICTNESS[b] ? a : b;
}

/**
 * Compiles a host's per-path overrides into one function from a request target to its mode.
 * Matching is on the normalized path (percent-decoded, dot segments resolved, repeated slashes merged)
 * so `/%61dmin` or `/public/../admin` cannot dodge an `/admin` rule; a prefix matches whole segments
 * (`/admin` covers `/admin` and `/admin/x`, not `/administrator`); the longest prefix wins. A path with an
 * encoded slash or backslash may mean another path to the origin, so it gets the strictest mode in play.
 */
export function compilePathModes(
  hostMode: MtlsMode,
  rules: readonly PathRule[],
): (target: string) => MtlsMode {
  if (rules.length === 0) return () => hostMode;
  const sorted = [...rules].sort((a, b) => b.prefix.length - a.prefix.length);
  const strictest = rules.reduce((mode, rule) => stricterMode(mode, rule.mode), hostMode);
  return (target) => {
    const path = normalizePath(target);
    if (path === null) return strictest;
    for (const rule of sorted) {
      if (prefixMatches(rule.prefix, path)) return rule.mode;
    }
    return hostMode;
  };
}

/** Whether `prefix` covers the normalized `path` on segment boundaries. */
export function prefixMatches(prefix: string, path: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return prefix.endsWith("/") || path.length === prefix.length || path.charCodeAt(prefix.length) === 47; // "/"
}

/** The path part of a request target, normalized; null when it is ambiguous (encoded slash, backslash, bad escape). */
export function normalizePath(target: string): string | null {
  const end = target.search(/[?#]/);
  const raw = end === -1 ? target : target.slice(0, end);
  if (raw.includes("\\") || /%(2f|5c)/i.test(raw)) return null;
  let decoded: string;
  try {
    decoded = raw.includes("%") ? decodeURIComponent(raw) : raw;
  } catch {
    return null;
  }
  if (!decoded.startsWith("/")) decoded = `/${decoded}`;
  const out: string[] = [];
  for (const segment of decoded.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") out.pop();
    else out.push(segment);
  }
  const trailing = decoded.endsWith("/") && out.length > 0 ? "/" : "";
  return `/${out.join("/")}${trailing}`;
}

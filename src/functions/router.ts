/**
 * Route patterns (Cloudflare's `host/path` form) and the router the Snapshot holds: compiled once per
 * config, a map lookup plus a short ordered scan per request, no parsing on the hot path.
 */
import type { FunctionsConfig } from "./types.ts";

export interface ParsedPattern {
  /** Normalized pattern text (lower-case host, no scheme). */
  pattern: string;
  /** The host without its leading `*` (and dot, for `*.`). */
  host: string;
  /** `*.example.com` (subdomains only) or `*example.com` (the name and anything ending in it). */
  hostWildcard: "none" | "subdomains" | "suffix";
  /** The path without a trailing `*`. */
  path: string;
  pathWildcard: boolean;
}

/** A route pattern problem, with the offending pattern. */
export class RoutePatternError extends Error {
  constructor(pattern: string, problem: string) {
    super(`route pattern "${pattern}": ${problem}`);
    this.name = "RoutePatternError";
  }
}

const HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** Parses `host/path`: `*` only at the start of the host and at the end of the path; an optional scheme is dropped. */
export function parseRoutePattern(input: string): ParsedPattern {
  const text = input.trim().replace(/^https?:\/\//i, "");
  const slash = text.indexOf("/");
  if (slash === -1) throw new RoutePatternError(input, 'needs a path, e.g. "api.example.test/*"');
  const rawHost = text.slice(0, slash).toLowerCase();
  const rawPath = text.slice(slash);
  let hostWildcard: ParsedPattern["hostWildcard"] = "none";
  let host = rawHost;
  if (host.startsWith("*.")) {
    hostWildcard = "subdomains";
    host = host.slice(2);
  } else if (host.startsWith("*")) {
    hostWildcard = "suffix";
    host = host.slice(1);
  }
  if (!HOST.test(host)) throw new RoutePatternError(input, `"${rawHost}" is not a host name (no ports)`);
  if (/[?#\s]/.test(rawPath))
    throw new RoutePatternError(input, "the path cannot hold a query, fragment or space");
  const pathWildcard = rawPath.endsWith("*");
  const path = pathWildcard ? rawPath.slice(0, -1) : rawPath;
  if (path.includes("*")) throw new RoutePatternError(input, "`*` is allowed only at the end of the path");
  return { pattern: `${rawHost}${rawPath}`, host, hostWildcard, path, pathWildcard };
}

/** Whether a request host (lower case, no port) falls under the pattern's host; for zone checks too. */
export function hostMatches(pattern: ParsedPattern, host: string): boolean {
  switch (pattern.hostWildcard) {
    case "none":
      return host === pattern.host;
    case "subdomains":
      return host.length > pattern.host.length + 1 && host.endsWith(`.${pattern.host}`);
    default:
      return host.endsWith(pattern.host);
  }
}

function pathMatches(pattern: ParsedPattern, path: string): boolean {
  return pattern.pathWildcard ? path.startsWith(pattern.path) : path === pattern.path;
}

export interface FunctionTarget {
  /** FunctionScript.key. */
  readonly key: string;
  readonly name: string;
  /** `http://127.0.0.1:PORT` of its workerd; undefined when the runtime is not serving it. */
  readonly url: string | undefined;
  readonly timeoutMs: number;
}

export interface FunctionRouter {
  /** True when no route exists: the edge skips the stage at the cost of one property read. */
  readonly empty: boolean;
  match(host: string, path: string): FunctionTarget | undefined;
}

const NO_ROUTES: FunctionRouter = { empty: true, match: () => undefined };

interface Entry {
  pattern: ParsedPattern;
  target: FunctionTarget;
}

/** More specific first: exact host, longer host, longer path, exact path (as Cloudflare picks among matches). */
function bySpecificity(a: Entry, b: Entry): number {
  const pa = a.pattern;
  const pb = b.pattern;
  return (
    Number(pa.hostWildcard !== "none") - Number(pb.hostWildcard !== "none") ||
    pb.host.length - pa.host.length ||
    pb.path.length - pa.path.length ||
    Number(pa.pathWildcard) - Number(pb.pathWildcard)
  );
}

/** The Snapshot's router. Routes naming no script of the config are left out. */
export function compileFunctionRouter(config: FunctionsConfig | undefined): FunctionRouter {
  if (!config || config.routes.length === 0) return NO_ROUTES;
  const names = new Map(config.scripts.map((script) => [script.key, script.name]));
  const exact = new Map<string, Entry[]>();
  const wildcard: Entry[] = [];
  for (const route of config.routes) {
    const name = names.get(route.script);
    if (name === undefined) continue;
    let pattern: ParsedPattern;
    try {
      pattern = parseRoutePattern(route.pattern);
    } catch {
      continue; // The API stores only valid patterns; one that is not never refuses the whole config.
    }
    const target: FunctionTarget = {
      key: route.script,
      name,
      url: config.endpoints?.[route.script],
      timeoutMs: config.timeoutMs,
    };
    const entry = { pattern, target };
    if (pattern.hostWildcard === "none") {
      const list = exact.get(pattern.host) ?? [];
      list.push(entry);
      exact.set(pattern.host, list);
    } else wildcard.push(entry);
  }
  for (const list of exact.values()) list.sort(bySpecificity);
  wildcard.sort(bySpecificity);
  if (exact.size === 0 && wildcard.length === 0) return NO_ROUTES;
  return {
    empty: false,
    match(host, path) {
      const list = exact.get(host);
      if (list) {
        for (const entry of list) if (pathMatches(entry.pattern, path)) return entry.target;
      }
      for (const entry of wildcard) {
        if (hostMatches(entry.pattern, host) && pathMatches(entry.pattern, path)) return entry.target;
      }
      return undefined;
    },
  };
}

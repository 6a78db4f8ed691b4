/**
 * Zod schemas for the config's scalar values that need parsing, not just typing: durations, listen
 * addresses, host names, URLs, header names. Each turns the YAML value into what EdgeConfig holds.
 */
import { isIPv4, isIPv6 } from "node:net";
import { z } from "zod";
import { parseGoDuration } from "../pki/duration.ts";
import { PkiError } from "../pki/errors.ts";
import { describeValue } from "./errors.ts";
import type { Address } from "./types.ts";

/** Node's timers fire at once when asked to wait longer than 2^31 - 1 ms (about 596.5 hours). */
const MAX_TIMER_MS = 596 * 3_600_000;
const DURATION_HINT = 'a duration like "10s", "500ms" or "1m", or a number of seconds';

/**
 * A Go duration string or a number of seconds, as milliseconds. Zero only where it means "none"
 * (`allowZero`); `atLeast` sets a floor, e.g. so a refresh interval cannot hammer a server.
 */
export function duration(options: { allowZero?: boolean; atLeast?: { ms: number; text: string } } = {}) {
  return z.unknown().transform((value, ctx): number => {
    const fail = (message: string) => {
      ctx.addIssue({ code: "custom", message: `${message}, got ${describeValue(value)}` });
      return z.NEVER;
    };
    let ms: number;
    if (typeof value === "number" && Number.isFinite(value)) ms = Math.round(value * 1000);
    else if (typeof value !== "string") return fail(`expected ${DURATION_HINT}`);
    else {
      try {
        ms = parseGoDuration(value, "");
      } catch (err) {
        if (err instanceof PkiError) return fail(`expected ${DURATION_HINT}`);
        throw err;
      }
    }
    if (options.atLeast && ms < options.atLeast.ms) return fail(`must be at least ${options.atLeast.text}`);
    if (ms < 0) return fail("must not be negative");
    if (ms > MAX_TIMER_MS) return fail("must be at most 596h");
    if (ms === 0 && !options.allowZero) return fail("must be more than 0");
    return ms;
  });
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A DNS name: letters, digits and hyphens in dot-separated labels of at most 63 characters. */
export function isDnsName(name: string): boolean {
  return name.length <= 253 && name.split(".").every((label) => LABEL.test(label));
}

const ADDRESS_HINT = 'expected "host:port" such as "127.0.0.1:8443", "[::1]:8443" or ":8443"';

/** `127.0.0.1:8443`, `[::1]:8443`, `localhost:8443`, or `:8443` (every IPv4 interface). */
export const address = z.unknown().transform((value, ctx): Address => {
  const fail = (message: string) => {
    ctx.addIssue({ code: "custom", message });
    return z.NEVER;
  };
  if (value === undefined) {
    // Reported like any other missing key.
    ctx.addIssue({ code: "invalid_type", expected: "string", input: value });
    return z.NEVER;
  }
  if (typeof value !== "string") return fail(`${ADDRESS_HINT}, got ${describeValue(value)}`);
  const match = /^(?:\[([^\]]*)\]|([^[\]:]*)):([^:]*)$/.exec(value);
  if (!match) {
    if (!value.includes("[") && value.split(":").length > 2) {
      return fail(`put an IPv6 address in brackets, as in "[::1]:8443", got ${describeValue(value)}`);
    }
    return fail(`${ADDRESS_HINT}, got ${describeValue(value)}`);
  }
  const [, ipv6, name, portText = ""] = match;
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) return fail(`port must be 1 to 65535, got ${describeValue(value)}`);
  if (ipv6 !== undefined) {
    if (!isIPv6(ipv6)) return fail(`${describeValue(ipv6)} is not an IPv6 address`);
    return { host: ipv6, port };
  }
  const host = (name ?? "").toLowerCase();
  if (host === "") return { host: "0.0.0.0", port };
  if (!isIPv4(host) && !isDnsName(host))
    return fail(`${describeValue(name)} is not an IP address or host name`);
  return { host, port };
});

/** A host the edge serves: exact, or a wildcard whose whole first label is `*`; stored lower case. */
export const hostname = z.string().transform((value, ctx) => {
  const name = value.toLowerCase();
  const rest = name.startsWith("*.") ? name.slice(2) : name;
  if (rest.includes("*")) {
    ctx.addIssue({
      code: "custom",
      message: `a wildcard must be the whole first label, as in "*.example.test", got ${describeValue(value)}`,
    });
    return z.NEVER;
  }
  if (!isDnsName(rest)) {
    ctx.addIssue({ code: "custom", message: `${describeValue(value)} is not a valid host name` });
    return z.NEVER;
  }
  return name;
});

/** The name to send as SNI and expect in the origin's certificate: a host name or an IP address. */
export const serverName = z.string().transform((value, ctx) => {
  const name = value.toLowerCase();
  if (isDnsName(name) || isIPv4(name) || isIPv6(name)) return name;
  ctx.addIssue({ code: "custom", message: `${describeValue(value)} is not a valid host name` });
  return z.NEVER;
});

/**
 * The origin's base URL: http or https, no credentials, query or fragment. Normalized by the URL parser
 * (lower-case host, default port dropped), without a trailing `/` when the path is just `/`.
 */
export const originUrl = z.string().transform((value, ctx) => {
  const fail = (why: string) => {
    ctx.addIssue({ code: "custom", message: `${why}, got ${describeValue(value)}` });
    return z.NEVER;
  };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail('expected an http or https URL such as "https://127.0.0.1:9443"');
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return fail("the URL must be http or https");
  if (url.username || url.password) return fail("the URL must not carry a user name or password");
  if (/[?#]/.test(value)) return fail("the URL must not have a query or fragment");
  return url.pathname === "/" ? url.origin : `${url.origin}${url.pathname}`;
});

/** An HTTP header name (RFC 9110 token). */
export const headerName = z.string().refine((value) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value), {
  error: (issue) => `${describeValue(issue.input)} is not a valid HTTP header name`,
});

/** A URL path prefix for a path rule. */
export const pathPrefix = z.string().refine((value) => /^\/[^\s?#]*$/.test(value), {
  error: (issue) =>
    `a path prefix must start with "/" and have no spaces, "?" or "#", got ${describeValue(issue.input)}`,
});

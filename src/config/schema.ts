/**
 * The config file's YAML shape (snake_case keys), with defaults and every check that needs no file on
 * disk. Unknown keys are errors: a typo must not silently turn a protection off.
 * docs/config.md documents the same shape; keep them together.
 */

import { z } from "zod";
import { DEFAULT_CRL_REFRESH_MS, DEFAULT_LIMITS } from "./defaults.ts";
import {
  CONFIG_RULE_ID,
  firewallRuleIssues,
  MAX_DESCRIPTION,
  MAX_RESPONSE_CONTENT,
  RESPONSE_CONTENT_TYPES,
  RULE_ACTIONS,
} from "./firewall-rules.ts";
import type { EdgeConfig, ForwardFormat, MtlsMode, NginxVariable } from "./types.ts";
import { address, duration, headerName, hostname, originUrl, pathPrefix, serverName } from "./values.ts";

/** The members of a string union, listed once; `Record` makes the compiler check none is missing. */
function members<T extends string>(record: Record<T, true>): [T, ...T[]] {
  return Object.keys(record) as [T, ...T[]];
}

const MTLS_MODES = members<MtlsMode>({ enforce: true, permissive: true, off: true });
const FORWARD_FORMATS = members<ForwardFormat>({
  cloudflare: true,
  access: true,
  rfc9440: true,
  xfcc: true,
  traefik: true,
  nginx: true,
});
const NGINX_VARIABLES = members<NginxVariable>({
  ssl_client_verify: true,
  ssl_client_fingerprint: true,
  ssl_client_escaped_cert: true,
  ssl_client_cert: true,
  ssl_client_raw_cert: true,
  ssl_client_s_dn: true,
  ssl_client_i_dn: true,
  ssl_client_s_dn_legacy: true,
  ssl_client_i_dn_legacy: true,
  ssl_client_serial: true,
  ssl_client_v_start: true,
  ssl_client_v_end: true,
  ssl_client_v_remain: true,
  ssl_verification_status: true,
});
const LOG_LEVELS = members<EdgeConfig["log"]["level"]>({
  trace: true,
  debug: true,
  info: true,
  warn: true,
  error: true,
  fatal: true,
  silent: true,
});

/** A mapping with exactly these keys; an unknown one is reported with the closest known key. */
function strict<T extends z.core.$ZodLooseShape>(shape: T) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys" ? unknownKeyMessage(String(issue.keys[0]), known) : undefined,
  });
}

export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const guess = closest(key, known);
  return guess
    ? `unknown key ${JSON.stringify(key)} (did you mean "${guess}"?)`
    : `unknown key ${JSON.stringify(key)} (expected one of: ${known.join(", ")})`;
}

/** The known key within two edits of `key`, ignoring case and underscores (so `trustedCas` finds it). */
function closest(key: string, known: readonly string[]): string | undefined {
  const simple = (text: string) => text.toLowerCase().replaceAll("_", "");
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(simple(key), simple(name));
    if (distance <= 2 && distance < name.length && (!best || distance < best.distance))
      best = { name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, substitution));
    }
    previous = row;
  }
  return previous[b.length] as number;
}

const filePath = z.string().min(1);
const mtlsMode = z.enum(MTLS_MODES);
const keyPair = strict({ cert: filePath, key: filePath });

const pathRule = strict({ prefix: pathPrefix, mode: mtlsMode });

const mtls = strict({
  mode: mtlsMode.default("off"),
  trusted_cas: z.array(filePath).default([]),
  crls: z.array(z.string().min(1)).default([]),
  stale_crl: z.enum(["deny", "allow"]).default("deny"),
  max_chain_depth: z.number().int().min(0).max(16).default(4),
  paths: z.array(pathRule).default([]),
  ocsp: strict({ enabled: z.boolean().default(false), timeout: duration().default(2000) }).prefault({}),
}).superRefine((value, ctx) => {
  value.paths.forEach((rule, index) => {
    const earlier = value.paths.findIndex((other) => other.prefix === rule.prefix);
    if (earlier < index) {
      ctx.addIssue({
        code: "custom",
        path: ["paths", index, "prefix"],
        message: `${JSON.stringify(rule.prefix)} is already listed at paths[${earlier}]`,
      });
    }
  });
  if (value.trusted_cas.length > 0) return;
  // Verifying clients needs something to verify them against.
  const index = value.paths.findIndex((rule) => rule.mode !== "off");
  const why =
    value.mode !== "off"
      ? `mode ${value.mode}`
      : index >= 0
        ? `paths[${index}] (mode ${value.paths[index]?.mode})`
        : undefined;
  if (why) {
    ctx.addIssue({
      code: "custom",
      path: ["trusted_cas"],
      message: `${why} needs at least one trusted CA file`,
    });
  }
});

const origin = strict({
  url: originUrl,
  ca: filePath.optional(),
  client_cert: keyPair.optional(),
  servername: serverName.optional(),
  connect_timeout: duration().default(5000),
  response_timeout: duration().default(60_000),
  body_timeout: duration().default(60_000),
});

const forward = z.union(
  [
    z.enum(FORWARD_FORMATS).transform((format) => ({ format })),
    strict({ header: headerName, variable: z.enum(NGINX_VARIABLES) }),
  ],
  {
    error: `expected a format name (${FORWARD_FORMATS.join(", ")}) or a {header, variable} mapping`,
  },
);

/** A custom firewall rule (docs/config.md `firewall`); its expression is compiled here, so errors have a line. */
const firewallRule = strict({
  id: z.string().regex(CONFIG_RULE_ID, "expected letters, digits and _ . : - (at most 64)").optional(),
  expression: z.string().min(1),
  action: z.enum(RULE_ACTIONS),
  description: z.string().max(MAX_DESCRIPTION).default(""),
  enabled: z.boolean().default(true),
  action_parameters: strict({
    response: strict({
      status_code: z.number().int().min(400).max(499),
      content: z.string().max(MAX_RESPONSE_CONTENT).default(""),
      content_type: z.enum(RESPONSE_CONTENT_TYPES).default("text/plain"),
    }).optional(),
    ruleset: z.literal("current").optional(),
  }).optional(),
}).superRefine((rule, ctx) => {
  for (const issue of firewallRuleIssues(rule)) ctx.addIssue({ code: "custom", ...issue });
});

const firewall = z.array(firewallRule).superRefine((rules, ctx) => {
  rules.forEach((rule, index) => {
    const earlier = rules.findIndex((other) => other.id !== undefined && other.id === rule.id);
    if (earlier < index && earlier >= 0) {
      ctx.addIssue({ code: "custom", path: [index, "id"], message: `already used by firewall[${earlier}]` });
    }
  });
});

const host = strict({
  hostname,
  default: z.boolean().default(false),
  tls: z.union([keyPair, z.array(keyPair).min(1)], {
    error: "expected a {cert, key} mapping or a list of them",
  }),
  mtls: mtls.prefault({}),
  origin,
  forward: z.array(forward).default([]),
  firewall: firewall.default([]),
});

const hostnames = z
  .array(host)
  .min(1)
  .superRefine((hosts, ctx) => {
    let firstDefault: number | undefined;
    hosts.forEach((entry, index) => {
      const earlier = hosts.findIndex((other) => other.hostname === entry.hostname);
      if (earlier < index) {
        ctx.addIssue({
          code: "custom",
          path: [index, "hostname"],
          message: `${JSON.stringify(entry.hostname)} is already listed at hostnames[${earlier}]`,
        });
      }
      if (!entry.default) return;
      if (firstDefault === undefined) firstDefault = index;
      else {
        ctx.addIssue({
          code: "custom",
          path: [index, "default"],
          message: `only one host may be the default, and hostnames[${firstDefault}] already is`,
        });
      }
    });
  });

const limits = strict({
  client_hello_max_bytes: z.number().int().min(512).max(131_072).default(DEFAULT_LIMITS.clientHelloMaxBytes),
  client_hello_timeout: duration().default(DEFAULT_LIMITS.clientHelloTimeoutMs),
  handshake_timeout: duration().default(DEFAULT_LIMITS.handshakeTimeoutMs),
  headers_timeout: duration().default(DEFAULT_LIMITS.headersTimeoutMs),
  request_timeout: duration({ allowZero: true }).default(DEFAULT_LIMITS.requestTimeoutMs),
  keep_alive_timeout: duration().default(DEFAULT_LIMITS.keepAliveTimeoutMs),
});

export const configSchema = strict({
  listen: strict({ https: address, http: address.optional() }),
  admin: address.optional(),
  data_dir: filePath.optional(),
  log: strict({ level: z.enum(LOG_LEVELS).default("info") }).prefault({}),
  crl_refresh_interval: duration({ atLeast: { ms: 1000, text: "1s" } }).default(DEFAULT_CRL_REFRESH_MS),
  limits: limits.prefault({}),
  hostnames,
}).superRefine((config, ctx) => {
  // Two listeners on one port would fail at bind time with a less helpful message.
  const listeners = [
    { path: ["listen", "https"], at: config.listen.https },
    { path: ["listen", "http"], at: config.listen.http },
    { path: ["admin"], at: config.admin },
  ];
  listeners.forEach((listener, index) => {
    const clash = listeners
      .slice(0, index)
      .find((other) => other.at && listener.at && overlaps(other.at, listener.at));
    if (clash && listener.at) {
      ctx.addIssue({
        code: "custom",
        path: listener.path,
        message: `port ${listener.at.port} is already used by ${clash.path.join(".")}`,
      });
    }
  });
});

const ANY_HOST = new Set(["0.0.0.0", "::"]);

function overlaps(a: { host: string; port: number }, b: { host: string; port: number }): boolean {
  return a.port === b.port && (a.host === b.host || ANY_HOST.has(a.host) || ANY_HOST.has(b.host));
}

/** The validated file, defaults applied, before any referenced file is read. */
export type ConfigFile = z.output<typeof configSchema>;
export type HostEntry = ConfigFile["hostnames"][number];
export type KeyPairEntry = z.output<typeof keyPair>;

/**
 * The native hostname resource's body: its JSON Schema (structure, enums, ranges) and the checks the
 * schema cannot express, reusing the edge config's value rules (host names and wildcards, origin URLs,
 * path prefixes, header names) so a host means the same thing in a file and through the API.
 */
import type { z } from "zod";
import type { ForwardFormat, ForwardSpec, MtlsMode, NginxVariable } from "../config/types.ts";
import {
  headerName,
  hostname as hostnameValue,
  originUrl,
  pathPrefix,
  serverName,
} from "../config/values.ts";
import type { Hostname, Id, MtlsCertificate, StoreReader, Zone } from "../store/types.ts";
import { conflict, invalid } from "./errors.ts";
import { body, nullableId } from "./schemas.ts";

const MTLS_MODES: MtlsMode[] = Object.keys({ enforce: 1, permissive: 1, off: 1 } satisfies Record<
  MtlsMode,
  1
>) as MtlsMode[];
const FORWARD_FORMATS = Object.keys({
  cloudflare: 1,
  access: 1,
  rfc9440: 1,
  xfcc: 1,
  traefik: 1,
  nginx: 1,
} satisfies Record<ForwardFormat, 1>) as ForwardFormat[];
const NGINX_VARIABLES = Object.keys({
  ssl_client_verify: 1,
  ssl_client_fingerprint: 1,
  ssl_client_escaped_cert: 1,
  ssl_client_cert: 1,
  ssl_client_raw_cert: 1,
  ssl_client_s_dn: 1,
  ssl_client_i_dn: 1,
  ssl_client_s_dn_legacy: 1,
  ssl_client_i_dn_legacy: 1,
  ssl_client_serial: 1,
  ssl_client_v_start: 1,
  ssl_client_v_end: 1,
  ssl_client_v_remain: 1,
  ssl_verification_status: 1,
} satisfies Record<NginxVariable, 1>) as NginxVariable[];

/** Node's timers fire at once past 2^31 - 1 ms; the config caps durations at 596h too. */
const MAX_MS = 596 * 3_600_000;
const ms = (fallback: number) => ({ type: "integer", minimum: 1, maximum: MAX_MS, default: fallback });

export const hostnameBodySchema = body(
  {
    hostname: { type: "string", minLength: 1, maxLength: 255, description: "exact, or *.zone wildcard" },
    default: { type: "boolean", default: false },
    server_certificate_id: { ...nullableId, description: "an mtls_certificate with a private key" },
    mtls: {
      type: "object",
      additionalProperties: false,
      properties: {
        mode: { type: "string", enum: MTLS_MODES, default: "off" },
        paths: {
          type: "array",
          maxItems: 100,
          default: [],
          items: {
            type: "object",
            additionalProperties: false,
            required: ["prefix", "mode"],
            properties: {
              prefix: { type: "string", minLength: 1, maxLength: 1024 },
              mode: { type: "string", enum: MTLS_MODES },
            },
          },
        },
        stale_crl: { type: "string", enum: ["deny", "allow"], default: "deny" },
        max_chain_depth: { type: "integer", minimum: 0, maximum: 16, default: 4 },
        crls: {
          type: "array",
          maxItems: 32,
          default: [],
          items: { type: "string", minLength: 1, maxLength: 2048 },
        },
        ocsp: {
          type: "object",
          additionalProperties: false,
          properties: { enabled: { type: "boolean", default: false }, timeout_ms: ms(2000) },
        },
      },
    },
    origin: {
      type: "object",
      additionalProperties: false,
      required: ["url"],
      properties: {
        url: { type: "string", minLength: 1, maxLength: 2048 },
        ca_certificate_id: { ...nullableId, description: "an mtls_certificate with ca: true" },
        servername: { type: "string", nullable: true, minLength: 1, maxLength: 253 },
        connect_timeout_ms: ms(5000),
        response_timeout_ms: ms(60_000),
        body_timeout_ms: ms(60_000),
      },
    },
    forward: {
      type: "array",
      maxItems: 16,
      default: [],
      items: {
        description: `a format name (${FORWARD_FORMATS.join(", ")}) or a {header, variable} object`,
        anyOf: [
          { type: "string", enum: FORWARD_FORMATS },
          {
            type: "object",
            additionalProperties: false,
            required: ["header", "variable"],
            properties: {
              header: { type: "string", minLength: 1, maxLength: 256 },
              variable: { type: "string", enum: NGINX_VARIABLES },
            },
          },
        ],
      },
    },
  },
  ["hostname", "origin"],
);

export interface HostnameBody {
  hostname: string;
  default?: boolean;
  server_certificate_id?: Id | null;
  mtls?: {
    mode?: MtlsMode;
    paths?: { prefix: string; mode: MtlsMode }[];
    stale_crl?: "deny" | "allow";
    max_chain_depth?: number;
    crls?: string[];
    ocsp?: { enabled?: boolean; timeout_ms?: number };
  };
  origin: {
    url: string;
    ca_certificate_id?: Id | null;
    servername?: string | null;
    connect_timeout_ms?: number;
    response_timeout_ms?: number;
    body_timeout_ms?: number;
  };
  forward?: (ForwardFormat | { header: string; variable: NginxVariable })[];
}

function value<T>(schema: z.ZodType<T>, input: unknown, field: string): T {
  const result = schema.safeParse(input);
  if (!result.success) throw invalid(field, result.error.issues[0]?.message ?? "is invalid");
  return result.data;
}

export function inZone(name: string, zone: Zone): boolean {
  const bare = name.startsWith("*.") ? name.slice(2) : name;
  return bare === zone.name || bare.endsWith(`.${zone.name}`);
}

/** A host name of the zone (`body.hostnames[2]` style field for messages), lower-cased. */
export function zoneHostname(input: string, zone: Zone, field: string): string {
  const name = value(hostnameValue, input, field);
  if (!inZone(name, zone)) throw invalid(field, `${JSON.stringify(name)} is not in zone ${zone.name}`);
  return name;
}

function crlSource(input: string, field: string): string {
  if (input.startsWith("/")) return input;
  try {
    const url = new URL(input);
    if (url.protocol === "http:" || url.protocol === "https:") return input;
  } catch {}
  throw invalid(field, `expected an http(s) URL or an absolute file path, got ${JSON.stringify(input)}`);
}

/** The record a valid body describes (ids, zone and times from the caller), or a 400 naming the field. */
export function hostnameFromBody(
  input: HostnameBody,
  zone: Zone,
  meta: { id: Id; createdAt: string; updatedAt: string },
): Hostname {
  const mtls = input.mtls ?? {};
  const origin = input.origin;
  const paths = (mtls.paths ?? []).map((rule, index) => {
    const prefix = value(pathPrefix, rule.prefix, `body.mtls.paths[${index}].prefix`);
    return { prefix, mode: rule.mode };
  });
  paths.forEach((rule, index) => {
    const earlier = paths.findIndex((other) => other.prefix === rule.prefix);
    if (earlier < index) {
      throw invalid(
        `body.mtls.paths[${index}].prefix`,
        `${JSON.stringify(rule.prefix)} is already at paths[${earlier}]`,
      );
    }
  });
  const forward: ForwardSpec[] = (input.forward ?? []).map((spec, index) =>
    typeof spec === "string"
      ? { format: spec }
      : { header: value(headerName, spec.header, `body.forward[${index}].header`), variable: spec.variable },
  );
  return {
    id: meta.id,
    zoneId: zone.id,
    hostname: zoneHostname(input.hostname, zone, "body.hostname"),
    isDefault: input.default ?? false,
    serverCertificateId: input.server_certificate_id ?? null,
    mtls: {
      mode: mtls.mode ?? "off",
      paths,
      staleCrl: mtls.stale_crl ?? "deny",
      maxChainDepth: mtls.max_chain_depth ?? 4,
      crls: (mtls.crls ?? []).map((crl, index) => crlSource(crl, `body.mtls.crls[${index}]`)),
      ocsp: { enabled: mtls.ocsp?.enabled ?? false, timeoutMs: mtls.ocsp?.timeout_ms ?? 2000 },
    },
    origin: {
      url: value(originUrl, origin.url, "body.origin.url"),
      caCertificateId: origin.ca_certificate_id ?? null,
      servername:
        origin.servername == null ? null : value(serverName, origin.servername, "body.origin.servername"),
      connectTimeoutMs: origin.connect_timeout_ms ?? 5000,
      responseTimeoutMs: origin.response_timeout_ms ?? 60_000,
      bodyTimeoutMs: origin.body_timeout_ms ?? 60_000,
    },
    forward,
    createdAt: meta.createdAt,
    updatedAt: meta.updatedAt,
  };
}

async function certificateOf(
  reader: StoreReader,
  id: Id,
  zone: Zone,
  field: string,
): Promise<MtlsCertificate> {
  const certificate = await reader.getMtlsCertificate(id);
  if (!certificate || certificate.accountId !== zone.accountId) {
    throw invalid(field, `no mtls_certificate ${id} in the zone's account`);
  }
  return certificate;
}

/** The checks that need the store: unique name, one default, certificates of the right kind. */
export async function checkHostnameReferences(
  reader: StoreReader,
  record: Hostname,
  zone: Zone,
): Promise<void> {
  const same = await reader.getHostnameByName(record.hostname);
  if (same && same.id !== record.id)
    throw conflict(`hostname ${record.hostname} already exists (id ${same.id})`);
  if (record.isDefault) {
    const other = (await reader.listHostnames()).find((host) => host.isDefault && host.id !== record.id);
    if (other) throw conflict(`only one hostname may be the default, and ${other.hostname} already is`);
  }
  if (record.serverCertificateId) {
    const field = "body.server_certificate_id";
    const certificate = await certificateOf(reader, record.serverCertificateId, zone, field);
    if (certificate.ca || !certificate.hasPrivateKey) {
      throw invalid(
        field,
        `mtls_certificate ${certificate.id} must be a leaf (ca: false) uploaded with its private key`,
      );
    }
  }
  if (record.origin.caCertificateId) {
    const field = "body.origin.ca_certificate_id";
    const certificate = await certificateOf(reader, record.origin.caCertificateId, zone, field);
    if (!certificate.ca) throw invalid(field, `mtls_certificate ${certificate.id} is not a CA (ca: false)`);
  }
}

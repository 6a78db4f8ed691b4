/**
 * The fields of the rules language: name, type, description (exported as RULE_FIELDS for docs, the CLI
 * and the dashboard) and how each is read from a RuleRequest.
 */
import type { RuleRequest } from "./request.ts";

/** Types as Cloudflare names them. */
export type RuleValueType =
  | "String"
  | "Boolean"
  | "Integer"
  | "IP address"
  | "Array<String>"
  | "Map<Array<String>>";

export interface RuleFieldInfo {
  readonly name: string;
  readonly type: RuleValueType;
  readonly description: string;
}

export interface FieldDefinition extends RuleFieldInfo {
  /** Reads the value: string, boolean, string (ip.src text), readonly string[] or the header record. */
  readonly read: (r: RuleRequest) => unknown;
}

const EMPTY: readonly string[] = Object.freeze([]);

/** A header's values as an array (Node joins most repeated headers into one value; set-cookie stays a list). */
export function headerValues(h: string | string[] | undefined): readonly string[] {
  return h === undefined ? EMPTY : typeof h === "string" ? [h] : h;
}

/** A header as one string: "" when absent, repeated values joined with ", " (RFC 9110 field combining). */
export function headerText(h: string | string[] | undefined): string {
  return h === undefined ? "" : typeof h === "string" ? h : h.join(", ");
}

function headerField(name: string, header: string, description: string): FieldDefinition {
  return { name, type: "String", description, read: (r) => headerText(r.headers[header]) };
}

function tls(key: string, type: "String" | "Boolean", description: string): FieldDefinition {
  const name = `cf.tls_client_auth.${key}`;
  if (type === "Boolean") return { name, type, description, read: (r) => r.tlsClientAuth()[key] === true };
  return {
    name,
    type,
    description,
    read: (r) => {
      const v = r.tlsClientAuth()[key];
      return typeof v === "string" ? v : "";
    },
  };
}

function field(
  name: string,
  type: RuleValueType,
  description: string,
  read: (r: RuleRequest) => unknown,
): FieldDefinition {
  return { name, type, description, read };
}

const NO_MTLS = ' ("" without a client certificate)';

const DEFINITIONS: FieldDefinition[] = [
  field("http.host", "String", "Host name of the request, lower case, without port.", (r) => r.host ?? ""),
  field(
    "http.request.uri",
    "String",
    "Path and query string as sent, e.g. /admin/users?id=1.",
    (r) => r.uri ?? "",
  ),
  field("http.request.uri.path", "String", "Path, e.g. /admin/users.", (r) => r.path ?? ""),
  field(
    "http.request.uri.query",
    "String",
    'Query string without the "?", e.g. id=1 ("" when absent).',
    (r) => r.query ?? "",
  ),
  field("http.request.method", "String", "Method, upper case as sent, e.g. GET.", (r) => r.method ?? ""),
  field(
    "http.request.headers",
    "Map<Array<String>>",
    'Request headers by lower-case name: http.request.headers["x-api-key"]. Each value is an array of the header\'s values.',
    (r) => r.headers,
  ),
  field("http.request.headers.names", "Array<String>", "Names of the request headers, lower case.", (r) =>
    Object.keys(r.headers).filter((k) => r.headers[k] !== undefined),
  ),
  field(
    "http.request.headers.values",
    "Array<String>",
    "Values of the request headers (a header with several values gives several).",
    (r) => Object.values(r.headers).flatMap((v) => headerValues(v)),
  ),
  headerField("http.user_agent", "user-agent", 'User-Agent header ("" when absent).'),
  headerField("http.referer", "referer", 'Referer header ("" when absent).'),
  headerField("http.cookie", "cookie", 'Cookie header ("" when absent).'),
  headerField(
    "http.x_forwarded_for",
    "x-forwarded-for",
    'X-Forwarded-For header as received ("" when absent).',
  ),
  field(
    "ip.src",
    "IP address",
    "Address of the client connection (IPv4-mapped IPv6 addresses are IPv4).",
    (r) => r.ip ?? "",
  ),
  { name: "ssl", type: "Boolean", description: "The connection is TLS.", read: (r) => r.ssl === true },
  tls("cert_presented", "Boolean", "The client sent a certificate."),
  tls(
    "cert_verified",
    "Boolean",
    "The client certificate chains to a CA trusted for this host (true also when revoked, as Cloudflare).",
  ),
  tls("cert_revoked", "Boolean", "The client certificate's serial is revoked (CRL or managed revocation)."),
  tls("cert_issuer_dn", "String", `Issuer DN, RFC 2253: CN=Root,O=Example,C=US${NO_MTLS}.`),
  tls("cert_subject_dn", "String", `Subject DN, RFC 2253: CN=client,O=Example,C=US${NO_MTLS}.`),
  tls("cert_issuer_dn_rfc2253", "String", `Issuer DN, RFC 2253 (same as cert_issuer_dn)${NO_MTLS}.`),
  tls("cert_subject_dn_rfc2253", "String", `Subject DN, RFC 2253 (same as cert_subject_dn)${NO_MTLS}.`),
  tls(
    "cert_issuer_dn_legacy",
    "String",
    `Issuer DN, OpenSSL one-line form: /C=US/O=Example/CN=Root${NO_MTLS}.`,
  ),
  tls(
    "cert_subject_dn_legacy",
    "String",
    `Subject DN, OpenSSL one-line form: /C=US/O=Example/CN=client${NO_MTLS}.`,
  ),
  tls("cert_serial", "String", `Serial number, upper-case hex without colons${NO_MTLS}.`),
  tls("cert_issuer_serial", "String", `Serial number of the issuing certificate, upper-case hex${NO_MTLS}.`),
  tls("cert_fingerprint_sha256", "String", `SHA-256 of the certificate's DER, lower-case hex${NO_MTLS}.`),
  tls("cert_fingerprint_sha1", "String", `SHA-1 of the certificate's DER, lower-case hex${NO_MTLS}.`),
  tls("cert_not_before", "String", `Start of validity: Mar 21 13:35:00 2022 GMT${NO_MTLS}.`),
  tls("cert_not_after", "String", `End of validity: Mar 21 13:35:00 2023 GMT${NO_MTLS}.`),
  tls("cert_ski", "String", `Subject Key Identifier, 40 upper-case hex digits${NO_MTLS}.`),
  tls("cert_issuer_ski", "String", `Issuer's Subject Key Identifier, 40 upper-case hex digits${NO_MTLS}.`),
  tls("cert_rfc9440", "String", `The certificate as RFC 9440 :base64(DER): ("" when over 10 KiB or absent).`),
  tls("cert_rfc9440_too_large", "Boolean", "cert_rfc9440 was left empty because it is over 10 KiB."),
  tls(
    "cert_chain_rfc9440",
    "String",
    `The chain the client sent after the leaf, RFC 9440, comma-separated ("" when over 16 KiB or absent).`,
  ),
  tls(
    "cert_chain_rfc9440_too_large",
    "Boolean",
    "cert_chain_rfc9440 was left empty because it is over 16 KiB.",
  ),
  field(
    "mtls.verification_status",
    "String",
    "SUCCESS (verified and not revoked), CERTIFICATE_VERIFICATION_ERROR (failed or revoked) or MISSING_CLIENT_CERTIFICATE, as Azion names it.",
    (r) => r.verificationStatus ?? "",
  ),
];

export const FIELDS: ReadonlyMap<string, FieldDefinition> = new Map(DEFINITIONS.map((f) => [f.name, f]));

/** Machine-readable field list (name, type, description) for docs, the CLI and the dashboard. */
export const RULE_FIELDS: readonly RuleFieldInfo[] = Object.freeze(
  DEFINITIONS.map(({ name, type, description }) => Object.freeze({ name, type, description })),
);

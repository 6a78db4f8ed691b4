/**
 * The identity headers a host sends to its origin (formats.md, "Headers to the origin"), compiled once
 * per host from its `forward` list. Header names are emitted in lower case, like Node's incoming
 * headers, so one name can never appear twice in a different case.
 *
 * When there is no usable certificate, each format sends what its reference sends:
 * - cloudflare: cf-cert-presented, cf-cert-verified and cf-cert-revoked ("false"), nothing else;
 * - nginx: X-SSL-Client-Verify "NONE" only (nginx drops headers whose value is empty), and a custom
 *   `ssl_client_verify` / `ssl_verification_status` header still carries NONE / MISSING_CLIENT_CERTIFICATE;
 * - access, rfc9440, xfcc, traefik: nothing.
 * Those last four carry no verification status, so an origin would take their presence as "this
 * client authenticated": they are sent only for a certificate that verified and is not revoked (a
 * permissive host lets other certificates through). cloudflare and nginx headers say the status
 * themselves and are sent for every presented certificate, as Cloudflare and nginx do.
 * Every header that would be empty is left out, like nginx's proxy_set_header.
 *
 * Values never contain CR, LF or other control bytes: DNs, serials, hashes, times and base64 are
 * printable ASCII by construction; PEM is percent-encoded; SAN text and the verify reason get any byte
 * outside 0x20..0x7E percent-encoded.
 */
import type { ForwardSpec, NginxVariable } from "../config/types.ts";
import { type CertificateFields, type ClientAuth, pemOf, verificationStatus } from "./identity.ts";

export interface Forwarder {
  /** Lower-case names of every header this host may emit (and every built-in identity header); the proxy deletes every client-sent copy of these. */
  readonly strip: ReadonlySet<string>;
  /** Adds this host's identity headers for one request. */
  add(auth: ClientAuth, headers: Record<string, string>): void;
}

type Headers = Record<string, string>;
type Emit = (auth: ClientAuth, headers: Headers) => void;
type Field = (c: CertificateFields) => string;

/** Caches a value derived from one certificate for as long as the (cached) certificate lives. */
function perCert<T>(build: (c: CertificateFields) => T): (c: CertificateFields) => T {
  const cache = new WeakMap<CertificateFields, T>();
  return (c) => {
    let value = cache.get(c);
    if (value === undefined) {
      value = build(c);
      cache.set(c, value);
    }
    return value;
  };
}

/** A certificate the origin may treat as authenticated: verified and not revoked. */
function trustedCert(auth: ClientAuth): CertificateFields | null {
  return auth.verified && !auth.revoked ? auth.cert : null;
}

// ---------------------------------------------------------------------------------------------------
// Escaping

const PRINTABLE = /^[\x20-\x7e]*$/;

/** Percent-encodes every character outside printable ASCII (and so CR and LF). */
function headerText(s: string): string {
  if (PRINTABLE.test(s)) return s;
  return s.toWellFormed().replace(/[^\x20-\x7e]/gu, (ch) => {
    const code = ch.codePointAt(0) as number;
    return code <= 0xff ? `%${code.toString(16).toUpperCase().padStart(2, "0")}` : encodeURIComponent(ch);
  });
}

/** Everything but ALPHA, DIGIT, `-._~` as %XX of UTF-8: nginx's NGX_ESCAPE_URI_COMPONENT. */
function uriComponent(s: string): string {
  return encodeURIComponent(s.toWellFormed()).replace(
    /[!'()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Go's url.QueryEscape (Traefik): uriComponent with space as "+". */
function queryEscape(s: string): string {
  return uriComponent(s).replaceAll("%20", "+");
}

// ---------------------------------------------------------------------------------------------------
// Formats

const CLOUDFLARE_STRINGS: readonly (readonly [string, Field])[] = [
  ["cf-cert-issuer-dn", (c) => c.issuerDn],
  ["cf-cert-subject-dn", (c) => c.subjectDn],
  ["cf-cert-issuer-dn-rfc2253", (c) => c.issuerDn],
  ["cf-cert-subject-dn-rfc2253", (c) => c.subjectDn],
  ["cf-cert-issuer-dn-legacy", (c) => c.issuerDnLegacy],
  ["cf-cert-subject-dn-legacy", (c) => c.subjectDnLegacy],
  ["cf-cert-serial", (c) => c.serial],
  ["cf-cert-issuer-serial", (c) => c.issuerSerial],
  ["cf-cert-sha256", (c) => c.fingerprintSha256],
  ["cf-cert-sha1", (c) => c.fingerprintSha1],
  ["cf-cert-not-before", (c) => c.notBefore],
  ["cf-cert-not-after", (c) => c.notAfter],
  ["cf-cert-ski", (c) => c.ski],
  ["cf-cert-issuer-ski", (c) => c.issuerSki],
];

const cloudflareValues = perCert((c) =>
  CLOUDFLARE_STRINGS.map(([name, field]) => [name, field(c)] as const).filter(([, v]) => v !== ""),
);

/** Cloudflare's "Add TLS client auth headers" managed transform; booleans as "true"/"false". */
const cloudflare: Emit = (auth, headers) => {
  headers["cf-cert-presented"] = String(auth.presented);
  headers["cf-cert-verified"] = String(auth.verified);
  headers["cf-cert-revoked"] = String(auth.revoked);
  if (auth.cert) for (const [name, value] of cloudflareValues(auth.cert)) headers[name] = value;
};

const derBase64 = perCert((c) => c.der.toString("base64"));

/** Cloudflare Access client-certificate forwarding. */
const access: Emit = (auth, headers) => {
  const c = trustedCert(auth);
  if (!c) return;
  headers["cf-client-cert-der-base64"] = derBase64(c);
  headers["cf-client-cert-sha256"] = c.fingerprintSha256;
};

/** RFC 9440; a field over Cloudflare's cap (10 KiB / 16 KiB) is left out, as Cloudflare does. */
const rfc9440: Emit = (auth, headers) => {
  const c = trustedCert(auth);
  if (!c) return;
  if (c.rfc9440) headers["client-cert"] = c.rfc9440;
  if (c.chainRfc9440) headers["client-cert-chain"] = c.chainRfc9440;
};

/**
 * An XFCC value: quoted when it holds `,`, `;` or `=` (Envoy's documented syntax), and also `"` or `\`,
 * which are backslash-escaped inside the quotes so no value can end the quoted string early.
 */
function xfccText(value: string, alwaysQuote = false): string {
  const s = headerText(value);
  if (!alwaysQuote && !/[,;="\\]/.test(s)) return s;
  return `"${s.replace(/["\\]/g, "\\$&")}"`;
}

/**
 * Envoy's element for the current client, in Envoy's key order: Hash, Cert, Chain (leaf first, then the
 * client's chain), Subject (legacy form per formats.md; always quoted), URI (kept, empty, when there is
 * none, as Envoy does), one DNS per name. No `By`: that is the edge's own URI SAN.
 */
const xfccValue = perCert((c) => {
  const chainPem = c.pem + c.chainDer.map(pemOf).join("");
  const parts = [
    `Hash=${c.fingerprintSha256}`,
    `Cert="${uriComponent(c.pem)}"`,
    `Chain="${uriComponent(chainPem)}"`,
    `Subject=${xfccText(c.subjectDnLegacy, true)}`,
  ];
  if (c.sans.uri.length === 0) parts.push("URI=");
  for (const uri of c.sans.uri) parts.push(`URI=${xfccText(uri)}`);
  for (const dns of c.sans.dns) parts.push(`DNS=${xfccText(dns)}`);
  return parts.join(";");
});

const xfcc: Emit = (auth, headers) => {
  const c = trustedCert(auth);
  if (c) headers["x-forwarded-client-cert"] = xfccValue(c);
};

const OID = {
  C: "2.5.4.6",
  ST: "2.5.4.8",
  L: "2.5.4.7",
  O: "2.5.4.10",
  OU: "2.5.4.11",
  CN: "2.5.4.3",
  serialNumber: "2.5.4.5",
  DC: "0.9.2342.19200300.100.1.25",
};

/**
 * Traefik's DN summary (pass_tls_client_cert.go): every DC, C, ST, L, O (and OU for the subject) in
 * certificate order, then the last serialNumber as SN and the last CN, comma-separated.
 */
function traefikDn(attrs: CertificateFields["subjectAttributes"], withOu: boolean): string {
  const parts: string[] = [];
  const all = (oid: string, label: string) => {
    for (const a of attrs) if (a.oid === oid && a.value) parts.push(`${label}=${a.value}`);
  };
  const last = (oid: string, label: string) => {
    const a = attrs.findLast((x) => x.oid === oid);
    if (a?.value) parts.push(`${label}=${a.value}`);
  };
  all(OID.DC, "DC");
  all(OID.C, "C");
  all(OID.ST, "ST");
  all(OID.L, "L");
  all(OID.O, "O");
  if (withOu) all(OID.OU, "OU");
  last(OID.serialNumber, "SN");
  last(OID.CN, "CN");
  return parts.join(",");
}

/** Traefik's X-Forwarded-Tls-Client-Cert-Info with every formats.md field, query-escaped as a whole. */
const traefikInfo = perCert((c) => {
  const values: string[] = [];
  const subject = traefikDn(c.subjectAttributes, true);
  if (subject) values.push(`Subject="${subject}"`);
  const issuer = traefikDn(c.issuerAttributes, false);
  if (issuer) values.push(`Issuer="${issuer}"`);
  if (!Number.isNaN(c.notBeforeMs)) values.push(`NB="${Math.floor(c.notBeforeMs / 1000)}"`);
  if (!Number.isNaN(c.notAfterMs)) values.push(`NA="${Math.floor(c.notAfterMs / 1000)}"`);
  const sans = [...c.sans.dns, ...c.sans.email, ...c.sans.ip, ...c.sans.uri];
  if (sans.length > 0) values.push(`SAN="${sans.join(",")}"`);
  return queryEscape(values.join(";"));
});

/**
 * Traefik's passTLSClientCert with pem and every info field. Traefik lists every certificate the client
 * sent, comma-separated; this sends the leaf only (the first entry of Traefik's list), so consumers
 * that do not split on commas still work.
 */
const traefik: Emit = (auth, headers) => {
  const c = trustedCert(auth);
  if (!c) return;
  headers["x-forwarded-tls-client-cert"] = derBase64(c);
  headers["x-forwarded-tls-client-cert-info"] = traefikInfo(c);
};

// ---------------------------------------------------------------------------------------------------
// nginx variables

const escapedPem = perCert((c) => uriComponent(c.pem));
/**
 * nginx's `$ssl_client_cert` folds the PEM over lines (a tab after each newline) and `$ssl_client_raw_cert`
 * is multi-line; neither can be a header value here. A receiver that unfolds nginx's header replaces each
 * fold with a space, so both become the PEM lines joined by single spaces.
 */
const spacedPem = perCert((c) => c.pem.trimEnd().replaceAll("\n", " "));

function withCert(field: Field): (auth: ClientAuth) => string {
  return (auth) => (auth.cert ? field(auth.cert) : "");
}

const VARIABLES: Record<NginxVariable, (auth: ClientAuth) => string> = {
  ssl_client_verify: (auth) => (auth.presented ? headerText(auth.verify) : "NONE"),
  ssl_client_fingerprint: withCert((c) => c.fingerprintSha1),
  ssl_client_escaped_cert: withCert(escapedPem),
  ssl_client_cert: withCert(spacedPem),
  ssl_client_raw_cert: withCert(spacedPem),
  ssl_client_s_dn: withCert((c) => c.subjectDn),
  ssl_client_i_dn: withCert((c) => c.issuerDn),
  ssl_client_s_dn_legacy: withCert((c) => c.subjectDnLegacy),
  ssl_client_i_dn_legacy: withCert((c) => c.issuerDnLegacy),
  ssl_client_serial: withCert((c) => c.serial),
  ssl_client_v_start: withCert((c) => c.notBefore),
  ssl_client_v_end: withCert((c) => c.notAfter),
  ssl_client_v_remain: (auth) => (auth.cert ? remainingDays(auth.cert.notAfterMs) : ""),
  ssl_verification_status: verificationStatus,
};

/** nginx's `$ssl_client_v_remain`: whole days until notAfter, "0" within the last day or after it. */
function remainingDays(notAfterMs: number): string {
  if (Number.isNaN(notAfterMs)) return "";
  const seconds = Math.floor(notAfterMs / 1000) - Math.floor(Date.now() / 1000);
  return String(seconds < 86_400 ? 0 : Math.floor(seconds / 86_400));
}

/** The headers of the `nginx` format: the names nginx guides use for these variables. */
const NGINX_HEADERS: readonly (readonly [string, NginxVariable])[] = [
  ["x-ssl-client-verify", "ssl_client_verify"],
  ["x-ssl-client-fingerprint", "ssl_client_fingerprint"],
  ["x-ssl-client-escaped-cert", "ssl_client_escaped_cert"],
  ["x-ssl-client-s-dn", "ssl_client_s_dn"],
  ["x-ssl-client-i-dn", "ssl_client_i_dn"],
  ["x-ssl-client-serial", "ssl_client_serial"],
  ["x-ssl-client-v-start", "ssl_client_v_start"],
  ["x-ssl-client-v-end", "ssl_client_v_end"],
  ["x-ssl-client-v-remain", "ssl_client_v_remain"],
];

function variableHeader(name: string, variable: NginxVariable): Emit {
  const get = VARIABLES[variable];
  return (auth, headers) => {
    const value = get(auth);
    if (value !== "") headers[name] = value;
  };
}

interface Compiled {
  names: readonly string[];
  emit: Emit;
}

function emitAll(emits: readonly Emit[]): Emit {
  return (auth, headers) => {
    for (const emit of emits) emit(auth, headers);
  };
}

const FORMATS: Record<Extract<ForwardSpec, { format: string }>["format"], Compiled> = {
  cloudflare: {
    names: [
      "cf-cert-presented",
      "cf-cert-verified",
      "cf-cert-revoked",
      ...CLOUDFLARE_STRINGS.map(([n]) => n),
    ],
    emit: cloudflare,
  },
  access: { names: ["cf-client-cert-der-base64", "cf-client-cert-sha256"], emit: access },
  rfc9440: { names: ["client-cert", "client-cert-chain"], emit: rfc9440 },
  xfcc: { names: ["x-forwarded-client-cert"], emit: xfcc },
  traefik: { names: ["x-forwarded-tls-client-cert", "x-forwarded-tls-client-cert-info"], emit: traefik },
  nginx: {
    names: NGINX_HEADERS.map(([n]) => n),
    emit: emitAll(NGINX_HEADERS.map(([name, variable]) => variableHeader(name, variable))),
  },
};

/** Every identity header name of every built-in format (lower case): stripped on every host, whatever its forward list. */
export const ALL_IDENTITY_HEADERS: ReadonlySet<string> = new Set(
  Object.values(FORMATS).flatMap((f) => f.names),
);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Names that frame or route the request: an identity value there would corrupt the request itself. */
const RESERVED = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "proxy-connection",
  "upgrade",
  "te",
  "trailer",
  "expect",
]);

/** Compiles a host's forward list; throws an Error naming the bad entry (a config mistake). */
export function compileForwarder(specs: readonly ForwardSpec[]): Forwarder {
  const emits: Emit[] = [];
  const strip = new Set(ALL_IDENTITY_HEADERS);
  const owner = new Map<string, number>();
  specs.forEach((spec, i) => {
    let compiled: Compiled;
    if ("format" in spec) {
      const format = FORMATS[spec.format];
      if (!format) throw new Error(`forward[${i}]: unknown format ${JSON.stringify(spec.format)}`);
      compiled = format;
    } else {
      const name = spec.header.toLowerCase();
      if (!TOKEN.test(name))
        throw new Error(`forward[${i}].header: ${JSON.stringify(spec.header)} is not a header name`);
      if (RESERVED.has(name))
        throw new Error(`forward[${i}].header: ${spec.header} cannot carry an identity`);
      if (!Object.hasOwn(VARIABLES, spec.variable)) {
        throw new Error(`forward[${i}].variable: unknown variable ${JSON.stringify(spec.variable)}`);
      }
      compiled = { names: [name], emit: variableHeader(name, spec.variable) };
    }
    for (const name of compiled.names) {
      const first = owner.get(name);
      if (first !== undefined)
        throw new Error(`forward[${i}]: header ${name} is already set by forward[${first}]`);
      owner.set(name, i);
      strip.add(name);
    }
    emits.push(compiled.emit);
  });
  return { strip, add: emitAll(emits) };
}

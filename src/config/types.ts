/**
 * The edge's configuration after loading: validated, paths resolved, every referenced file read and
 * checked. Plain data (structured-cloneable), so the supervisor can build it once and hand it to every
 * edge worker. The YAML shape is documented in docs/config.md; src/config/load.ts produces this.
 */
import type { HostAccess } from "../access/runtime.ts";
import type { FunctionsConfig } from "../functions/types.ts";

export type MtlsMode = "enforce" | "permissive" | "off";

/** A forwarding format of formats.md, or one nginx-style variable sent under a header name the user picks. */
export type ForwardFormat = "cloudflare" | "access" | "rfc9440" | "xfcc" | "traefik" | "nginx";
export type ForwardSpec = { format: ForwardFormat } | { header: string; variable: NginxVariable };
export type NginxVariable =
  | "ssl_client_verify"
  | "ssl_client_fingerprint"
  | "ssl_client_escaped_cert"
  | "ssl_client_cert"
  | "ssl_client_raw_cert"
  | "ssl_client_s_dn"
  | "ssl_client_i_dn"
  | "ssl_client_s_dn_legacy"
  | "ssl_client_i_dn_legacy"
  | "ssl_client_serial"
  | "ssl_client_v_start"
  | "ssl_client_v_end"
  | "ssl_client_v_remain"
  | "ssl_verification_status";

export interface Address {
  host: string;
  port: number;
}

/** A certificate chain (leaf first, then its intermediates) and its private key, as PEM text. */
export interface KeyPairPem {
  certPem: string;
  keyPem: string;
  /** Where they came from, for messages. */
  certFile: string;
  keyFile: string;
}

/** Where a CRL comes from: a file (PEM or DER) or an http(s) URL. */
export type CrlSource = ({ kind: "file"; path: string } | { kind: "url"; url: string }) & {
  /** Its place in the config file, e.g. `hostnames[0].mtls.crls[1]`, for error messages. */
  field: string;
};

export interface PathRule {
  prefix: string;
  mode: MtlsMode;
}

export interface MtlsConfig {
  mode: MtlsMode;
  /** One PEM certificate per entry (bundles are split), roots and intermediates, in file order. */
  trustedCasPem: string[];
  crls: CrlSource[];
  /** What a CRL past its nextUpdate (or one never fetched) means for certificates of its CA. */
  staleCrl: "deny" | "allow";
  /** Most intermediates allowed between the leaf and a trusted root (nginx ssl_verify_depth - 1). */
  maxChainDepth: number;
  /** Longest prefix wins; the host mode applies where none matches. */
  paths: PathRule[];
  ocsp: { enabled: boolean; timeoutMs: number };
  /**
   * Revocations the control plane knows without a CRL (its managed CA's revoked client certificates):
   * serials (uppercase hex) per issuing CA certificate's SHA-256 fingerprint. Empty from a config file.
   */
  revoked?: { issuerFingerprint256: string; serials: string[] }[];
}

export interface OriginConfig {
  url: string;
  /** PEM bundle that verifies the origin's certificate; the system roots when absent. */
  caPem?: string;
  /** Authenticated origin pull: the certificate presented to the origin. */
  clientCert?: KeyPairPem;
  /** SNI and certificate name to expect from the origin; the URL's host by default. */
  servername?: string;
  connectTimeoutMs: number;
  /** Time to wait for the origin's response headers. */
  responseTimeoutMs: number;
  /** Longest idle gap in a body, either way. */
  bodyTimeoutMs: number;
}

export interface HostConfig {
  /** Lower case; exact (`api.example.test`) or wildcard (`*.example.test`, one label). */
  hostname: string;
  isDefault: boolean;
  /** One or more server certificates (e.g. RSA and ECDSA); each with its chain. */
  tls: KeyPairPem[];
  mtls: MtlsConfig;
  origin: OriginConfig;
  forward: ForwardSpec[];
  /** Custom firewall rules, in order (config `firewall:`, or the zone's ruleset in the store). */
  firewall?: FirewallRule[];
  /** Access applications on this host (from the store only; docs/access.md, src/access/). */
  access?: HostAccess;
}

/** One custom firewall rule, its expression already checked (docs/rules.md, src/edge/firewall.ts). */
export interface FirewallRule {
  id: string;
  expression: string;
  action: "block" | "log" | "skip" | "drop";
  description: string;
  enabled: boolean;
  /** block: answer this instead of the edge's 403 page. */
  response?: { status: number; content: string; contentType: string };
}

export interface Limits {
  clientHelloMaxBytes: number;
  clientHelloTimeoutMs: number;
  handshakeTimeoutMs: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

export interface EdgeConfig {
  /** The config file this came from (absolute). */
  file: string;
  listen: { https: Address; http?: Address };
  admin?: Address;
  /** Absolute; CRL cache and last good state live here. */
  dataDir: string;
  log: { level: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent" };
  crlRefreshIntervalMs: number;
  limits: Limits;
  hosts: HostConfig[];
  /** Edge functions and their routes (from the store only; docs/functions.md, src/functions/). */
  functions?: FunctionsConfig;
}

/** The API's JSON shapes the dashboard reads (snake_case, as the server sends them). */

export interface Account {
  id: string;
  name: string;
  created_on: string;
}

export interface Zone {
  id: string;
  name: string;
  account: { id: string; name: string };
  created_on: string;
}

export type MtlsMode = "enforce" | "permissive" | "off";
export const MTLS_MODES: readonly MtlsMode[] = ["enforce", "permissive", "off"];
export const FORWARD_FORMATS = ["cloudflare", "access", "rfc9440", "xfcc", "traefik", "nginx"] as const;
export type ForwardFormat = (typeof FORWARD_FORMATS)[number];
export const NGINX_VARIABLES = [
  "ssl_client_verify",
  "ssl_client_fingerprint",
  "ssl_client_escaped_cert",
  "ssl_client_cert",
  "ssl_client_raw_cert",
  "ssl_client_s_dn",
  "ssl_client_i_dn",
  "ssl_client_s_dn_legacy",
  "ssl_client_i_dn_legacy",
  "ssl_client_serial",
  "ssl_client_v_start",
  "ssl_client_v_end",
  "ssl_client_v_remain",
  "ssl_verification_status",
] as const;
export type ForwardSpec = ForwardFormat | { header: string; variable: string };

export interface Hostname {
  id: string;
  zone_id: string;
  hostname: string;
  default: boolean;
  server_certificate_id: string | null;
  mtls: {
    mode: MtlsMode;
    paths: { prefix: string; mode: MtlsMode }[];
    stale_crl: "deny" | "allow";
    max_chain_depth: number;
    crls: string[];
    ocsp: { enabled: boolean; timeout_ms: number };
  };
  origin: {
    url: string;
    ca_certificate_id: string | null;
    servername: string | null;
    connect_timeout_ms: number;
    response_timeout_ms: number;
    body_timeout_ms: number;
  };
  forward: ForwardSpec[];
  created_on: string;
  modified_on: string;
}

export interface MtlsCertificate {
  id: string;
  name: string | null;
  ca: boolean;
  certificates: string;
  issuer: string;
  serial_number: string;
  signature: string;
  expires_on: string;
  uploaded_on: string;
  updated_at: string;
}

export type ClientCertificateStatus = "active" | "pending_revocation" | "revoked" | "pending_reactivation";

export interface ClientCertificate {
  id: string;
  certificate: string;
  certificate_authority: { id: string; name: string };
  common_name: string;
  organization: string;
  organizational_unit: string;
  expires_on: string;
  issued_on: string;
  fingerprint_sha256: string;
  serial_number: string;
  status: ClientCertificateStatus;
  validity_days: number;
}

export interface TokenScope {
  kind: "admin" | "account" | "zone";
  account_id?: string;
  zone_id?: string;
  access?: "read" | "edit";
}

export interface ApiToken {
  id: string;
  name: string;
  status: string;
  scopes: TokenScope[];
  created_on: string;
  last_used_on: string | null;
}

export type { MinuteCounts, MtlsAnalytics } from "../../src/events/counters.ts";
/** The edge's event and analytics shapes and actions, exactly as the server defines them. */
export type { EdgeEvent } from "../../src/events/types.ts";

export { EDGE_EVENT_ACTIONS as EVENT_ACTIONS } from "../../src/events/types.ts";

/**
 * The tables as kysely sees them. One schema for both dialects: text ids and timestamps, JSON as text,
 * booleans as integer 0/1, so rows read back the same from SQLite and PostgreSQL (see rows.ts).
 */

import type { FunctionRoutesTable, FunctionsTable } from "./functions.ts";
import type { RulesetRulesTable, RulesetsTable } from "./rulesets.ts";

/** `bigint` columns come back as strings from pg and numbers from SQLite; rows.ts normalises them. */
type BigIntColumn = number | string;

export interface StateTable {
  id: number;
  version: BigIntColumn;
}

export interface AccountsTable {
  id: string;
  name: string;
  created_at: string;
}

export interface ZonesTable {
  id: string;
  account_id: string;
  name: string;
  created_at: string;
}

export interface MtlsCertificatesTable {
  id: string;
  account_id: string;
  name: string | null;
  ca: number;
  certificates: string;
  has_private_key: number;
  issuer: string;
  serial_number: string;
  signature: string;
  expires_on: string;
  uploaded_on: string;
  updated_at: string;
}

export interface HostnamesTable {
  id: string;
  zone_id: string;
  hostname: string;
  is_default: number;
  server_certificate_id: string | null;
  /** Hostname["mtls"] as JSON. */
  mtls: string;
  /** Hostname["origin"] as JSON, without caCertificateId (a column, for its foreign key). */
  origin: string;
  origin_ca_certificate_id: string | null;
  /** ForwardSpec[] as JSON. */
  forward: string;
  created_at: string;
  updated_at: string;
}

export interface HostnameAssociationsTable {
  zone_id: string;
  mtls_certificate_id: string | null;
  hostname: string;
}

export interface ManagedCasTable {
  id: string;
  zone_id: string;
  name: string;
  certificate_pem: string;
  created_at: string;
}

export interface ClientCertificatesTable {
  id: string;
  zone_id: string;
  ca_id: string;
  certificate_pem: string;
  csr: string;
  common_name: string;
  country: string;
  location: string;
  organization: string;
  organizational_unit: string;
  serial_number: string;
  fingerprint_sha256: string;
  ski: string;
  signature: string;
  status: string;
  validity_days: number;
  issued_on: string;
  expires_on: string;
  revoked_on: string | null;
}

export interface OriginPullCertificatesTable {
  id: string;
  zone_id: string;
  hostname: string | null;
  certificate_pem: string;
  enabled: number;
  created_at: string;
}

export interface OriginPullSettingsTable {
  zone_id: string;
  enabled: number;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  /** TokenScope[] as JSON. */
  scopes: string;
  status: string;
  secret_hash: string;
  created_at: string;
  last_used_at: string | null;
}

export interface AuditTable {
  id: string;
  at: string;
  /** The store version the entry was written in, and its order inside that transaction: newest first. */
  version: BigIntColumn;
  seq: number;
  token_id: string | null;
  action: string;
  resource: string;
  before: string | null;
  after: string | null;
}

export interface SecretsTable {
  owner_kind: string;
  owner_id: string;
  /** base64 of the 12-byte GCM IV, the ciphertext and the 16-byte tag. */
  iv: string;
  ciphertext: string;
  tag: string;
}

export interface Database {
  state: StateTable;
  accounts: AccountsTable;
  zones: ZonesTable;
  mtls_certificates: MtlsCertificatesTable;
  hostnames: HostnamesTable;
  hostname_associations: HostnameAssociationsTable;
  managed_cas: ManagedCasTable;
  client_certificates: ClientCertificatesTable;
  origin_pull_certificates: OriginPullCertificatesTable;
  origin_pull_settings: OriginPullSettingsTable;
  api_tokens: ApiTokensTable;
  audit: AuditTable;
  secrets: SecretsTable;
  rulesets: RulesetsTable;
  ruleset_rules: RulesetRulesTable;
  functions: FunctionsTable;
  function_routes: FunctionRoutesTable;
}

import type { Selectable } from "kysely";
import type {
  AccountsTable,
  ApiTokensTable,
  AuditTable,
  ClientCertificatesTable,
  HostnameAssociationsTable,
  HostnamesTable,
  ManagedCasTable,
  MtlsCertificatesTable,
  OriginPullCertificatesTable,
  ZonesTable,
} from "./schema.ts";
import type {
  Account,
  ApiToken,
  AuditEntry,
  ClientCertificate,
  ClientCertificateStatus,
  Hostname,
  HostnameAssociation,
  ManagedCa,
  MtlsCertificate,
  OriginPullCertificate,
  Zone,
} from "./types.ts";

/** Row ⇄ record mappers: the only place that knows column names, 0/1 booleans and JSON-as-text. */

const bool = (value: number): boolean => value !== 0;
const int = (value: boolean): number => (value ? 1 : 0);
/** pg returns bigint columns as strings. */
export const num = (value: number | string): number => Number(value);

export const accountRow = (a: Account): AccountsTable => ({
  id: a.id,
  name: a.name,
  created_at: a.createdAt,
});
export const accountRecord = (r: Selectable<AccountsTable>): Account => ({
  id: r.id,
  name: r.name,
  createdAt: r.created_at,
});

export const zoneRow = (z: Zone): ZonesTable => ({
  id: z.id,
  account_id: z.accountId,
  name: z.name,
  created_at: z.createdAt,
});
export const zoneRecord = (r: Selectable<ZonesTable>): Zone => ({
  id: r.id,
  accountId: r.account_id,
  name: r.name,
  createdAt: r.created_at,
});

export const mtlsCertificateRow = (c: MtlsCertificate): MtlsCertificatesTable => ({
  id: c.id,
  account_id: c.accountId,
  name: c.name,
  ca: int(c.ca),
  certificates: c.certificates,
  has_private_key: int(c.hasPrivateKey),
  issuer: c.issuer,
  serial_number: c.serialNumber,
  signature: c.signature,
  expires_on: c.expiresOn,
  uploaded_on: c.uploadedOn,
  updated_at: c.updatedAt,
});
export const mtlsCertificateRecord = (r: Selectable<MtlsCertificatesTable>): MtlsCertificate => ({
  id: r.id,
  accountId: r.account_id,
  name: r.name,
  ca: bool(r.ca),
  certificates: r.certificates,
  hasPrivateKey: bool(r.has_private_key),
  issuer: r.issuer,
  serialNumber: r.serial_number,
  signature: r.signature,
  expiresOn: r.expires_on,
  uploadedOn: r.uploaded_on,
  updatedAt: r.updated_at,
});

export const hostnameRow = (h: Hostname): HostnamesTable => {
  const { caCertificateId, ...origin } = h.origin;
  return {
    id: h.id,
    zone_id: h.zoneId,
    hostname: h.hostname,
    is_default: int(h.isDefault),
    server_certificate_id: h.serverCertificateId,
    mtls: JSON.stringify(h.mtls),
    origin: JSON.stringify(origin),
    origin_ca_certificate_id: caCertificateId,
    forward: JSON.stringify(h.forward),
    created_at: h.createdAt,
    updated_at: h.updatedAt,
  };
};
export const hostnameRecord = (r: Selectable<HostnamesTable>): Hostname => {
  const origin = JSON.parse(r.origin) as Omit<Hostname["origin"], "caCertificateId">;
  return {
    id: r.id,
    zoneId: r.zone_id,
    hostname: r.hostname,
    isDefault: bool(r.is_default),
    serverCertificateId: r.server_certificate_id,
    mtls: JSON.parse(r.mtls) as Hostname["mtls"],
    origin: {
      url: origin.url,
      caCertificateId: r.origin_ca_certificate_id,
      servername: origin.servername,
      connectTimeoutMs: origin.connectTimeoutMs,
      responseTimeoutMs: origin.responseTimeoutMs,
      bodyTimeoutMs: origin.bodyTimeoutMs,
    },
    forward: JSON.parse(r.forward) as Hostname["forward"],
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
};

export const associationRecord = (r: Selectable<HostnameAssociationsTable>): HostnameAssociation => ({
  zoneId: r.zone_id,
  mtlsCertificateId: r.mtls_certificate_id,
  hostname: r.hostname,
});

export const managedCaRow = (c: ManagedCa): ManagedCasTable => ({
  id: c.id,
  zone_id: c.zoneId,
  name: c.name,
  certificate_pem: c.certificatePem,
  created_at: c.createdAt,
});
export const managedCaRecord = (r: Selectable<ManagedCasTable>): ManagedCa => ({
  id: r.id,
  zoneId: r.zone_id,
  name: r.name,
  certificatePem: r.certificate_pem,
  createdAt: r.created_at,
});

export const clientCertificateRow = (c: ClientCertificate): ClientCertificatesTable => ({
  id: c.id,
  zone_id: c.zoneId,
  ca_id: c.caId,
  certificate_pem: c.certificatePem,
  csr: c.csr,
  common_name: c.commonName,
  country: c.country,
  location: c.location,
  organization: c.organization,
  organizational_unit: c.organizationalUnit,
  serial_number: c.serialNumber,
  fingerprint_sha256: c.fingerprintSha256,
  ski: c.ski,
  signature: c.signature,
  status: c.status,
  validity_days: c.validityDays,
  issued_on: c.issuedOn,
  expires_on: c.expiresOn,
  revoked_on: c.revokedOn,
});
export const clientCertificateRecord = (r: Selectable<ClientCertificatesTable>): ClientCertificate => ({
  id: r.id,
  zoneId: r.zone_id,
  caId: r.ca_id,
  certificatePem: r.certificate_pem,
  csr: r.csr,
  commonName: r.common_name,
  country: r.country,
  location: r.location,
  organization: r.organization,
  organizationalUnit: r.organizational_unit,
  serialNumber: r.serial_number,
  fingerprintSha256: r.fingerprint_sha256,
  ski: r.ski,
  signature: r.signature,
  status: r.status as ClientCertificateStatus,
  validityDays: r.validity_days,
  issuedOn: r.issued_on,
  expiresOn: r.expires_on,
  revokedOn: r.revoked_on,
});

export const originPullRow = (c: OriginPullCertificate): OriginPullCertificatesTable => ({
  id: c.id,
  zone_id: c.zoneId,
  hostname: c.hostname,
  certificate_pem: c.certificatePem,
  enabled: int(c.enabled),
  created_at: c.createdAt,
});
export const originPullRecord = (r: Selectable<OriginPullCertificatesTable>): OriginPullCertificate => ({
  id: r.id,
  zoneId: r.zone_id,
  hostname: r.hostname,
  certificatePem: r.certificate_pem,
  enabled: bool(r.enabled),
  createdAt: r.created_at,
});

export const apiTokenRow = (t: ApiToken, secretHash: string): ApiTokensTable => ({
  id: t.id,
  name: t.name,
  scopes: JSON.stringify(t.scopes),
  status: t.status,
  secret_hash: secretHash,
  created_at: t.createdAt,
  last_used_at: t.lastUsedAt,
});
export const apiTokenRecord = (r: Selectable<ApiTokensTable>): ApiToken => ({
  id: r.id,
  name: r.name,
  scopes: JSON.parse(r.scopes) as ApiToken["scopes"],
  status: r.status as ApiToken["status"],
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
});

/** `undefined` and `null` are both stored as SQL NULL and read back as null. */
export const json = (value: unknown): string | null => (value == null ? null : JSON.stringify(value));
export const auditRecord = (r: Selectable<AuditTable>): AuditEntry => ({
  id: r.id,
  at: r.at,
  tokenId: r.token_id,
  action: r.action,
  resource: r.resource,
  before: r.before === null ? null : JSON.parse(r.before),
  after: r.after === null ? null : JSON.parse(r.after),
});

export const boolColumn = int;
export const boolValue = bool;

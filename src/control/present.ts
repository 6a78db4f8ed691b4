/** Store records as the API's snake_case JSON. Nothing secret ever passes through here. */
import type {
  Account,
  ApiToken,
  AuditEntry,
  ClientCertificate,
  Hostname,
  ManagedCa,
  MtlsCertificate,
  OriginPullCertificate,
  TokenScope,
  Zone,
} from "../store/types.ts";

export function accountJson(account: Account) {
  return { id: account.id, name: account.name, created_on: account.createdAt };
}

export function zoneJson(zone: Zone, account: Account | undefined) {
  return {
    id: zone.id,
    name: zone.name,
    status: "active",
    account: { id: zone.accountId, name: account?.name ?? "" },
    created_on: zone.createdAt,
  };
}

/** Exactly Cloudflare's fields; never `private_key`. */
export function mtlsCertificateJson(certificate: MtlsCertificate) {
  return {
    id: certificate.id,
    name: certificate.name,
    ca: certificate.ca,
    certificates: certificate.certificates,
    issuer: certificate.issuer,
    serial_number: certificate.serialNumber,
    signature: certificate.signature,
    expires_on: certificate.expiresOn,
    uploaded_on: certificate.uploadedOn,
    updated_at: certificate.updatedAt,
  };
}

export function scopeJson(scope: TokenScope) {
  switch (scope.kind) {
    case "admin":
      return { kind: "admin" };
    case "account":
      return { kind: "account", account_id: scope.accountId, access: scope.access };
    case "zone":
      return { kind: "zone", zone_id: scope.zoneId, access: scope.access };
  }
}

export function tokenJson(token: ApiToken) {
  return {
    id: token.id,
    name: token.name,
    status: token.status,
    scopes: token.scopes.map(scopeJson),
    created_on: token.createdAt,
    last_used_on: token.lastUsedAt,
  };
}

export function hostnameJson(hostname: Hostname) {
  const { mtls, origin } = hostname;
  return {
    id: hostname.id,
    zone_id: hostname.zoneId,
    hostname: hostname.hostname,
    default: hostname.isDefault,
    server_certificate_id: hostname.serverCertificateId,
    mtls: {
      mode: mtls.mode,
      paths: mtls.paths.map((rule) => ({ prefix: rule.prefix, mode: rule.mode })),
      stale_crl: mtls.staleCrl,
      max_chain_depth: mtls.maxChainDepth,
      crls: mtls.crls,
      ocsp: { enabled: mtls.ocsp.enabled, timeout_ms: mtls.ocsp.timeoutMs },
    },
    origin: {
      url: origin.url,
      ca_certificate_id: origin.caCertificateId,
      servername: origin.servername,
      connect_timeout_ms: origin.connectTimeoutMs,
      response_timeout_ms: origin.responseTimeoutMs,
      body_timeout_ms: origin.bodyTimeoutMs,
    },
    forward: hostname.forward.map((spec) => ("format" in spec ? spec.format : spec)),
    created_on: hostname.createdAt,
    modified_on: hostname.updatedAt,
  };
}

export function auditJson(entry: AuditEntry) {
  return {
    id: entry.id,
    when: entry.at,
    token_id: entry.tokenId,
    action: entry.action,
    resource: entry.resource,
    before: entry.before,
    after: entry.after,
  };
}

/** Cloudflare's managed client certificate fields. */
export function clientCertificateJson(certificate: ClientCertificate, ca: ManagedCa | undefined) {
  return {
    id: certificate.id,
    certificate: certificate.certificatePem,
    certificate_authority: { id: certificate.caId, name: ca?.name ?? "" },
    common_name: certificate.commonName,
    country: certificate.country,
    csr: certificate.csr,
    expires_on: certificate.expiresOn,
    fingerprint_sha256: certificate.fingerprintSha256,
    issued_on: certificate.issuedOn,
    location: certificate.location,
    organization: certificate.organization,
    organizational_unit: certificate.organizationalUnit,
    serial_number: certificate.serialNumber,
    signature: certificate.signature,
    ski: certificate.ski,
    state: "",
    status: certificate.status,
    validity_days: certificate.validityDays,
  };
}

/** What the API shows of an origin pull certificate beyond the record: derived from its PEM. */
export interface OriginPullFacts {
  issuer: string;
  serialNumber: string;
  signature: string;
  expiresOn: string;
}

/** Cloudflare's zone-level authenticated origin pull certificate; never `private_key`. */
export function originPullCertificateJson(certificate: OriginPullCertificate, facts: OriginPullFacts) {
  return {
    id: certificate.id,
    certificate: certificate.certificatePem,
    expires_on: facts.expiresOn,
    issuer: facts.issuer,
    signature: facts.signature,
    status: "active",
    uploaded_on: certificate.createdAt,
  };
}

/** Cloudflare's per-hostname authenticated origin pull certificate; never `private_key`. */
export function originPullHostnameCertificateJson(
  certificate: OriginPullCertificate,
  facts: OriginPullFacts,
) {
  return {
    id: certificate.id,
    certificate: certificate.certificatePem,
    expires_on: facts.expiresOn,
    issuer: facts.issuer,
    serial_number: facts.serialNumber,
    signature: facts.signature,
    status: "active",
    uploaded_on: certificate.createdAt,
  };
}

/** Cloudflare's hostname association (`enabled: null` = voided); the record has one time, its upload. */
export function originPullAssociationJson(
  certificate: OriginPullCertificate,
  facts: OriginPullFacts,
  hostname: string,
  enabled: boolean | null,
) {
  return {
    hostname,
    cert_id: certificate.id,
    cert_status: "active",
    cert_uploaded_on: certificate.createdAt,
    cert_updated_at: certificate.createdAt,
    certificate: certificate.certificatePem,
    created_at: certificate.createdAt,
    updated_at: certificate.createdAt,
    enabled,
    expires_on: facts.expiresOn,
    issuer: facts.issuer,
    serial_number: facts.serialNumber,
    signature: facts.signature,
    status: "active",
  };
}

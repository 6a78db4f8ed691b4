import { randomBytes } from "node:crypto";
import type {
  Account,
  ApiToken,
  ClientCertificate,
  Hostname,
  ManagedCa,
  MtlsCertificate,
  OriginPullCertificate,
  Zone,
} from "../../src/store/types.ts";

/** Records with every field set to something distinctive, so a dropped or swapped column shows. */

export const newId = (): string => randomBytes(16).toString("hex");

export const PRIVATE_KEY_PEM =
  "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+8v0m0q2sd1example0private0key0material==\n-----END PRIVATE KEY-----\n";

export function account(overrides: Partial<Account> = {}): Account {
  return { id: newId(), name: "Example account", createdAt: "2026-01-02T03:04:05Z", ...overrides };
}

export function zone(accountId: string, overrides: Partial<Zone> = {}): Zone {
  return {
    id: newId(),
    accountId,
    name: `z${newId().slice(0, 8)}.test`,
    createdAt: "2026-01-03T00:00:00Z",
    ...overrides,
  };
}

export function mtlsCertificate(
  accountId: string,
  overrides: Partial<MtlsCertificate> = {},
): MtlsCertificate {
  return {
    id: newId(),
    accountId,
    name: "partner-ca",
    ca: true,
    certificates: "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n",
    hasPrivateKey: false,
    issuer: "CN=Partner Root,O=Partner",
    serialNumber: "0A1B2C",
    signature: "ECDSAWithSHA256",
    expiresOn: "2030-01-01T00:00:00Z",
    uploadedOn: "2026-01-04T00:00:00Z",
    updatedAt: "2026-01-05T00:00:00Z",
    ...overrides,
  };
}

export function hostname(zoneId: string, name: string, overrides: Partial<Hostname> = {}): Hostname {
  return {
    id: newId(),
    zoneId,
    hostname: name,
    isDefault: true,
    serverCertificateId: null,
    mtls: {
      mode: "enforce",
      paths: [{ prefix: "/public", mode: "off" }],
      staleCrl: "allow",
      maxChainDepth: 3,
      crls: ["https://crl.example.test/root.crl"],
      ocsp: { enabled: true, timeoutMs: 1500 },
    },
    origin: {
      url: "https://origin.internal:8443",
      caCertificateId: null,
      servername: "origin.internal",
      connectTimeoutMs: 1000,
      responseTimeoutMs: 2000,
      bodyTimeoutMs: 3000,
    },
    forward: [{ format: "rfc9440" }, { header: "X-Client-Serial", variable: "ssl_client_serial" }],
    createdAt: "2026-01-06T00:00:00Z",
    updatedAt: "2026-01-07T00:00:00Z",
    ...overrides,
  };
}

export function managedCa(zoneId: string, overrides: Partial<ManagedCa> = {}): ManagedCa {
  return {
    id: newId(),
    zoneId,
    name: "Managed CA",
    certificatePem: "-----BEGIN CERTIFICATE-----\nMIIBmanaged\n-----END CERTIFICATE-----\n",
    createdAt: "2026-01-08T00:00:00Z",
    ...overrides,
  };
}

export function clientCertificate(
  zoneId: string,
  caId: string,
  overrides: Partial<ClientCertificate> = {},
): ClientCertificate {
  return {
    id: newId(),
    zoneId,
    caId,
    certificatePem: "-----BEGIN CERTIFICATE-----\nMIIBclient\n-----END CERTIFICATE-----\n",
    csr: "-----BEGIN CERTIFICATE REQUEST-----\nMIIBcsr\n-----END CERTIFICATE REQUEST-----\n",
    commonName: "device-1",
    country: "DE",
    location: "Berlin",
    organization: "Example",
    organizationalUnit: "Devices",
    serialNumber: "7F00AA",
    fingerprintSha256: "ab".repeat(32),
    ski: "cd".repeat(20),
    signature: "SHA256WithRSA",
    status: "active",
    validityDays: 3650,
    issuedOn: "2026-01-09T00:00:00Z",
    expiresOn: "2036-01-07T00:00:00Z",
    revokedOn: null,
    ...overrides,
  };
}

export function originPull(
  zoneId: string,
  overrides: Partial<OriginPullCertificate> = {},
): OriginPullCertificate {
  return {
    id: newId(),
    zoneId,
    hostname: "app.example.test",
    certificatePem: "-----BEGIN CERTIFICATE-----\nMIIBpull\n-----END CERTIFICATE-----\n",
    enabled: true,
    createdAt: "2026-01-10T00:00:00Z",
    ...overrides,
  };
}

export function apiToken(overrides: Partial<ApiToken> = {}): ApiToken {
  return {
    id: newId(),
    name: "deploy",
    scopes: [
      { kind: "admin" },
      { kind: "account", accountId: newId(), access: "read" },
      { kind: "zone", zoneId: newId(), access: "edit" },
    ],
    status: "active",
    createdAt: "2026-01-11T00:00:00Z",
    lastUsedAt: null,
    ...overrides,
  };
}

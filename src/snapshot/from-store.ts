/**
 * The control plane's records as an EdgeConfig: the same model a config file produces, so the edge has
 * one compile step whatever the source. Private keys are decrypted here, off the hot path.
 */
import { X509Certificate } from "node:crypto";
import { hostAccess, withAccess } from "../access/from-store.ts";
import { firewallFromRuleset } from "../config/firewall-rules.ts";
import type { CrlSource, EdgeConfig, HostConfig, KeyPairPem } from "../config/types.ts";
import type { EdgeConfigSource } from "../edge/supervisor.ts";
import { functionsFromStore } from "../functions/from-store.ts";
import { normalizeSerial } from "../revocation/index.ts";
import { FIREWALL_CUSTOM_PHASE } from "../store/rulesets.ts";
import type {
  ClientCertificate,
  Hostname,
  HostnameAssociation,
  Id,
  Store,
  StoreReader,
  Zone,
} from "../store/types.ts";
import { fingerprintOfPem } from "./snapshot.ts";

/** What `portcullis up` decides itself: where to listen, where state lives, limits. */
export type EdgeBase = Omit<EdgeConfig, "file" | "hosts">;

/** Builds the edge's config from the store. Hostnames without a usable server certificate are left out. */
export async function edgeConfigFromStore(
  store: StoreReader,
  base: EdgeBase,
  warn: (message: string) => void = () => {},
): Promise<EdgeConfig> {
  const hosts: HostConfig[] = [];
  // Hosts of one zone share its CAs, associations, revocations and origin pull: read each once per build.
  const reader = memoized(store);
  for (const hostname of await reader.listHostnames()) {
    const zone = await reader.getZone(hostname.zoneId);
    if (!zone) continue;
    const host = await hostConfig(reader, zone, hostname);
    if (host) hosts.push(host);
    else warn(`hostname ${hostname.hostname} has no server certificate with a key; it is not served`);
  }
  const functions = await functionsFromStore(store);
  return { ...base, file: "store", hosts, ...(functions ? { functions } : {}) };
}

/** A view of `store` whose reads are each made once (by method and arguments) for as long as it lives. */
function memoized(store: StoreReader): StoreReader {
  const results = new Map<string, Promise<unknown>>();
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const key = `${String(property)}:${JSON.stringify(args)}`;
        let result = results.get(key);
        if (!result) {
          result = value.apply(target, args) as Promise<unknown>;
          results.set(key, result);
        }
        return result;
      };
    },
  });
}

/** The store as the edge's config source: every committed write (from any process) means a reload. */
export function storeConfigSource(
  store: Store,
  base: EdgeBase,
  warn?: (message: string) => void,
): EdgeConfigSource {
  return {
    name: "store",
    load: () => edgeConfigFromStore(store, base, warn),
    watch(onChange) {
      let timer: NodeJS.Timeout | undefined;
      // A burst of writes is one reload: the next load reads the latest state anyway.
      const stop = store.watch((version) => {
        clearTimeout(timer);
        timer = setTimeout(() => onChange(`store version ${version}`), 20);
      });
      return () => {
        clearTimeout(timer);
        stop();
      };
    },
  };
}

async function hostConfig(
  store: StoreReader,
  zone: Zone,
  hostname: Hostname,
): Promise<HostConfig | undefined> {
  const tls = await serverKeyPair(store, hostname.serverCertificateId);
  if (!tls) return undefined;
  const managedCa = await store.getManagedCa(zone.id);
  // Access CAs associated with this hostname are trusted beside its associations (src/access/from-store.ts).
  const access = await hostAccess(store, zone, hostname.hostname, managedCa?.certificatePem);
  const trusted = [
    ...new Set([...(await trustedCas(store, zone, hostname.hostname)), ...access.trustedCasPem]),
  ];
  const revoked =
    managedCa && trusted.includes(managedCa.certificatePem)
      ? [
          {
            issuerFingerprint256: fingerprintOfPem(managedCa.certificatePem),
            serials: await revokedSerials(store, zone.id),
          },
        ]
      : [];
  const crls = hostname.mtls.crls.map(
    (entry, index): CrlSource => ({
      ...(/^https?:\/\//i.test(entry) ? { kind: "url", url: entry } : { kind: "file", path: entry }),
      field: `hostnames[${hostname.hostname}].mtls.crls[${index}]`,
    }),
  );
  const { origin } = hostname;
  const originCa = origin.caCertificateId
    ? await store.getMtlsCertificate(origin.caCertificateId)
    : undefined;
  const clientCert = await originPullKeyPair(store, zone.id, hostname.hostname);
  const firewall = firewallFromRuleset(await store.getRuleset(zone.id, FIREWALL_CUSTOM_PHASE));
  const host: HostConfig = {
    hostname: hostname.hostname,
    isDefault: hostname.isDefault,
    tls: [tls],
    mtls: {
      mode: hostname.mtls.mode,
      trustedCasPem: trusted,
      crls,
      staleCrl: hostname.mtls.staleCrl,
      maxChainDepth: hostname.mtls.maxChainDepth,
      paths: hostname.mtls.paths,
      ocsp: hostname.mtls.ocsp,
      revoked,
    },
    origin: {
      url: origin.url,
      ...(originCa ? { caPem: originCa.certificates } : {}),
      ...(clientCert ? { clientCert } : {}),
      ...(origin.servername ? { servername: origin.servername } : {}),
      connectTimeoutMs: origin.connectTimeoutMs,
      responseTimeoutMs: origin.responseTimeoutMs,
      bodyTimeoutMs: origin.bodyTimeoutMs,
    },
    forward: hostname.forward,
    ...(firewall ? { firewall } : {}),
  };
  return withAccess(host, access);
}

async function serverKeyPair(store: StoreReader, id: Id | null): Promise<KeyPairPem | undefined> {
  if (!id) return undefined;
  const certificate = await store.getMtlsCertificate(id);
  const keyPem = await store.secretKeyPem({ kind: "mtls_certificate", id });
  if (!certificate || !keyPem) return undefined;
  const where = `store:mtls_certificates/${id}`;
  return { certPem: certificate.certificates, keyPem, certFile: where, keyFile: where };
}

/** Each CA certificate the hostname's associations name, one PEM per certificate; null = the managed CA. */
async function trustedCas(store: StoreReader, zone: Zone, hostname: string): Promise<string[]> {
  const pems: string[] = [];
  const byHostname = associationsByHostname(await store.listHostnameAssociations({ zoneId: zone.id }));
  for (const association of byHostname.get(hostname) ?? []) {
    if (association.mtlsCertificateId === null) {
      const managed = await store.getManagedCa(zone.id);
      if (managed) pems.push(managed.certificatePem);
      continue;
    }
    const certificate = await store.getMtlsCertificate(association.mtlsCertificateId);
    if (certificate?.ca) pems.push(...splitPem(certificate.certificates));
  }
  return [...new Set(pems)];
}

/** A zone's associations grouped by hostname, once per list (the memoized reader returns the same list). */
const groupedAssociations = new WeakMap<readonly HostnameAssociation[], Map<string, HostnameAssociation[]>>();

function associationsByHostname(list: readonly HostnameAssociation[]): Map<string, HostnameAssociation[]> {
  let grouped = groupedAssociations.get(list);
  if (!grouped) {
    grouped = new Map();
    for (const association of list) {
      const group = grouped.get(association.hostname);
      if (group) group.push(association);
      else grouped.set(association.hostname, [association]);
    }
    groupedAssociations.set(list, grouped);
  }
  return grouped;
}

/** A zone's revoked serials, once per build (the reader lives for one build), shared by its hosts. */
const revokedByBuild = new WeakMap<StoreReader, Map<Id, Promise<string[]>>>();

function revokedSerials(store: StoreReader, zoneId: Id): Promise<string[]> {
  let zones = revokedByBuild.get(store);
  if (!zones) {
    zones = new Map();
    revokedByBuild.set(store, zones);
  }
  let serials = zones.get(zoneId);
  if (!serials) {
    serials = readRevokedSerials(store, zoneId);
    zones.set(zoneId, serials);
  }
  return serials;
}

/** Revoked now includes pending revocation: the edge enforces a revocation the moment it is asked for. */
async function readRevokedSerials(store: StoreReader, zoneId: Id): Promise<string[]> {
  const serials: string[] = [];
  for (const status of ["revoked", "pending_revocation"] as const) {
    for (let offset = 0; ; offset += 1000) {
      const page = await store.listClientCertificates({ zoneId, status, limit: 1000, offset });
      serials.push(...page.items.map((item: ClientCertificate) => normalizeSerial(item.serialNumber)));
      if (offset + page.items.length >= page.total || page.items.length === 0) break;
    }
  }
  return serials;
}

/** Authenticated origin pull: the hostname's own certificate beats the zone's, if the zone has it enabled. */
async function originPullKeyPair(
  store: StoreReader,
  zoneId: Id,
  hostname: string,
): Promise<KeyPairPem | undefined> {
  const certificates = (await store.listOriginPullCertificates({ zoneId })).filter((c) => c.enabled);
  const own = certificates.find((c) => c.hostname === hostname);
  const zoneWide = (await store.getOriginPullEnabled(zoneId))
    ? certificates.find((c) => c.hostname === null)
    : undefined;
  const chosen = own ?? zoneWide;
  if (!chosen) return undefined;
  const keyPem = await store.secretKeyPem({ kind: "origin_pull", id: chosen.id });
  if (!keyPem) return undefined;
  const where = `store:origin_tls_client_auth/${chosen.id}`;
  return { certPem: chosen.certificatePem, keyPem, certFile: where, keyFile: where };
}

/** One PEM per certificate of a bundle, normalized; cached, since every build splits the same bundles. */
const splitCache = new Map<string, string[]>();

function splitPem(text: string): string[] {
  let pems = splitCache.get(text);
  if (!pems) {
    pems = (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) =>
      new X509Certificate(block).toString(),
    );
    if (splitCache.size >= 10_000) splitCache.clear();
    splitCache.set(text, pems);
  }
  return pems;
}

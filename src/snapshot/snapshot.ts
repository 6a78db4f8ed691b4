/**
 * The Snapshot: everything the hot path needs, compiled ahead of time and never changed afterwards.
 * A change (config edit, CRL refresh) builds a new one off the hot path; the edge swaps it in whole.
 */
import { constants, createHash, X509Certificate } from "node:crypto";
import tls from "node:tls";
import { type AccessRuntime, compileAccess } from "../access/runtime.ts";
import type { CrlSource, EdgeConfig, HostConfig, MtlsMode } from "../config/types.ts";
import { type CompiledFirewall, compileFirewall } from "../edge/firewall.ts";
import { compileForwarder, type Forwarder } from "../edge/forward.ts";
import { type OriginPool, originPool } from "../edge/origin-pool.ts";
import { compilePathModes } from "../edge/paths.ts";
import { compileFunctionRouter, type FunctionRouter } from "../functions/router.ts";
import { type CrlStatus, sourceKey } from "../revocation/index.ts";

/** What revocation knows for one host: revoked serials per issuing CA, and when each list goes stale. */
export interface HostRevocation {
  /** Issuer certificate SHA-256 fingerprint (lowercase hex) → revoked serials (normalized hex). */
  revokedByIssuer: ReadonlyMap<string, ReadonlySet<string>>;
  /** Issuer fingerprint → the CRL's nextUpdate (ms); a CRL without one never goes stale. */
  nextUpdateByIssuer: ReadonlyMap<string, number>;
  /** Configured CRL sources with no good copy (never fetched, unreadable): their issuer is unknown. */
  unavailable: readonly string[];
}

export interface HostRuntime {
  readonly name: string;
  readonly config: HostConfig;
  /** True when the handshake asks for a client certificate (host or any path not `off`). */
  readonly requestsCert: boolean;
  readonly secureContext: tls.SecureContext;
  readonly contextOptions: tls.SecureContextOptions;
  /** SHA-256 fingerprints of the host's trusted CAs, to re-check a connection's anchor per request. */
  readonly trustedFingerprints: ReadonlySet<string>;
  readonly modeFor: (target: string) => MtlsMode;
  readonly revocation: HostRevocation;
  readonly forwarder: Forwarder;
  readonly origin: OriginPool;
  /** Custom firewall rules as closures; undefined when the host has none enabled. */
  readonly firewall: CompiledFirewall | undefined;
  /** Access applications (src/access/runtime.ts); undefined when the host has none. */
  readonly access: AccessRuntime | undefined;
}

export interface Snapshot {
  readonly version: number;
  readonly builtAtMs: number;
  readonly config: EdgeConfig;
  readonly hosts: readonly HostRuntime[];
  readonly defaultHost: HostRuntime | undefined;
  /** The host for an SNI or Host name (any case, no port); wildcards cover one label; else the default host. */
  lookup(name: string | null | undefined): HostRuntime | undefined;
  /** Edge function routes (src/functions/router.ts). */
  readonly functions: FunctionRouter;
}

/** Reusable parts of the previous Snapshot: SecureContexts and origin pools whose inputs did not change. */
export interface SnapshotCaches {
  contexts: Map<string, tls.SecureContext>;
  origins: Map<string, OriginPool>;
}

export function emptyCaches(): SnapshotCaches {
  return { contexts: new Map(), origins: new Map() };
}

let nextVersion = 1;

/**
 * Compiles a Snapshot. Throws on anything OpenSSL refuses (the config loader has checked the rest), so a
 * bad config never replaces a good Snapshot. `caches` carries contexts and pools over from the last build.
 */
export function compileSnapshot(
  config: EdgeConfig,
  crls: ReadonlyMap<string, CrlStatus>,
  caches: SnapshotCaches = emptyCaches(),
): { snapshot: Snapshot; caches: SnapshotCaches } {
  const used = emptyCaches();
  const hosts = config.hosts.map((host) => compileHost(host, crls, caches, used));
  const exact = new Map<string, HostRuntime>();
  const wildcard = new Map<string, HostRuntime>();
  for (const host of hosts) {
    if (host.name.startsWith("*.")) wildcard.set(host.name.slice(2), host);
    else exact.set(host.name, host);
  }
  const defaultHost = hosts.find((host) => host.config.isDefault);
  const lookup = (name: string | null | undefined): HostRuntime | undefined => {
    if (!name) return defaultHost;
    const key = name.toLowerCase();
    const found = exact.get(key);
    if (found) return found;
    const dot = key.indexOf(".");
    return (dot > 0 ? wildcard.get(key.slice(dot + 1)) : undefined) ?? defaultHost;
  };
  const snapshot: Snapshot = {
    version: nextVersion++,
    builtAtMs: Date.now(),
    config,
    hosts,
    defaultHost,
    lookup,
    functions: compileFunctionRouter(config.functions),
  };
  return { snapshot, caches: used };
}

/** Origin pools the new Snapshot no longer uses: close them once their requests finish. */
export function retiredOrigins(previous: SnapshotCaches, next: SnapshotCaches): OriginPool[] {
  const kept = new Set(next.origins.values());
  return [...previous.origins.values()].filter((pool) => !kept.has(pool));
}

function compileHost(
  host: HostConfig,
  crls: ReadonlyMap<string, CrlStatus>,
  previous: SnapshotCaches,
  used: SnapshotCaches,
): HostRuntime {
  const requestsCert = host.mtls.mode !== "off" || host.mtls.paths.some((rule) => rule.mode !== "off");
  const contextOptions = secureContextOptions(host, requestsCert);
  const contextKey = hashOf(JSON.stringify(contextOptions));
  // Hosts with the same certificates and CAs (this build or the last) share one context.
  const secureContext =
    used.contexts.get(contextKey) ??
    previous.contexts.get(contextKey) ??
    tls.createSecureContext(contextOptions);
  used.contexts.set(contextKey, secureContext);

  const originKey = hashOf(JSON.stringify(host.origin));
  const origin = used.origins.get(originKey) ?? previous.origins.get(originKey) ?? originPool(host.origin);
  used.origins.set(originKey, origin);

  return {
    name: host.hostname,
    config: host,
    requestsCert,
    secureContext,
    contextOptions,
    trustedFingerprints: new Set(requestsCert ? host.mtls.trustedCasPem.map(fingerprintOfPem) : []),
    modeFor: compilePathModes(host.mtls.mode, host.mtls.paths),
    revocation: hostRevocation(host.mtls.crls, crls, host.mtls.revoked ?? []),
    forwarder: compileForwarder(host.forward),
    origin,
    firewall: compileFirewall(host.firewall, host.hostname),
    access: compileAccess(host.access),
  };
}

function secureContextOptions(host: HostConfig, requestsCert: boolean): tls.SecureContextOptions {
  return {
    // Each server certificate with its chain: OpenSSL would otherwise rebuild the chain per handshake.
    cert: host.tls.map((pair) => pair.certPem),
    key: host.tls.map((pair) => pair.keyPem),
    minVersion: "TLSv1.2",
    ...(requestsCert
      ? {
          ca: host.mtls.trustedCasPem,
          // Resumption would skip client-certificate checks: no tickets (and no session cache) here.
          secureOptions: constants.SSL_OP_NO_TICKET,
          // A configured intermediate is an explicit trust anchor, as in Cloudflare's per-hostname CA lists.
          allowPartialTrustChain: true,
        }
      : {}),
  };
}

function hostRevocation(
  sources: readonly CrlSource[],
  crls: ReadonlyMap<string, CrlStatus>,
  managed: NonNullable<HostConfig["mtls"]["revoked"]>,
): HostRevocation {
  const revokedByIssuer = new Map<string, ReadonlySet<string>>();
  for (const { issuerFingerprint256, serials } of managed) {
    revokedByIssuer.set(issuerFingerprint256, new Set(serials));
  }
  const nextUpdateByIssuer = new Map<string, number>();
  const unavailable: string[] = [];
  for (const source of sources) {
    const status = crls.get(sourceKey(source));
    if (!status?.ok) {
      unavailable.push(source.kind === "file" ? source.path : source.url);
      continue;
    }
    const { issuerFingerprint256: issuer, serials, nextUpdateMs } = status.crl;
    const known = revokedByIssuer.get(issuer);
    // Two CRLs from one CA (e.g. a file and a URL): a serial in either is revoked.
    revokedByIssuer.set(issuer, known ? new Set([...known, ...serials]) : serials);
    if (nextUpdateMs !== null) {
      nextUpdateByIssuer.set(issuer, Math.max(nextUpdateByIssuer.get(issuer) ?? 0, nextUpdateMs));
    }
  }
  return { revokedByIssuer, nextUpdateByIssuer, unavailable };
}

/** Fingerprints of CA certificates by PEM: many hosts trust the same few CAs, and rebuilds are frequent. */
const fingerprints = new Map<string, string>();

export function fingerprintOfPem(pem: string): string {
  let fingerprint = fingerprints.get(pem);
  if (!fingerprint) {
    fingerprint = new X509Certificate(pem).fingerprint256.replaceAll(":", "").toLowerCase();
    if (fingerprints.size >= 100_000) fingerprints.clear();
    fingerprints.set(pem, fingerprint);
  }
  return fingerprint;
}

function hashOf(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

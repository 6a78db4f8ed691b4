/**
 * Access in the edge's config, read from the store once per build per account: the Access CAs a
 * hostname trusts, its client-certificate forwarding setting, and its applications with their policies,
 * keys (the signing key decrypted here, off the hot path) and the account's service tokens.
 *
 * How an Access CA meets the host's own trust (docs/access.md): its certificates join the host's trusted
 * CAs (beside the hostname associations), and a host whose mTLS mode is `off` becomes `permissive` — the
 * handshake asks for a certificate and Access's policies, not the edge's mTLS mode, decide.
 */
import { X509Certificate } from "node:crypto";
import type { HostConfig } from "../config/types.ts";
import { normalizePath } from "../edge/paths.ts";
import { fingerprintOfPem } from "../snapshot/snapshot.ts";
import type { Id, StoreReader, Zone } from "../store/types.ts";
import { keyPlan, longestSessionMs, publicJwk } from "./keys.ts";
import type { AccessAppSpec, HostAccess } from "./runtime.ts";
import { sessionMs } from "./session.ts";

interface AccountAccess {
  /** hostname → CA certificate PEMs (one per certificate). */
  casByHostname: Map<string, string[]>;
  forwarding: Set<string>;
  /** app host → apps. */
  appsByHost: Map<string, AccessAppSpec[]>;
  keys: HostAccess["keys"];
  signing: HostAccess["signing"];
  serviceTokens: HostAccess["serviceTokens"];
}

/** What one hostname gets from Access. */
export interface HostAccessInputs {
  trustedCasPem: string[];
  forwardClientCertificate: boolean;
  access: HostAccess | undefined;
}

const builds = new WeakMap<StoreReader, Map<Id, Promise<AccountAccess>>>();

/** The Access part of one hostname; `managedCaPem` is the zone's managed CA, so an upload of it is the same PEM. */
export async function hostAccess(
  store: StoreReader,
  zone: Zone,
  hostname: string,
  managedCaPem: string | undefined,
): Promise<HostAccessInputs> {
  let accounts = builds.get(store);
  if (!accounts) {
    accounts = new Map();
    builds.set(store, accounts);
  }
  let account = accounts.get(zone.accountId);
  if (!account) {
    account = readAccount(store, zone.accountId);
    accounts.set(zone.accountId, account);
  }
  const read = await account;
  const apps = read.appsByHost.get(hostname) ?? [];
  const cas = read.casByHostname.get(hostname) ?? [];
  const managed = managedCaPem && cas.length > 0 ? fingerprintOfPem(managedCaPem) : undefined;
  return {
    trustedCasPem: cas.map((pem) => (managedCaPem && fingerprintOfPem(pem) === managed ? managedCaPem : pem)),
    forwardClientCertificate: read.forwarding.has(hostname),
    access:
      apps.length === 0
        ? undefined
        : { apps, keys: read.keys, signing: read.signing, serviceTokens: read.serviceTokens },
  };
}

/** The host with Access applied: trust, mode, forwarding, applications. */
export function withAccess(host: HostConfig, inputs: HostAccessInputs): HostConfig {
  const trusts = inputs.trustedCasPem.length > 0;
  const forwards =
    inputs.forwardClientCertificate && !host.forward.some((f) => "format" in f && f.format === "access");
  if (!trusts && !forwards && !inputs.access) return host;
  return {
    ...host,
    mtls: trusts
      ? {
          ...host.mtls,
          mode: host.mtls.mode === "off" ? "permissive" : host.mtls.mode,
          trustedCasPem: [...new Set([...host.mtls.trustedCasPem, ...inputs.trustedCasPem])],
        }
      : host.mtls,
    forward: forwards ? [...host.forward, { format: "access" }] : host.forward,
    ...(inputs.access ? { access: inputs.access } : {}),
  };
}

async function readAccount(store: StoreReader, accountId: Id): Promise<AccountAccess> {
  const access = store.access;
  const casByHostname = new Map<string, string[]>();
  for (const certificate of await access.listCertificates(accountId)) {
    const pems = splitCertificates(certificate.certificate);
    for (const hostname of certificate.associatedHostnames) {
      casByHostname.set(hostname, [...(casByHostname.get(hostname) ?? []), ...pems]);
    }
  }
  const forwarding = new Set(
    (await access.listCertificateSettings(accountId))
      .filter((s) => s.clientCertificateForwarding)
      .map((s) => s.hostname),
  );
  const apps = await access.listApps(accountId);
  const policies = await access.listPolicies({ accountId });
  const appsByHost = new Map<string, AccessAppSpec[]>();
  for (const app of apps) {
    const slash = app.domain.indexOf("/");
    const host = slash === -1 ? app.domain : app.domain.slice(0, slash);
    const path = slash === -1 ? "" : appPath(app.domain.slice(slash));
    const spec: AccessAppSpec = {
      id: app.id,
      name: app.name,
      aud: app.aud,
      path,
      sessionMs: sessionMs(app.sessionDuration),
      policies: policies
        .filter((p) => p.appId === app.id)
        .map((p) => ({
          id: p.id,
          name: p.name,
          decision: p.decision,
          precedence: p.precedence,
          include: p.include,
          exclude: p.exclude,
          require: p.require,
        })),
    };
    appsByHost.set(host, [...(appsByHost.get(host) ?? []), spec]);
  }
  const stored = await access.listKeys(accountId);
  const plan = keyPlan(stored, Date.now(), Number.POSITIVE_INFINITY, longestSessionMs(apps));
  const published = stored.filter((key) => plan.published.includes(key.kid));
  const keys = await Promise.all(
    published.map(async (key) => ({
      kid: key.kid,
      jwk: await publicJwk(key),
      certificatePem: key.certificatePem,
    })),
  );
  const newest = published[0];
  const privateKeyPem = newest ? await access.keyPem(newest.kid) : undefined;
  const hashes = await access.serviceTokenHashes(accountId);
  const serviceTokens = (await access.listServiceTokens(accountId)).map((token) => ({
    id: token.id,
    clientId: token.clientId,
    secretHash: hashes.get(token.clientId) ?? "",
    expiresAtMs: Date.parse(token.expiresAt),
  }));
  return {
    casByHostname,
    forwarding,
    appsByHost,
    keys,
    signing: newest && privateKeyPem ? { kid: newest.kid, privateKeyPem } : null,
    serviceTokens,
  };
}

/** An app's path part as the edge matches it: normalized, a trailing `*` meaning "everything below". */
export function appPath(raw: string): string {
  const path = normalizePath(raw.endsWith("*") ? raw.slice(0, -1) : raw) ?? raw;
  return path === "/" ? "" : path;
}

function splitCertificates(text: string): string[] {
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) =>
    new X509Certificate(block).toString(),
  );
}

/**
 * The client's certificate as the edge judges it: what the handshake established (computed once per
 * connection) and, per request, whether it still passes under the current Snapshot: trust, expiry,
 * revocation and CRL freshness are re-checked on every request, so a resumed or long-lived connection
 * never outlives a revocation.
 */
import type { X509Certificate } from "node:crypto";
import type { DetailedPeerCertificate, TLSSocket } from "node:tls";
import { normalizeSerial } from "../revocation/index.ts";
import type { HostRuntime } from "../snapshot/snapshot.ts";
import { type CertificateFields, type ClientAuth, certificateFields, NO_CLIENT_AUTH } from "./identity.ts";

/** Why a certificate does not pass; `code` is stable (logs, metrics, 403 bodies), `text` is nginx's wording. */
export interface AuthFailure {
  code: string;
  text: string;
}

export interface ConnectionAuth {
  presented: boolean;
  /** Set when the handshake's chain verification (or our depth limit) failed. */
  failure: AuthFailure | null;
  cert: CertificateFields | null;
  /** Leaf and intermediates: each serial with its issuer's fingerprint, for CRL lookups. */
  links: readonly { serial: string; issuer: string }[];
  /** Fingerprints of every certificate in the verified chain: one must still be trusted by the host. */
  chainFingerprints: readonly string[];
  /** The leaf's issuer certificate (DER), for OCSP. */
  issuerDer?: Buffer;
}

/** What OCSP said about the leaf, when the host asks (`unavailable`: no usable answer from the responder). */
export type OcspVerdict = "good" | "revoked" | "unknown" | "unavailable";

export interface RequestAuth extends ClientAuth {
  /** Null when the certificate passes. */
  failure: AuthFailure | null;
}

const NOT_PRESENTED: ConnectionAuth = {
  presented: false,
  failure: null,
  cert: null,
  links: [],
  chainFingerprints: [],
};

/** OpenSSL's verify error codes, as Node reports them, with OpenSSL's own text (nginx's $ssl_client_verify). */
const OPENSSL_FAILURES: Record<string, AuthFailure> = {
  CERT_HAS_EXPIRED: { code: "certificate_expired", text: "certificate has expired" },
  CERT_NOT_YET_VALID: { code: "certificate_not_yet_valid", text: "certificate is not yet valid" },
  INVALID_PURPOSE: { code: "certificate_wrong_purpose", text: "unsupported certificate purpose" },
  UNABLE_TO_GET_ISSUER_CERT: { code: "certificate_untrusted", text: "unable to get issuer certificate" },
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: {
    code: "certificate_untrusted",
    text: "unable to get local issuer certificate",
  },
  DEPTH_ZERO_SELF_SIGNED_CERT: { code: "certificate_untrusted", text: "self-signed certificate" },
  SELF_SIGNED_CERT_IN_CHAIN: {
    code: "certificate_untrusted",
    text: "self-signed certificate in certificate chain",
  },
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: {
    code: "certificate_untrusted",
    text: "unable to verify the first certificate",
  },
  CERT_SIGNATURE_FAILURE: { code: "certificate_invalid", text: "certificate signature failure" },
  INVALID_CA: { code: "certificate_invalid", text: "invalid CA certificate" },
  PATH_LENGTH_EXCEEDED: { code: "certificate_invalid", text: "path length constraint exceeded" },
  CERT_CHAIN_TOO_LONG: { code: "chain_too_long", text: "certificate chain too long" },
  CERT_REJECTED: { code: "certificate_invalid", text: "certificate rejected" },
  CERT_UNTRUSTED: { code: "certificate_untrusted", text: "certificate not trusted" },
};

export const FAILURES = {
  chainTooLong: { code: "chain_too_long", text: "certificate chain too long" },
  untrusted: { code: "certificate_untrusted", text: "unable to get local issuer certificate" },
  expired: { code: "certificate_expired", text: "certificate has expired" },
  revoked: { code: "certificate_revoked", text: "certificate revoked" },
  crlUnavailable: { code: "crl_unavailable", text: "unable to get certificate CRL" },
  crlExpired: { code: "crl_expired", text: "CRL has expired" },
  unparsable: { code: "certificate_invalid", text: "certificate could not be parsed" },
  ocspUnknown: { code: "ocsp_unknown", text: "certificate status unknown" },
  ocspUnavailable: { code: "ocsp_unavailable", text: "unable to get OCSP status" },
} as const satisfies Record<string, AuthFailure>;

function opensslFailure(code: string): AuthFailure {
  return (
    OPENSSL_FAILURES[code] ?? { code: "certificate_invalid", text: code.toLowerCase().replaceAll("_", " ") }
  );
}

/** Identity computations are cached by chain: a client reconnecting pays for them once. */
const fieldsCache = new Map<string, CertificateFields>();
const FIELDS_CACHE_MAX = 10_000;

/** What a handshake's certificate chain gives, whatever OpenSSL's verdict on it. */
interface ChainInfo {
  /** Null when the leaf could not be read (presented, never trusted). */
  cert: CertificateFields | null;
  links: ConnectionAuth["links"];
  chainFingerprints: readonly string[];
  issuerDer?: Buffer;
  intermediateCount: number;
}

/**
 * ChainInfo by SecureContext (its trust store completes the chain) and by the certificates the client
 * sent: `getPeerCertificate(true)`, which builds JS objects for every certificate of the chain, costs
 * about a tenth of a full mTLS handshake here, so it runs once per distinct client chain and context.
 */
const chainCache = new WeakMap<object, Map<string, ChainInfo>>();
const CHAIN_CACHE_MAX = 10_000;

/** Computes the connection's view of its client certificate, once, right after the handshake. */
export function connectionAuth(socket: TLSSocket, maxChainDepth: number): ConnectionAuth {
  const leaf = socket.getPeerX509Certificate();
  if (!leaf) return NOT_PRESENTED;
  const info = chainInfo(socket, leaf);
  if (!info) return NOT_PRESENTED;
  if (!info.cert) return { ...NOT_PRESENTED, presented: true, failure: FAILURES.unparsable };
  let failure: AuthFailure | null = null;
  if (!socket.authorized) failure = opensslFailure(String(socket.authorizationError ?? "CERT_REJECTED"));
  else if (info.intermediateCount > maxChainDepth) failure = FAILURES.chainTooLong;
  return {
    presented: true,
    failure,
    cert: info.cert,
    links: info.links,
    chainFingerprints: info.chainFingerprints,
    ...(info.issuerDer ? { issuerDer: info.issuerDer } : {}),
  };
}

function chainInfo(socket: TLSSocket, leaf: X509Certificate): ChainInfo | null {
  const context = (socket as TLSSocket & { ssl?: { _secureContext?: object } }).ssl?._secureContext;
  if (!context) return fullChainInfo(socket);
  // The certificates as the client sent them (leaf first): with the context, they decide the chain.
  let key = leaf.fingerprint256;
  let sent = leaf.issuerCertificate;
  for (let n = 0; sent && n < 64; n++, sent = sent.issuerCertificate) key += `/${sent.fingerprint256}`;
  let cache = chainCache.get(context);
  if (!cache) {
    cache = new Map();
    chainCache.set(context, cache);
  }
  let info = cache.get(key);
  if (!info) {
    const computed = fullChainInfo(socket);
    if (!computed) return null;
    info = computed;
    if (cache.size >= CHAIN_CACHE_MAX) cache.clear();
    cache.set(key, info);
  }
  return info;
}

/** The chain as OpenSSL verified it (completed from the context's trust store), and its identity fields. */
function fullChainInfo(socket: TLSSocket): ChainInfo | null {
  const peer = socket.getPeerCertificate(true) as DetailedPeerCertificate | null;
  if (!peer?.raw) return null;
  const chain = peerChain(peer);
  const fingerprints = chain.map((cert) => fingerprintHex(cert.fingerprint256));
  const links = chain.slice(0, -1).map((c, i) => ({
    serial: normalizeSerial(c.serialNumber),
    issuer: fingerprints[i + 1] as string,
  }));
  const issuerDer = chain[1]?.raw;
  const base = {
    links,
    chainFingerprints: fingerprints,
    intermediateCount: Math.max(0, chain.length - 2),
    ...(issuerDer ? { issuerDer } : {}),
  };
  const cacheKey = fingerprints.join(",");
  let cert = fieldsCache.get(cacheKey);
  if (!cert) {
    const rootIsSelfSigned =
      chain.length > 1 && isSelfIssued(chain[chain.length - 1] as DetailedPeerCertificate);
    const intermediates = chain.slice(1, rootIsSelfSigned ? -1 : undefined).map((c) => c.raw);
    try {
      cert = certificateFields(peer.raw, intermediates, chain[1]?.raw);
    } catch {
      // DER that OpenSSL tolerated but a strict reader does not: presented, never trusted.
      return { ...base, cert: null };
    }
    if (fieldsCache.size >= FIELDS_CACHE_MAX) fieldsCache.clear();
    fieldsCache.set(cacheKey, cert);
  }
  return { ...base, cert };
}

/** The certificate's standing for one request on `host`, under the Snapshot `host` belongs to. */
export function requestAuth(
  conn: ConnectionAuth,
  host: HostRuntime,
  nowMs: number,
  ocsp?: OcspVerdict,
): RequestAuth {
  if (!conn.presented) return NO_REQUEST_AUTH;
  const cert = conn.cert;
  if (!cert) {
    const failure = conn.failure ?? FAILURES.unparsable;
    return {
      presented: true,
      verified: false,
      revoked: false,
      verify: `FAILED:${failure.text}`,
      cert,
      failure,
    };
  }
  let failure = conn.failure;
  if (!failure && !conn.chainFingerprints.some((fp) => host.trustedFingerprints.has(fp))) {
    failure = FAILURES.untrusted; // the host's CAs changed since the handshake
  }
  if (!failure && nowMs > cert.notAfterMs) failure = FAILURES.expired;
  const verified = failure === null;
  let revoked = false;
  if (verified) {
    const revocation = revocationFailure(conn, host, nowMs) ?? ocspFailure(ocsp, host);
    if (revocation) {
      failure = revocation;
      revoked = revocation === FAILURES.revoked;
    }
  }
  return {
    presented: true,
    verified,
    revoked,
    verify: failure ? `FAILED:${failure.text}` : "SUCCESS",
    cert,
    failure,
  };
}

function revocationFailure(conn: ConnectionAuth, host: HostRuntime, nowMs: number): AuthFailure | null {
  const { revokedByIssuer, nextUpdateByIssuer, unavailable } = host.revocation;
  const allowStale = host.config.mtls.staleCrl === "allow";
  for (const link of conn.links) {
    if (revokedByIssuer.get(link.issuer)?.has(link.serial)) return FAILURES.revoked;
  }
  if (allowStale) return null;
  if (unavailable.length > 0) return FAILURES.crlUnavailable;
  for (const link of conn.links) {
    const nextUpdate = nextUpdateByIssuer.get(link.issuer);
    if (nextUpdate !== undefined && nowMs > nextUpdate) return FAILURES.crlExpired;
  }
  return null;
}

function ocspFailure(ocsp: OcspVerdict | undefined, host: HostRuntime): AuthFailure | null {
  if (ocsp === "revoked") return FAILURES.revoked;
  if (host.config.mtls.staleCrl === "allow") return null;
  if (ocsp === "unknown") return FAILURES.ocspUnknown;
  if (ocsp === "unavailable") return FAILURES.ocspUnavailable;
  return null;
}

const NO_REQUEST_AUTH: RequestAuth = {
  ...NO_CLIENT_AUTH,
  failure: { code: "no_client_certificate", text: "no required SSL certificate was sent" },
};

function peerChain(leaf: DetailedPeerCertificate): DetailedPeerCertificate[] {
  const chain = [leaf];
  let current = leaf;
  // Node links the last certificate to itself; the cap guards against any other cycle.
  while (current.issuerCertificate && current.issuerCertificate !== current && chain.length < 64) {
    current = current.issuerCertificate;
    chain.push(current);
  }
  return chain;
}

function isSelfIssued(cert: DetailedPeerCertificate): boolean {
  return cert.issuerCertificate === cert;
}

function fingerprintHex(colonHex: string): string {
  return colonHex.replaceAll(":", "").toLowerCase();
}

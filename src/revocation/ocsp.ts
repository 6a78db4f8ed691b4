/**
 * OCSP for client certificates (RFC 6960, the RFC 5019 profile): POST a SHA-1 CertID to the responder in
 * the certificate's AIA, verify the signed answer (by the issuer or a responder it delegated to with
 * id-kp-OCSPSigning), and cache it until it is due again. Off by default in the edge, which calls `check`
 * once per distinct certificate.
 */
import { type KeyObject, verify, X509Certificate } from "node:crypto";
import type * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { messageOf } from "./errors.ts";

export type OcspStatus = "good" | "revoked" | "unknown";

export interface OcspResult {
  status: OcspStatus;
  /** When to ask again: nextUpdate, else thisUpdate + 1 h, never more than 24 h from now. */
  expiresAtMs: number;
}

export type OcspErrorCode = "no_responder" | "unreachable" | "bad_response";

/** A failed check, with a one-line message naming the responder URL where there is one. */
export class OcspError extends Error {
  readonly code: OcspErrorCode;

  constructor(code: OcspErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OcspError";
    this.code = code;
  }
}

export interface OcspCheckerOptions {
  /** For the whole request: connect, send, and read the response. */
  timeoutMs: number;
  now?: () => number;
  /** Cached answers and failures kept, oldest dropped first (default 10000). */
  maxEntries?: number;
}

const OID_AIA = "1.3.6.1.5.5.7.1.1";
const OID_AD_OCSP = "1.3.6.1.5.5.7.48.1";
const OID_PKIX_OCSP_BASIC = "1.3.6.1.5.5.7.48.1.1";
const OID_KP_OCSP_SIGNING = "1.3.6.1.5.5.7.3.9";
const OID_SHA1 = "1.3.14.3.2.26";

const SKEW_MS = 5 * 60_000;
const DEFAULT_TTL_MS = 60 * 60_000;
const MAX_TTL_MS = 24 * 60 * 60_000;
const FAILURE_TTL_MS = 30_000;
const MAX_RESPONSE_BYTES = 1024 * 1024;

/** Signature algorithm OID → the key type it needs and Node's digest name (null: none, Ed25519). */
const SIGNATURE_ALGORITHMS: Record<string, { keyType: string; digest: string | null }> = {
  "1.2.840.113549.1.1.5": { keyType: "rsa", digest: "sha1" },
  "1.2.840.113549.1.1.11": { keyType: "rsa", digest: "sha256" },
  "1.2.840.113549.1.1.12": { keyType: "rsa", digest: "sha384" },
  "1.2.840.113549.1.1.13": { keyType: "rsa", digest: "sha512" },
  "1.2.840.10045.4.1": { keyType: "ec", digest: "sha1" },
  "1.2.840.10045.4.3.2": { keyType: "ec", digest: "sha256" },
  "1.2.840.10045.4.3.3": { keyType: "ec", digest: "sha384" },
  "1.2.840.10045.4.3.4": { keyType: "ec", digest: "sha512" },
  "1.3.101.112": { keyType: "ed25519", digest: null },
};

type Entry = { result: OcspResult; expiresAtMs: number } | { error: OcspError; expiresAtMs: number };

export class OcspChecker {
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #maxEntries: number;
  /** Insertion order is age order: the first key is the one to drop. */
  readonly #cache = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Promise<OcspResult>>();

  constructor(options: OcspCheckerOptions) {
    this.#timeoutMs = options.timeoutMs;
    this.#now = options.now ?? Date.now;
    this.#maxEntries = Math.max(1, options.maxEntries ?? 10_000);
  }

  /** The status of `certDer` issued by `issuerDer`, from the cache or the certificate's OCSP responder. */
  check(certDer: Buffer, issuerDer: Buffer): Promise<OcspResult> {
    let key: string;
    try {
      key = cacheKey(certDer, issuerDer);
    } catch (err) {
      return Promise.reject(
        new OcspError("no_responder", `cannot read the certificate or its issuer: ${messageOf(err)}`),
      );
    }
    const cached = this.#cache.get(key);
    if (cached && cached.expiresAtMs > this.#now()) {
      if ("error" in cached) return Promise.reject(cached.error);
      return Promise.resolve(cached.result);
    }
    const pending = this.#inFlight.get(key);
    if (pending) return pending;
    const request = this.#ask(certDer, issuerDer).then(
      (result) => {
        this.#remember(key, { result, expiresAtMs: result.expiresAtMs });
        return result;
      },
      (err: unknown) => {
        const error =
          err instanceof OcspError ? err : new OcspError("bad_response", messageOf(err), { cause: err });
        this.#remember(key, { error, expiresAtMs: this.#now() + FAILURE_TTL_MS });
        throw error;
      },
    );
    const shared = request.finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, shared);
    return shared;
  }

  #remember(key: string, entry: Entry): void {
    this.#cache.delete(key);
    if (this.#cache.size >= this.#maxEntries) {
      const now = this.#now();
      for (const [k, e] of this.#cache) if (e.expiresAtMs <= now) this.#cache.delete(k);
      while (this.#cache.size >= this.#maxEntries) {
        const oldest = this.#cache.keys().next().value as string;
        this.#cache.delete(oldest);
      }
    }
    this.#cache.set(key, entry);
  }

  async #ask(certDer: Buffer, issuerDer: Buffer): Promise<OcspResult> {
    const cert = pkijs.Certificate.fromBER(new Uint8Array(certDer));
    const issuer = pkijs.Certificate.fromBER(new Uint8Array(issuerDer));
    const url = ocspUrl(cert);
    const certId = await pkijs.CertID.create(cert, { hashAlgorithm: "SHA-1", issuerCertificate: issuer });
    const request = new pkijs.OCSPRequest();
    request.tbsRequest.requestList = [new pkijs.Request({ reqCert: certId })];
    const body = await post(url, request.toSchema(true).toBER(), this.#timeoutMs);
    try {
      return readResponse(body, certId, new X509Certificate(issuerDer), this.#now());
    } catch (err) {
      throw new OcspError("bad_response", `${url}: ${messageOf(err)}`, { cause: err });
    }
  }
}

/** Issuer (its key) and serial: what a CertID names, without hashing. */
function cacheKey(certDer: Buffer, issuerDer: Buffer): string {
  const cert = new X509Certificate(certDer);
  const issuer = new X509Certificate(issuerDer);
  return `${issuer.fingerprint256}/${cert.serialNumber}`;
}

/** The first http:// id-ad-ocsp URI of the AIA extension. */
function ocspUrl(cert: pkijs.Certificate): string {
  const aia = cert.extensions?.find((e) => e.extnID === OID_AIA)?.parsedValue as pkijs.InfoAccess | undefined;
  for (const description of aia?.accessDescriptions ?? []) {
    const location = description.accessLocation;
    if (description.accessMethod !== OID_AD_OCSP || location.type !== 6) continue;
    const uri = String(location.value);
    if (URL.canParse(uri) && new URL(uri).protocol === "http:") return uri;
  }
  throw new OcspError("no_responder", "the certificate names no http:// OCSP responder (AIA id-ad-ocsp)");
}

async function post(url: string, body: ArrayBuffer, timeoutMs: number): Promise<Uint8Array<ArrayBuffer>> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/ocsp-request", accept: "application/ocsp-response" },
      body,
      signal: timeout,
      redirect: "error",
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    }
    if (Number(response.headers.get("content-length") ?? 0) > MAX_RESPONSE_BYTES) {
      await response.body?.cancel();
      throw new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`);
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length > MAX_RESPONSE_BYTES)
      throw new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`);
    return bytes;
  } catch (err) {
    const why = timeout.aborted ? `timed out after ${timeoutMs} ms` : describeFetchError(err);
    throw new OcspError("unreachable", `POST ${url}: ${why}`, { cause: err });
  }
}

function describeFetchError(err: unknown): string {
  // undici: TypeError("fetch failed") with the socket error (ECONNREFUSED…) as its cause.
  const cause = (err as { cause?: { code?: string } }).cause;
  return cause?.code ?? messageOf(err);
}

/** Parses and verifies an OCSPResponse for `certId`; any problem throws (the caller makes it bad_response). */
function readResponse(
  body: Uint8Array<ArrayBuffer>,
  certId: pkijs.CertID,
  issuer: X509Certificate,
  now: number,
): OcspResult {
  const response = pkijs.OCSPResponse.fromBER(body);
  const status = response.responseStatus.valueBlock.valueDec;
  if (status !== 0) throw new Error(`responder status ${status} (${RESPONSE_STATUS[status] ?? "unknown"})`);
  if (response.responseBytes?.responseType !== OID_PKIX_OCSP_BASIC)
    throw new Error("not a basic OCSP response");
  const basic = pkijs.BasicOCSPResponse.fromBER(
    new Uint8Array(response.responseBytes.response.valueBlock.valueHexView),
  );
  if (!signedByIssuerOrDelegate(basic, issuer, now))
    throw new Error("not signed by the issuer or a responder it authorized (id-kp-OCSPSigning)");

  const single = basic.tbsResponseData.responses.find((r) => sameCertId(r.certID, certId));
  if (!single) throw new Error("no answer for the certificate asked about (CertID mismatch)");
  const thisUpdateMs = single.thisUpdate.getTime();
  const nextUpdateMs = single.nextUpdate?.getTime() ?? null;
  if (thisUpdateMs > now + SKEW_MS) throw new Error(`thisUpdate ${iso(thisUpdateMs)} is in the future`);
  if (nextUpdateMs !== null && nextUpdateMs < now)
    throw new Error(`nextUpdate ${iso(nextUpdateMs)} has passed`);

  const tag = (single.certStatus as asn1js.BaseBlock).idBlock.tagNumber;
  const certStatus: OcspStatus | undefined = (["good", "revoked", "unknown"] as const)[tag];
  if (!certStatus) throw new Error(`unknown certStatus [${tag}]`);
  const due = nextUpdateMs ?? thisUpdateMs + DEFAULT_TTL_MS;
  return { status: certStatus, expiresAtMs: Math.min(due, now + MAX_TTL_MS) };
}

const RESPONSE_STATUS: Record<number, string> = {
  1: "malformedRequest",
  2: "internalError",
  3: "tryLater",
  5: "sigRequired",
  6: "unauthorized",
};

/** Signed by the issuer's key, or by a delegated responder certificate included in the response. */
function signedByIssuerOrDelegate(
  basic: pkijs.BasicOCSPResponse,
  issuer: X509Certificate,
  now: number,
): boolean {
  const tbs = basic.tbsResponseData.tbsView;
  const signature = basic.signature.valueBlock.valueHexView;
  const algorithm = basic.signatureAlgorithm.algorithmId;
  if (verifies(algorithm, tbs, signature, issuer.publicKey)) return true;
  for (const included of basic.certs ?? []) {
    let responder: X509Certificate;
    try {
      responder = new X509Certificate(Buffer.from(included.toSchema().toBER()));
    } catch {
      continue;
    }
    if (!delegatedBy(responder, issuer, now)) continue;
    if (verifies(algorithm, tbs, signature, responder.publicKey)) return true;
  }
  return false;
}

/** Issued and signed by `issuer`, valid now, and allowed to sign OCSP responses (RFC 6960 §4.2.2.2). */
function delegatedBy(responder: X509Certificate, issuer: X509Certificate, now: number): boolean {
  return (
    responder.checkIssued(issuer) &&
    responder.verify(issuer.publicKey) &&
    (responder.keyUsage ?? []).includes(OID_KP_OCSP_SIGNING) &&
    responder.validFromDate.getTime() <= now + SKEW_MS &&
    responder.validToDate.getTime() >= now
  );
}

function verifies(algorithm: string, data: Uint8Array, signature: Uint8Array, key: KeyObject): boolean {
  const known = SIGNATURE_ALGORITHMS[algorithm];
  if (!known || key.asymmetricKeyType !== known.keyType) return false;
  try {
    return verify(known.digest, data, key, signature);
  } catch {
    return false;
  }
}

function sameCertId(a: pkijs.CertID, b: pkijs.CertID): boolean {
  return (
    a.hashAlgorithm.algorithmId === OID_SHA1 &&
    a.hashAlgorithm.algorithmId === b.hashAlgorithm.algorithmId &&
    a.issuerNameHash.isEqual(b.issuerNameHash) &&
    a.issuerKeyHash.isEqual(b.issuerKeyHash) &&
    a.serialNumber.isEqual(b.serialNumber)
  );
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

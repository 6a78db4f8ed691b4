/**
 * The edge's Access stage, after the firewall rules: on a host with Access applications it serves
 * `/cdn-cgi/access/certs`, lets a valid `CF_Authorization` session through, or evaluates the app's
 * policies against the connection's certificate, the service token headers and the client address.
 * An allowed request gets a signed JWT (cookie for the client, `Cf-Access-Jwt-Assertion` for the origin);
 * anything else is the edge's 403 with reason `access_denied`. No I/O: everything comes from the Snapshot.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Http2ServerRequest } from "node:http2";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import type { RequestAuth } from "../edge/client-auth.ts";
import { hostOf } from "../edge/decide.ts";
import type { CertificateFields } from "../edge/identity.ts";
import type { EdgeRequest, EdgeResponse } from "../edge/proxy.ts";
import { type EdgeAnswer, edgeAnswer } from "../edge/respond.ts";
import { requestEvent } from "../events/edge.ts";
import type { EventSink } from "../events/types.ts";
import type { HostRuntime } from "../snapshot/snapshot.ts";
import { type AccessSubject, firstMatch } from "./policy.ts";
import type { AccessRuntime, CompiledApp, VerifiedToken } from "./runtime.ts";
import { ASSERTION_TTL_MS } from "./session.ts";

export const CERTS_PATH = "/cdn-cgi/access/certs";
export const COOKIE = "CF_Authorization";
const ASSERTION_HEADER = "cf-access-jwt-assertion";
const CLIENT_ID_HEADER = "cf-access-client-id";
const CLIENT_SECRET_HEADER = "cf-access-client-secret";
const VERIFIED_CACHE_MAX = 10_000;

/** What the stage needs of a forwarded decision. */
export interface Forwarded {
  host: HostRuntime;
  auth: RequestAuth;
}

/**
 * Runs Access for one forwarded request. Returns null to go on (the request's headers then carry the
 * assertion, and `res` the cookie), or the answer given instead: written to `res` when there is one,
 * else (an Upgrade) for the caller to write.
 */
export async function accessStage(
  req: EdgeRequest,
  decision: Forwarded,
  events: EventSink,
  res?: EdgeResponse,
): Promise<EdgeAnswer | null> {
  const access = decision.host.access;
  if (!access) return null;
  let answer: EdgeAnswer | null;
  try {
    answer = await evaluate(req, decision, access, events, res);
  } catch {
    // Fail closed: a signing or verification fault never lets a request through.
    answer = edgeAnswer(500, "internal_error", req.headers);
  }
  if (answer && res) {
    (res as import("node:http").ServerResponse)
      .writeHead(answer.status, {
        ...answer.headers,
        "content-length": String(Buffer.byteLength(answer.body)),
      })
      .end(req.method === "HEAD" ? undefined : answer.body);
  }
  return answer;
}

async function evaluate(
  req: EdgeRequest,
  decision: Forwarded,
  access: AccessRuntime,
  events: EventSink,
  res: EdgeResponse | undefined,
): Promise<EdgeAnswer | null> {
  const headers = req.headers;
  // Only the edge speaks these to the origin.
  delete headers[ASSERTION_HEADER];
  const target = req.url ?? "/";
  if (target === CERTS_PATH || target.startsWith(`${CERTS_PATH}?`)) {
    return {
      status: 200,
      headers: { "content-type": "application/json", "cache-control": "public, max-age=60" },
      body: access.certsBody,
    };
  }
  const app = access.appFor(target);
  if (app === undefined) return null;
  const { host, auth } = decision;
  const deny = (reason: string, appId: string | null): EdgeAnswer => {
    events.record(
      requestEvent(req, host.name, host.requestsCert ? auth : null, {
        action: "access_deny",
        status: 403,
        reason,
        ruleId: appId,
      }),
    );
    return edgeAnswer(403, "access_denied", headers);
  };
  if (app === "ambiguous") return deny("access_ambiguous_path", null);
  const secret = headerValue(headers[CLIENT_SECRET_HEADER]);
  delete headers[CLIENT_SECRET_HEADER];

  const cert = usableCert(auth);
  const issuer = `https://${requestHost(req) ?? host.name}`;
  const nowMs = Date.now();

  // A session the edge issued, still valid, for this app, and bound to this very certificate if it was bound.
  if (app.sessionMs > 0) {
    const token = cookieValue(headers.cookie, COOKIE);
    if (token !== undefined) {
      const session = await verifySession(access, token, app, issuer, nowMs);
      if (session && (session.x5t === null || (cert !== null && x5tOf(cert) === session.x5t))) {
        headers[ASSERTION_HEADER] = token;
        return null;
      }
    }
  }

  const clientId = headerValue(headers[CLIENT_ID_HEADER]);
  const subject: AccessSubject = {
    cert: cert ? subjectCert(cert) : null,
    serviceTokenId:
      clientId !== undefined && secret !== undefined
        ? access.serviceToken(clientId, secret, nowMs, sha256)
        : null,
    ip: clientIp(req.socket?.remoteAddress),
  };
  const policy = firstMatch(app.policies, subject);
  if (!policy || policy.decision === "deny") {
    return deny(policy ? "access_deny_policy" : "access_no_policy", app.id);
  }
  const allowed = requestEvent(req, host.name, host.requestsCert ? auth : null, {
    action: "access_allow",
    status: 101, // an Upgrade; a response's own status once it ends
    reason: `access_${policy.decision}`,
    ruleId: app.id,
  });
  if (res) {
    const decidedAt = Date.now();
    res.once("close", () => {
      allowed.status = res.headersSent ? res.statusCode : 0;
      events.record(allowed, decidedAt);
    });
  } else events.record(allowed);
  if (policy.decision === "bypass") return null;
  if (!access.signer) return deny("access_no_signing_key", app.id);

  const bound = policy.bindsCertificate && cert !== null ? cert : null;
  const jwt = await signSession(access.signer, {
    app,
    issuer,
    nowMs,
    cert: bound,
    commonName: subject.serviceTokenId !== null && policy.decision === "non_identity" ? clientId : undefined,
  });
  headers[ASSERTION_HEADER] = jwt;
  (res as import("node:http").ServerResponse | undefined)?.setHeader(
    "set-cookie",
    `${COOKIE}=${jwt}; HttpOnly; Secure; SameSite=Lax; Path=/`,
  );
  return null;
}

/** The certificate Access may rely on: presented, verified against the host, unexpired and not revoked. */
function usableCert(auth: RequestAuth): CertificateFields | null {
  return auth.presented && auth.verified && !auth.revoked && auth.failure === null ? auth.cert : null;
}

const subjects = new WeakMap<CertificateFields, NonNullable<AccessSubject["cert"]>>();
function subjectCert(cert: CertificateFields): NonNullable<AccessSubject["cert"]> {
  let subject = subjects.get(cert);
  if (!subject) {
    subject = {
      commonNames: cert.subjectAttributes.filter((a) => a.name === "CN").map((a) => a.value),
      sans: cert.sans,
      issuerSki: cert.issuerSki,
      fingerprintSha256: cert.fingerprintSha256,
      serial: cert.serial,
    };
    subjects.set(cert, subject);
  }
  return subject;
}

/** RFC 8705 `x5t#S256`: base64url of the SHA-256 of the certificate's DER. */
export function x5tOf(cert: Pick<CertificateFields, "fingerprintSha256">): string {
  return Buffer.from(cert.fingerprintSha256, "hex").toString("base64url");
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

async function signSession(
  signer: NonNullable<AccessRuntime["signer"]>,
  claims: {
    app: CompiledApp;
    issuer: string;
    nowMs: number;
    cert: CertificateFields | null;
    commonName: string | undefined;
  },
): Promise<string> {
  const iat = Math.floor(claims.nowMs / 1000);
  const lifetimeMs = claims.app.sessionMs > 0 ? claims.app.sessionMs : ASSERTION_TTL_MS;
  const cert = claims.cert;
  const payload: Record<string, unknown> = {
    type: "app",
    identity_nonce: randomBytes(16).toString("base64url"),
    sub: cert ? cert.fingerprintSha256 : "",
    ...(claims.commonName !== undefined
      ? { common_name: claims.commonName }
      : cert
        ? { common_name: subjectCert(cert).commonNames.at(-1) ?? "" }
        : {}),
    ...(cert ? { cnf: { "x5t#S256": x5tOf(cert) } } : {}),
  };
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "RS256", kid: signer.kid, typ: "JWT" })
    .setAudience([claims.app.aud])
    .setIssuer(claims.issuer)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + Math.max(1, Math.ceil(lifetimeMs / 1000)))
    .sign(signer.key);
}

/** The token's claims when it verifies with a published key (cached), else null; expiry, aud and iss checked here. */
async function verifySession(
  access: AccessRuntime,
  token: string,
  app: CompiledApp,
  issuer: string,
  nowMs: number,
): Promise<VerifiedToken | null> {
  let verified = access.verified.get(token);
  if (!verified) {
    try {
      const { payload } = await jwtVerify(
        token,
        (header) => {
          const key = access.verifyKey(header.kid);
          if (!key) throw new joseErrors.JWKSNoMatchingKey();
          return key;
        },
        { algorithms: ["RS256"] },
      );
      const cnf = payload.cnf as Record<string, unknown> | undefined;
      verified = {
        aud: Array.isArray(payload.aud) ? payload.aud : payload.aud ? [payload.aud] : [],
        expMs: (payload.exp ?? 0) * 1000,
        iss: payload.iss ?? "",
        x5t: typeof cnf?.["x5t#S256"] === "string" ? (cnf["x5t#S256"] as string) : null,
      };
    } catch {
      return null;
    }
    if (access.verified.size >= VERIFIED_CACHE_MAX) access.verified.clear();
    access.verified.set(token, verified);
  }
  if (nowMs >= verified.expMs || verified.iss !== issuer || !verified.aud.includes(app.aud)) return null;
  return verified;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** One cookie's value from Cookie header(s); undefined when absent. */
export function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const line of Array.isArray(header) ? header : [header]) {
    for (const part of line.split(";")) {
      const eq = part.indexOf("=");
      if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
    }
  }
  return undefined;
}

function clientIp(address: string | undefined): string {
  if (!address) return "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

function requestHost(req: EdgeRequest): string | null {
  const authority = req.httpVersionMajor === 2 ? (req as Http2ServerRequest).authority : req.headers.host;
  return hostOf(authority);
}

/**
 * The Access stage on its own: sessions (signature, aud, iss, exp, the certificate binding), policy
 * evaluation, bypass, service tokens, paths, and what reaches the origin. Real keys, real certificates
 * (src/pki), real JWTs; the request is a plain object, since no TLS is involved at this point.
 */
import assert from "node:assert/strict";
import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { before, describe, test } from "node:test";
import { createLocalJWKSet, decodeJwt, jwtVerify, SignJWT } from "jose";
import { newSigningKey, publicJwk } from "../../src/access/keys.ts";
import type { PolicySpec } from "../../src/access/policy.ts";
import { type AccessAppSpec, compileAccess, type HostAccess } from "../../src/access/runtime.ts";
import { accessStage } from "../../src/access/stage.ts";
import type { RequestAuth } from "../../src/edge/client-auth.ts";
import { certificateFields } from "../../src/edge/identity.ts";
import type { EdgeEventInput } from "../../src/events/types.ts";
import { loadIssuer } from "../../src/pki/issuer.ts";
import { parseSigningConfig } from "../../src/pki/profile.ts";
import { generateCertificate, initCa } from "../../src/pki/sign.ts";
import type { HostRuntime } from "../../src/snapshot/snapshot.ts";

const P256 = { algo: "ecdsa", size: 256 } as const;
const HOST = "auth.example.com";

async function clientAuth(issuerPem: { cert: string; key: string }, cn: string): Promise<RequestAuth> {
  const issuer = await loadIssuer(issuerPem.cert, issuerPem.key);
  const profile = parseSigningConfig({
    signing: { default: { usages: ["client auth"], expiry: "1h" } },
  }).default;
  const made = await generateCertificate({ CN: cn, hosts: [], key: P256, names: [] }, issuer, profile);
  const cert = certificateFields(Buffer.from(new X509Certificate(made.cert).raw), []);
  return { presented: true, verified: true, revoked: false, verify: "SUCCESS", cert, failure: null };
}

const NO_CERT: RequestAuth = {
  presented: false,
  verified: false,
  revoked: false,
  verify: "NONE",
  cert: null,
  failure: { code: "no_client_certificate", text: "" },
};

function policy(id: string, extra: Partial<PolicySpec>): PolicySpec {
  return {
    id,
    name: id,
    decision: "non_identity",
    precedence: 1,
    include: [],
    exclude: [],
    require: [],
    ...extra,
  };
}

interface Call {
  status: number | null;
  cookie: string | undefined;
  assertion: string | undefined;
  headers: Record<string, unknown>;
  body: string;
}

describe("Access stage", () => {
  let access: HostAccess;
  let james: RequestAuth;
  let other: RequestAuth;
  let foreignKey: Awaited<ReturnType<typeof newSigningKey>>;
  const events: EdgeEventInput[] = [];
  let host: HostRuntime;
  const apps: AccessAppSpec[] = [
    {
      id: "app-admin",
      name: "admin",
      aud: "a".repeat(64),
      path: "/admin",
      sessionMs: 60_000,
      policies: [
        policy("james", { include: [{ common_name: { common_name: "James Royal" } }] }),
        policy("robots", { include: [{ service_token: { token_id: "tok1" } }], precedence: 2 }),
        policy("office", { decision: "bypass", include: [{ ip: { ip: "192.0.2.0/24" } }], precedence: 3 }),
      ],
    },
    {
      id: "app-live",
      name: "live",
      aud: "b".repeat(64),
      path: "/live",
      sessionMs: 0,
      policies: [policy("certs", { include: [{ certificate: {} }] })],
    },
  ];

  before(async () => {
    const signing = await newSigningKey("acct");
    foreignKey = await newSigningKey("acct");
    access = {
      apps,
      keys: [
        {
          kid: signing.key.kid,
          jwk: await publicJwk(signing.key),
          certificatePem: signing.key.certificatePem,
        },
      ],
      signing: { kid: signing.key.kid, privateKeyPem: signing.privateKeyPem },
      serviceTokens: [
        {
          id: "tok1",
          clientId: "robot.access",
          secretHash: createHash("sha256").update("s3cret").digest("hex"),
          expiresAtMs: Date.now() + 60_000,
        },
        {
          id: "tok-old",
          clientId: "old.access",
          secretHash: createHash("sha256").update("s3cret").digest("hex"),
          expiresAtMs: Date.now() - 1,
        },
      ],
    };
    const ca = await initCa({ CN: "Access Testing CA", hosts: [], key: P256, names: [] });
    const caPair = { cert: ca.cert, key: ca.key ?? "" };
    james = await clientAuth(caPair, "James Royal");
    other = await clientAuth(caPair, "Someone Else");
    host = { name: HOST, requestsCert: true, access: compileAccess(access) } as unknown as HostRuntime;
  });

  async function call(
    url: string,
    auth: RequestAuth,
    headers: Record<string, string> = {},
    remoteAddress = "10.0.0.1",
  ): Promise<Call> {
    const req = {
      url,
      method: "GET",
      httpVersionMajor: 1,
      headers: { host: HOST, ...headers },
      socket: { remoteAddress },
    } as unknown as IncomingMessage;
    const set: Record<string, string> = {};
    let status: number | null = null;
    let body = "";
    const res = {
      setHeader: (name: string, value: string) => {
        set[name] = value;
      },
      writeHead(code: number) {
        status = code;
        return this;
      },
      end: (text?: string) => {
        body = text ?? "";
      },
      once: () => {},
    } as unknown as ServerResponse;
    await accessStage(req, { host, auth }, { record: (event) => events.push(event) }, res);
    const cookie = set["set-cookie"];
    return {
      status,
      cookie: cookie ? /^CF_Authorization=([^;]+)/.exec(cookie)?.[1] : undefined,
      assertion: req.headers["cf-access-jwt-assertion"] as string | undefined,
      headers: req.headers,
      body,
    };
  }

  test("the certs endpoint: keys, public_cert, public_certs", async () => {
    const answer = await call("/cdn-cgi/access/certs", NO_CERT);
    assert.equal(answer.status, 200);
    const document = JSON.parse(answer.body);
    assert.equal(document.keys.length, 1);
    assert.equal(document.public_cert.kid, document.keys[0].kid);
    assert.equal(document.public_certs.length, 1);
  });

  test("no certificate → 403 access_denied; paths outside every app pass untouched", async () => {
    const denied = await call("/admin/x", NO_CERT, { "cf-access-jwt-assertion": "forged" });
    assert.equal(denied.status, 403);
    assert.match(denied.body, /access_denied/);
    assert.equal(events.at(-1)?.action, "access_deny");
    assert.equal(events.at(-1)?.ruleId, "app-admin");
    const outside = await call("/public", NO_CERT, { "cf-access-jwt-assertion": "forged" });
    assert.equal(outside.status, null);
    assert.equal(outside.assertion, undefined, "a client's assertion is stripped everywhere on the host");
    assert.equal((await call("/administrator", NO_CERT)).status, null, "a prefix matches whole segments");
    assert.equal((await call("/%2Fadmin", NO_CERT)).status, 403, "an ambiguous path is refused");
  });

  test("an Upgrade (no response object): the answer comes back for the caller to write", async () => {
    const req = { url: "/admin", method: "GET", httpVersionMajor: 1, headers: { host: HOST }, socket: {} };
    const answer = await accessStage(
      req as unknown as IncomingMessage,
      { host, auth: NO_CERT },
      { record() {} },
    );
    assert.equal(answer?.status, 403);
    assert.equal(answer?.headers["x-portcullis-reason"], "access_denied");
    const upgrade = { ...req, headers: { host: HOST } };
    assert.equal(
      await accessStage(upgrade as unknown as IncomingMessage, { host, auth: james }, { record() {} }),
      null,
    );
    assert.ok(upgrade.headers["cf-access-jwt-assertion" as "host"], "the origin still gets the assertion");
  });

  test("a matching certificate: a JWT bound to it, as cookie and assertion", async () => {
    const allowed = await call("/admin", james);
    assert.equal(allowed.status, null);
    assert.ok(allowed.cookie);
    assert.equal(allowed.assertion, allowed.cookie);
    const { payload } = await jwtVerify(
      allowed.cookie,
      createLocalJWKSet({ keys: access.keys.map((k) => k.jwk) }),
      {
        audience: "a".repeat(64),
        issuer: `https://${HOST}`,
      },
    );
    assert.equal(payload.common_name, "James Royal");
    assert.equal(payload.sub, james.cert?.fingerprintSha256);
    assert.deepEqual(payload.cnf, {
      "x5t#S256": createHash("sha256")
        .update(james.cert?.der ?? "")
        .digest("base64url"),
    });
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 60);
    assert.equal((await call("/admin", other)).status, 403, "another common name");
    assert.equal((await call("/admin", { ...james, revoked: true })).status, 403, "revoked");
    assert.equal(
      (await call("/admin", { ...james, failure: { code: "crl_expired", text: "" } })).status,
      403,
    );
  });

  test("sessions: reused only with the same certificate, the right aud, iss, signature and time", async () => {
    const token = (await call("/admin", james)).cookie as string;
    const cookie = (value: string) => ({ cookie: `a=b; CF_Authorization=${value}` });
    const reused = await call("/admin/page", james, cookie(token));
    assert.equal(reused.status, null);
    assert.equal(reused.cookie, undefined, "no new session");
    assert.equal(reused.assertion, token);
    assert.equal((await call("/admin", NO_CERT, cookie(token))).status, 403, "without the certificate");
    assert.equal((await call("/admin", other, cookie(token))).status, 403, "with another certificate");

    const [head, body, signature] = token.split(".") as [string, string, string];
    const claims = decodeJwt(token);
    const tampered = Buffer.from(JSON.stringify({ ...claims, cnf: undefined })).toString("base64url");
    assert.equal((await call("/admin", NO_CERT, cookie(`${head}.${tampered}.${signature}`))).status, 403);
    assert.equal((await call("/admin", NO_CERT, cookie(`${head}.${body}.x${signature}`))).status, 403);

    // Tokens the edge did not issue for this app, now: other aud, other issuer, expired, unknown key.
    const sign = (key: { kid: string; privateKeyPem: string }, overrides: Record<string, unknown>) =>
      new SignJWT({
        type: "app",
        aud: ["a".repeat(64)],
        iss: `https://${HOST}`,
        exp: Date.now() / 1000 + 60,
        ...overrides,
      })
        .setProtectedHeader({ alg: "RS256", kid: key.kid })
        .sign(createPrivateKey(key.privateKeyPem));
    const signing = access.signing as { kid: string; privateKeyPem: string };
    const ok = await sign(signing, {});
    assert.equal((await call("/admin", NO_CERT, cookie(ok))).status, null, "an unbound valid session passes");
    for (const bad of [
      await sign(signing, { aud: ["b".repeat(64)] }),
      await sign(signing, { iss: "https://evil.example" }),
      await sign(signing, { exp: Math.floor(Date.now() / 1000) - 1 }),
      await sign({ kid: foreignKey.key.kid, privateKeyPem: foreignKey.privateKeyPem }, {}),
      await sign({ kid: signing.kid, privateKeyPem: foreignKey.privateKeyPem }, {}),
    ]) {
      assert.equal((await call("/admin", NO_CERT, cookie(bad))).status, 403);
    }
  });

  test("0s: every request is checked, even with a fresh cookie", async () => {
    const first = await call("/live", james);
    assert.ok(first.cookie);
    const claims = decodeJwt(first.cookie);
    assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 60, "the origin can still verify the assertion");
    const again = await call("/live", NO_CERT, { cookie: `CF_Authorization=${first.cookie}` });
    assert.equal(again.status, 403);
  });

  test("service tokens: the right secret (Service Auth), not a wrong or expired one; bypass", async () => {
    const robot = await call("/admin", NO_CERT, {
      "cf-access-client-id": "robot.access",
      "cf-access-client-secret": "s3cret",
    });
    assert.equal(robot.status, null);
    assert.equal(robot.headers["cf-access-client-secret"], undefined, "the secret does not reach the origin");
    const claims = decodeJwt(robot.cookie as string);
    assert.equal(claims.common_name, "robot.access");
    assert.equal(claims.cnf, undefined);
    const wrong = { "cf-access-client-id": "robot.access", "cf-access-client-secret": "guess" };
    assert.equal((await call("/admin", NO_CERT, wrong)).status, 403);
    const expired = { "cf-access-client-id": "old.access", "cf-access-client-secret": "s3cret" };
    assert.equal((await call("/admin", NO_CERT, expired)).status, 403);

    const office = await call("/admin", NO_CERT, {}, "::ffff:192.0.2.9");
    assert.equal(office.status, null);
    assert.equal(office.cookie, undefined, "bypass: no session");
    assert.equal(office.assertion, undefined);
  });
});

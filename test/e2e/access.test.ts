/**
 * Access end to end with `portcullis up` and curl: the seed's Access mTLS flow word for word (seed 002:
 * the cfssl CA and "James Royal" client made with `portcullis pki`, the Root CA uploaded with its FQDN,
 * a Service Auth policy, `curl -sv https://auth.example.com` → 403, with `--cert example.pem --key key.pem`
 * → 200 and a CF_Authorization cookie), the JWT checked with jose against the host's JWKS, a wrong common
 * name, sessions (reuse, expiry, replay without or with another certificate), revocation through the
 * managed CA, and service tokens.
 */
import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { makeCa, makeCsr, makeServerCert } from "../helpers/openssl-pki.ts";
import { freePort } from "../helpers/openssl-server.ts";
import { missingPeer } from "../helpers/peers.ts";
import { REPO_ROOT, shell, tempDir } from "../helpers/run.ts";
import { apiClient, listen, type Started, startUp, waitFor } from "../helpers/up.ts";

const HOST = "auth.example.com";
const FIXTURES = join(REPO_ROOT, "test/fixtures/tutorial");

interface Answer {
  status: number;
  headers: Record<string, string[]>;
  body: string;
}

/** Runs a curl command line (the seed's words, plus where the edge listens and which CA signed it). */
async function curl(cwd: string, where: string, commandLine: string): Promise<Answer> {
  const result = await shell(`${commandLine} ${where}`, { cwd });
  assert.equal(result.code, 0, `${commandLine}: ${result.stderr}`);
  const headers: Record<string, string[]> = {};
  let status = 0;
  for (const line of result.stderr.split("\n")) {
    const statusLine = /^< HTTP\/[\d.]+ (\d{3})/.exec(line);
    if (statusLine) status = Number(statusLine[1]);
    const header = /^< ([\w-]+): (.*?)\r?$/.exec(line);
    if (header) {
      const name = (header[1] as string).toLowerCase();
      headers[name] = [...(headers[name] ?? []), header[2] as string];
    }
  }
  return { status, headers, body: result.stdout };
}

/** The origin: answers with the request headers it got, and sets a cookie of its own. */
async function startOrigin(): Promise<{ url: string; stop(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/json", "set-cookie": "origin=1; Path=/" });
    res.end(JSON.stringify({ headers: req.headers }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sessionCookie(answer: Answer): string | undefined {
  const line = answer.headers["set-cookie"]?.find((value) => value.startsWith("CF_Authorization="));
  return line?.slice("CF_Authorization=".length).split(";")[0];
}

test("Access: the seed's mTLS flow, the JWT against the JWKS, sessions, revocation, service tokens", {
  skip: missingPeer("curl", "openssl"),
  timeout: 180_000,
}, async () => {
  const { path: dir, cleanup } = await tempDir();
  let up: Started | undefined;
  const origin = await startOrigin();
  try {
    const edgePort = await freePort();
    const apiPort = await freePort();
    // Two edge workers: the config (keys, policies) crosses to worker processes; sessions work across them.
    up = await startUp(["--data", join(dir, "data"), "--workers", "2", ...listen(edgePort, apiPort)]);
    const api = apiClient(apiPort);

    // The site: zone example.com, hostname auth.example.com with a server certificate, no mTLS of its own.
    const account = (await api("POST", "/accounts", { name: "widgetcorp" })).result;
    const zone = (await api("POST", "/zones", { name: "example.com", account: { id: account.id } })).result;
    await makeCa(dir, "server-ca");
    const server = await makeServerCert(dir, "server", { issuer: "server-ca", san: `DNS:${HOST}` });
    const serverCert = await api("POST", `/accounts/${account.id}/mtls_certificates`, {
      certificates: await readFile(server.certPath, "utf8"),
      private_key: await readFile(server.keyPath, "utf8"),
      ca: false,
    });
    assert.equal(serverCert.status, 200, JSON.stringify(serverCert));
    const hostname = await api("POST", `/zones/${zone.id}/hostnames`, {
      hostname: HOST,
      server_certificate_id: serverCert.result.id,
      origin: { url: origin.url },
    });
    assert.equal(hostname.status, 200, JSON.stringify(hostname));
    const where = `--connect-to ${HOST}:443:127.0.0.1:${edgePort} --cacert ${join(dir, "server-ca.pem")}`;

    // The seed's PKI: the Root CA and James Royal's client certificate (cfssl → portcullis pki).
    const caDir = join(dir, "mtls-test");
    const clientDir = join(dir, "client");
    await mkdir(caDir);
    await mkdir(clientDir);
    for (const name of ["ca-csr.json", "ca-config.json"])
      await copyFile(join(FIXTURES, name), join(caDir, name));
    await copyFile(join(FIXTURES, "client-csr.json"), join(clientDir, "client-csr.json"));
    const initca = await shell("portcullis pki gencert -initca ca-csr.json | portcullis pki json -bare ca", {
      cwd: caDir,
    });
    assert.equal(initca.code, 0, initca.stderr);
    const gencert = (csr: string, out: string) =>
      shell(
        `portcullis pki gencert -ca=../mtls-test/ca.pem -ca-key=../mtls-test/ca-key.pem -config=../mtls-test/ca-config.json -profile=client ${csr} | portcullis pki json -bare ${out}`,
        { cwd: clientDir },
      );
    assert.equal((await gencert("client-csr.json", "client")).code, 0);
    // The seed's curl names them example.pem and key.pem.
    await copyFile(join(clientDir, "client.pem"), join(clientDir, "example.pem"));
    await copyFile(join(clientDir, "client-key.pem"), join(clientDir, "key.pem"));
    // Someone else, from the same CA.
    const other = JSON.parse(await readFile(join(FIXTURES, "client-csr.json"), "utf8"));
    await writeFile(join(clientDir, "other-csr.json"), JSON.stringify({ ...other, CN: "Someone Else" }));
    assert.equal((await gencert("other-csr.json", "other")).code, 0);

    // Add the Root CA with the FQDN, an application, and a Service Auth policy on the Common Name.
    const certificate = await api("POST", `/accounts/${account.id}/access/certificates`, {
      name: "Access Testing CA",
      certificate: await readFile(join(caDir, "ca.pem"), "utf8"),
      associated_hostnames: [HOST],
    });
    assert.equal(certificate.status, 200, JSON.stringify(certificate));
    const app = (
      await api("POST", `/accounts/${account.id}/access/apps`, {
        domain: HOST,
        name: "IoT",
        type: "self_hosted",
        session_duration: "0s", // "no duration, expires immediately": the certificate is checked on every request
      })
    ).result;
    const policies = `/accounts/${account.id}/access/apps/${app.id}/policies`;
    const policy = await api("POST", policies, {
      name: "James",
      decision: "non_identity",
      include: [{ common_name: { common_name: "James Royal" } }],
    });
    assert.equal(policy.status, 200, JSON.stringify(policy));

    // curl -sv https://auth.example.com: no client certificate → 403.
    await waitFor(async () => (await curl(clientDir, where, `curl -sv https://${HOST}`)).status === 403);
    const denied = await curl(clientDir, where, `curl -sv https://${HOST}`);
    assert.equal(denied.status, 403);
    assert.equal(denied.headers["x-portcullis-reason"]?.[0], "access_denied");
    assert.equal(sessionCookie(denied), undefined);

    // With the client certificate → 200 and a CF_Authorization Set-Cookie.
    const allowed = await curl(clientDir, where, `curl -sv https://${HOST} --cert example.pem --key key.pem`);
    assert.equal(allowed.status, 200, allowed.body);
    const cookieLine =
      allowed.headers["set-cookie"]?.find((line) => line.startsWith("CF_Authorization=")) ?? "";
    assert.match(
      cookieLine,
      /^CF_Authorization=[\w-]+\.[\w-]+\.[\w-]+; HttpOnly; Secure; SameSite=Lax; Path=\/$/,
    );
    assert.ok(allowed.headers["set-cookie"]?.includes("origin=1; Path=/"), "the origin's own cookie too");
    // The same over HTTP/1.1.
    const http1 = await curl(
      clientDir,
      where,
      `curl -sv --http1.1 https://${HOST} --cert example.pem --key key.pem`,
    );
    assert.equal(http1.status, 200);
    assert.ok(sessionCookie(http1));
    assert.equal(http1.headers["set-cookie"]?.length, 2);
    const jwt = sessionCookie(allowed) as string;
    const seen = JSON.parse(allowed.body);
    assert.equal(seen.headers["cf-access-jwt-assertion"], jwt, "the origin gets the same JWT");

    // The JWT verifies with jose against the JWKS the host publishes.
    const certs = await curl(clientDir, where, `curl -sv https://${HOST}/cdn-cgi/access/certs`);
    assert.equal(certs.status, 200);
    const document = JSON.parse(certs.body);
    assert.equal(document.keys[0].alg, "RS256");
    assert.equal(document.keys[0].use, "sig");
    assert.equal(document.public_cert.kid, document.keys[0].kid);
    assert.deepEqual(document.public_certs, [document.public_cert]);
    new X509Certificate(document.public_cert.cert); // a real certificate
    assert.equal(decodeProtectedHeader(jwt).kid, document.keys[0].kid);
    const aud = app.aud as string;
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(document), {
      audience: aud,
      issuer: `https://${HOST}`,
      algorithms: ["RS256"],
    });
    assert.equal(payload.type, "app");
    assert.equal(typeof payload.identity_nonce, "string");
    assert.equal(payload.common_name, "James Royal");
    const der = new X509Certificate(await readFile(join(clientDir, "example.pem"))).raw;
    assert.deepEqual(payload.cnf, { "x5t#S256": createHash("sha256").update(der).digest("base64url") });
    assert.ok((payload.nbf ?? 0) <= (payload.iat ?? 0) && (payload.exp ?? 0) > (payload.iat ?? 0));
    // A client's own assertion never reaches the origin.
    const forged = await curl(
      clientDir,
      where,
      `curl -sv https://${HOST} --cert example.pem --key key.pem -H 'Cf-Access-Jwt-Assertion: forged'`,
    );
    assert.notEqual(JSON.parse(forged.body).headers["cf-access-jwt-assertion"], "forged");

    // A certificate with the wrong common name → 403.
    const wrong = await curl(
      clientDir,
      where,
      `curl -sv https://${HOST} --cert other.pem --key other-key.pem`,
    );
    assert.equal(wrong.status, 403);
    // With "0s", the cookie is never taken back: without the certificate it is refused.
    const noReuse = await curl(
      clientDir,
      where,
      `curl -sv https://${HOST} -H 'Cookie: CF_Authorization=${jwt}'`,
    );
    assert.equal(noReuse.status, 403);

    // Sessions of 2 s: the cookie is reused while valid, only with the certificate it was bound to.
    assert.equal(
      (
        await api("PUT", `/accounts/${account.id}/access/apps/${app.id}`, {
          domain: HOST,
          session_duration: "2s",
        })
      ).status,
      200,
    );
    let session = "";
    await waitFor(async () => {
      const first = await curl(clientDir, where, `curl -sv https://${HOST} --cert example.pem --key key.pem`);
      const token = sessionCookie(first);
      if (!token) return false;
      const exp = (await jwtVerify(token, createLocalJWKSet(document))).payload.exp ?? 0;
      session = token;
      return exp - ((await jwtVerify(token, createLocalJWKSet(document))).payload.iat ?? 0) === 2;
    });
    const cookie = `-H 'Cookie: CF_Authorization=${session}'`;
    const reused = await curl(
      clientDir,
      where,
      `curl -sv https://${HOST} --cert example.pem --key key.pem ${cookie}`,
    );
    assert.equal(reused.status, 200);
    assert.equal(sessionCookie(reused), undefined, "a valid session is reused, not re-issued");
    assert.equal(JSON.parse(reused.body).headers["cf-access-jwt-assertion"], session);
    const replayed = await curl(clientDir, where, `curl -sv https://${HOST} ${cookie}`);
    assert.equal(replayed.status, 403, "the cookie without its certificate is refused");
    const otherCert = await curl(
      clientDir,
      where,
      `curl -sv https://${HOST} --cert other.pem --key other-key.pem ${cookie}`,
    );
    assert.equal(otherCert.status, 403, "the cookie with another valid certificate is refused");
    await new Promise((resolve) => setTimeout(resolve, 2200));
    const expired = await curl(
      clientDir,
      where,
      `curl -sv https://${HOST} --cert example.pem --key key.pem ${cookie}`,
    );
    assert.equal(expired.status, 200);
    assert.ok(sessionCookie(expired), "an expired session is checked again and re-issued");
    assert.notEqual(sessionCookie(expired), session);

    // A device with a certificate from the zone's managed CA; revoked through the API → refused.
    assert.equal(
      (
        await api("PUT", `/zones/${zone.id}/certificate_authorities/hostname_associations`, {
          hostnames: [HOST],
        })
      ).status,
      200,
    );
    const csr = await makeCsr(clientDir, "device", "/CN=device-1");
    const issued = await api("POST", `/zones/${zone.id}/client_certificates`, { csr, validity_days: 30 });
    assert.equal(issued.status, 200, JSON.stringify(issued));
    await writeFile(join(clientDir, "device.pem"), issued.result.certificate as string);
    await api("POST", policies, {
      name: "devices",
      decision: "non_identity",
      include: [{ common_name: { common_name: "device-1" } }],
    });
    const device = `curl -sv https://${HOST} --cert device.pem --key device-key.pem`;
    await waitFor(async () => (await curl(clientDir, where, device)).status === 200);
    const deviceSession = sessionCookie(await curl(clientDir, where, device)) as string;
    assert.ok(deviceSession);
    const revoked = await api("DELETE", `/zones/${zone.id}/client_certificates/${issued.result.id}`);
    assert.equal(revoked.status, 200);
    await new Promise((resolve) => setTimeout(resolve, 2200)); // the session expires: the certificate is checked again
    await waitFor(
      async () =>
        (await curl(clientDir, where, `${device} -H 'Cookie: CF_Authorization=${deviceSession}'`)).status ===
        403,
    );

    // Service tokens: the right secret is let in (Service Auth), a wrong one is not.
    const token = (await api("POST", `/accounts/${account.id}/access/service_tokens`, { name: "ci" }))
      .result as unknown as { id: string; client_id: string; client_secret: string };
    await api("POST", policies, {
      name: "ci",
      decision: "non_identity",
      include: [{ service_token: { token_id: token.id } }],
    });
    const headers = (secret: string) =>
      `curl -sv https://${HOST} -H 'CF-Access-Client-Id: ${token.client_id}' -H 'CF-Access-Client-Secret: ${secret}'`;
    await waitFor(async () => (await curl(clientDir, where, headers(token.client_secret))).status === 200);
    const robot = await curl(clientDir, where, headers(token.client_secret));
    const robotJwt = sessionCookie(robot) as string;
    const robotClaims = (await jwtVerify(robotJwt, createLocalJWKSet(document), { audience: aud })).payload;
    assert.equal(robotClaims.common_name, token.client_id);
    assert.equal(robotClaims.cnf, undefined);
    assert.equal(
      JSON.parse(robot.body).headers["cf-access-client-secret"],
      undefined,
      "the secret stays at the edge",
    );
    const refused = await curl(clientDir, where, headers("0".repeat(64)));
    assert.equal(refused.status, 403);
  } finally {
    await up?.stop();
    await origin.stop();
    await cleanup();
  }
});

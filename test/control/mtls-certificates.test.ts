/** Uploading, checking, listing and deleting account mTLS certificates; hostname associations. */
import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { x509 } from "../../src/pki/x509.ts";
import {
  assertError,
  assertOk,
  createAccountAndZone,
  type Harness,
  makePki,
  type Pki,
  startHarness,
} from "./helpers.ts";

async function expiredCaPem(): Promise<string> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=Expired CA",
    notBefore: new Date("2020-01-01T00:00:00Z"),
    notAfter: new Date("2021-01-01T00:00:00Z"),
    keys,
    signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  return cert.toString("pem");
}

describe("mtls_certificates", () => {
  let h: Harness;
  let pki: Pki;
  let accountId: string;
  let zoneId: string;
  let base: string;
  before(async () => {
    h = await startHarness({ caQuota: 3 });
    pki = await makePki(h.dir);
    ({ accountId, zoneId } = await createAccountAndZone(h));
    base = `/accounts/${accountId}/mtls_certificates`;
  });
  after(() => h.close());

  test("a CA made by openssl uploads with Cloudflare's exact fields", async () => {
    const reply = await h.call("POST", base, { body: { name: "root", certificates: pki.caPem, ca: true } });
    assertOk(reply);
    assert.deepEqual(Object.keys(reply.result).sort(), [
      "ca",
      "certificates",
      "expires_on",
      "id",
      "issuer",
      "name",
      "serial_number",
      "signature",
      "updated_at",
      "uploaded_on",
    ]);
    assert.equal(reply.result.ca, true);
    assert.equal(reply.result.issuer, "CN=root");
    assert.equal(reply.result.signature, "ECDSAWithSHA256");
    assert.match(reply.result.serial_number, /^\d+$/);
    assert.match(reply.result.expires_on, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(reply.result.certificates, pki.caPem);
    const got = await h.call("GET", `${base}/${reply.result.id}`);
    assertOk(got);
    assert.deepEqual(got.result, reply.result);
  });

  test("a leaf with its chain and key uploads; the key is never returned", async () => {
    const certificates = pki.leafPem + pki.intermediatePem;
    const reply = await h.call("POST", base, {
      body: { name: "leaf", certificates, private_key: pki.leafKeyPem, ca: false },
    });
    assertOk(reply);
    assert.equal(reply.result.issuer, "CN=intermediate");
    assert.ok(!JSON.stringify(reply.body).includes("PRIVATE KEY"));
    const list = await h.call("GET", base);
    assert.ok(!JSON.stringify(list.body).includes("PRIVATE KEY"));
    const audit = await h.call("GET", "/audit_logs?action=mtls_certificate.create");
    assert.ok(!JSON.stringify(audit.body).includes("PRIVATE KEY"));
  });

  test("each bad upload is a 400 that says what is wrong", async () => {
    const bad = async (body: Record<string, unknown>, message: RegExp) =>
      assertError(await h.call("POST", base, { body: { ca: false, ...body } }), 400, message);
    await bad({ certificates: "hello" }, /^certificates: expected PEM text/);
    await bad(
      { certificates: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" },
      /^certificates: certificate #1 is not a valid X.509 certificate/,
    );
    await bad(
      { certificates: pki.intermediatePem + pki.leafPem },
      /^certificates: certificate #2 did not issue certificate #1$/,
    );
    await bad(
      { certificates: pki.leafPem, ca: true },
      /^certificates: certificate #1 is not a CA certificate/,
    );
    await bad(
      { certificates: pki.leafPem + pki.intermediatePem, private_key: pki.otherKeyPem },
      /^private_key: does not match the public key of certificate #1$/,
    );
    await bad({ certificates: pki.leafPem, private_key: "not a key" }, /^private_key: /);
    await bad(
      { certificates: await expiredCaPem(), ca: true },
      /^certificates: certificate #1 .*expired on 2021-01-01/,
    );
  });

  test("the per-account CA quota answers 1489", async () => {
    const count = (await h.call("GET", `${base}?ca=true`)).result.length;
    for (let i = count; i < 3; i++) {
      assertOk(await h.call("POST", base, { body: { certificates: pki.caPem, ca: true } }));
    }
    const over = await h.call("POST", base, { body: { certificates: pki.caPem, ca: true } });
    assertError(over, 400, "Hit maximum CA cert allocation.");
    assert.equal(over.body.errors[0]?.code, 1489);
  });

  test("list filters by ca and name", async () => {
    const cas = await h.call("GET", `${base}?ca=true`);
    assertOk(cas);
    assert.ok(cas.result.length >= 1 && cas.result.every((c: { ca: boolean }) => c.ca));
    assert.equal(cas.body.result_info?.count, cas.result.length);
    const named = await h.call("GET", `${base}?name=leaf`);
    assert.deepEqual(
      named.result.map((c: { name: string }) => c.name),
      ["leaf"],
    );
    const paged = await h.call("GET", `${base}?per_page=1&page=2`);
    assert.equal(paged.result.length, 1);
    assert.equal(paged.body.result_info?.page, 2);
    assert.ok((paged.body.result_info?.total_count ?? 0) >= 2);
  });

  test("associations round trip, and delete is refused while in use", async () => {
    const ca = await h.call("POST", base, { body: { name: "assoc", certificates: pki.caPem, ca: false } });
    assertOk(ca);
    const assoc = `/zones/${zoneId}/certificate_authorities/hostname_associations`;
    assertError(
      await h.call("PUT", assoc, {
        body: { hostnames: ["a.example.test"], mtls_certificate_id: ca.result.id },
      }),
      400,
      /^body.mtls_certificate_id: .* is not a CA/,
    );
    const root = (await h.call("GET", `${base}?name=root`)).result[0];
    assertError(
      await h.call("PUT", assoc, { body: { hostnames: ["a.other.test"], mtls_certificate_id: root.id } }),
      400,
      'body.hostnames[0]: "a.other.test" is not in zone example.test',
    );
    assertError(
      await h.call("PUT", assoc, { body: { hostnames: ["bad..name"], mtls_certificate_id: root.id } }),
      400,
      /^body.hostnames\[0\]: .*not a valid host name/,
    );
    const put = await h.call("PUT", assoc, {
      body: { hostnames: ["API.example.test", "*.example.test"], mtls_certificate_id: root.id },
    });
    assertOk(put);
    assert.deepEqual(put.result, { hostnames: ["api.example.test", "*.example.test"] });
    const got = await h.call("GET", `${assoc}?mtls_certificate_id=${root.id}`);
    assertOk(got);
    assert.deepEqual([...got.result.hostnames].sort(), ["*.example.test", "api.example.test"]);
    const managed = await h.call("GET", assoc);
    assert.deepEqual(managed.result.hostnames, []);
    const associations = await h.call("GET", `${base}/${root.id}/associations`);
    assertOk(associations);
    assert.deepEqual(associations.result, [
      { service: "*.example.test", status: "active" },
      { service: "api.example.test", status: "active" },
    ]);

    const refused = await h.call("DELETE", `${base}/${root.id}`);
    assertError(refused, 409, /in use by .*hostname association api\.example\.test/);

    assertOk(await h.call("PUT", assoc, { body: { hostnames: [], mtls_certificate_id: root.id } }));
    assert.deepEqual((await h.call("GET", `${assoc}?mtls_certificate_id=${root.id}`)).result.hostnames, []);
    const deleted = await h.call("DELETE", `${base}/${root.id}`);
    assertOk(deleted);
    assert.equal(deleted.result.id, root.id);
    assertError(await h.call("GET", `${base}/${root.id}`), 404);
  });

  test("a certificate of another account is not found through this one", async () => {
    const other = await createAccountAndZone(h, "elsewhere.test");
    const mine = (await h.call("GET", base)).result[0];
    assertError(await h.call("GET", `/accounts/${other.accountId}/mtls_certificates/${mine.id}`), 404);
  });
});

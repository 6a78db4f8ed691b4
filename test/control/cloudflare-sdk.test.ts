/**
 * Cloudflare's own npm SDK, pointed at Portcullis, manages mTLS certificates, hostname associations,
 * managed client certificates and authenticated origin pulls.
 */
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Cloudflare from "cloudflare";
import { makeClientCert, makeCsr } from "../helpers/openssl-pki.ts";
import { createAccountAndZone, type Harness, makePki, type Pki, startHarness } from "./helpers.ts";

describe("the cloudflare SDK", () => {
  let h: Harness;
  let pki: Pki;
  let cf: Cloudflare;
  let account_id: string;
  let zone_id: string;
  before(async () => {
    h = await startHarness();
    pki = await makePki(h.dir);
    ({ accountId: account_id, zoneId: zone_id } = await createAccountAndZone(h));
    cf = new Cloudflare({ apiToken: h.adminToken, baseURL: `${h.url}/client/v4`, maxRetries: 0 });
  });
  after(() => h.close());

  test("verifies its token", async () => {
    const verified = await cf.user.tokens.verify();
    assert.equal(verified.status, "active");
  });

  test("mtlsCertificates create/list/get/delete and hostnameAssociations update/get", async () => {
    const created = await cf.mtlsCertificates.create({
      account_id,
      ca: true,
      certificates: pki.caPem,
      name: "sdk-root",
    });
    assert.equal(created.ca, true);
    assert.equal(created.name, "sdk-root");
    assert.equal(created.issuer, "CN=root");

    const listed = [];
    for await (const certificate of cf.mtlsCertificates.list({ account_id })) listed.push(certificate);
    assert.deepEqual(
      listed.map((certificate) => certificate.id),
      [created.id],
    );

    const got = await cf.mtlsCertificates.get(created.id as string, { account_id });
    assert.equal(got.serial_number, created.serial_number);

    const updated = await cf.certificateAuthorities.hostnameAssociations.update({
      zone_id,
      hostnames: ["api.example.test"],
      mtls_certificate_id: created.id as string,
    });
    assert.deepEqual(updated.hostnames, ["api.example.test"]);
    const associations = await cf.certificateAuthorities.hostnameAssociations.get({
      zone_id,
      mtls_certificate_id: created.id as string,
    });
    assert.deepEqual(associations.hostnames, ["api.example.test"]);

    const usedBy = [];
    for await (const association of cf.mtlsCertificates.associations.get(created.id as string, {
      account_id,
    })) {
      usedBy.push(association);
    }
    assert.deepEqual(usedBy, [{ service: "api.example.test", status: "active" }]);

    await assert.rejects(cf.mtlsCertificates.delete(created.id as string, { account_id }), (err: unknown) => {
      assert.ok(err instanceof Cloudflare.APIError);
      assert.equal(err.status, 409);
      assert.match(err.message, /in use/);
      return true;
    });
    await cf.certificateAuthorities.hostnameAssociations.update({
      zone_id,
      hostnames: [],
      mtls_certificate_id: created.id as string,
    });
    const deleted = await cf.mtlsCertificates.delete(created.id as string, { account_id });
    assert.equal(deleted.id, created.id);
    await assert.rejects(
      cf.mtlsCertificates.get(created.id as string, { account_id }),
      Cloudflare.NotFoundError,
    );
  });

  test("SDK errors carry our envelope's message", async () => {
    await assert.rejects(
      cf.mtlsCertificates.create({ account_id, ca: true, certificates: pki.leafPem }),
      (err: unknown) => {
        assert.ok(err instanceof Cloudflare.BadRequestError);
        assert.match(err.message, /certificate #1 is not a CA certificate/);
        return true;
      },
    );
    const bad = new Cloudflare({ apiToken: "pct_wrong", baseURL: `${h.url}/client/v4`, maxRetries: 0 });
    await assert.rejects(bad.user.tokens.verify(), Cloudflare.AuthenticationError);
  });
  test("clientCertificates create/list/get/delete/edit through the managed CA", async () => {
    const csr = await makeCsr(h.dir, "sdk-client", "/C=DE/O=Acme/CN=sdk-client");
    const keyPath = join(h.dir, "sdk-client-key.pem");

    const created = await cf.clientCertificates.create({ zone_id, csr, validity_days: 30 });
    assert.equal(created.status, "active");
    assert.equal(created.common_name, "sdk-client");
    assert.equal(created.organization, "Acme");
    assert.equal(created.country, "DE");
    assert.equal(created.validity_days, 30);
    assert.match(created.certificate_authority?.id ?? "", /^[0-9a-f]{32}$/);
    const issued = new X509Certificate(created.certificate as string);
    assert.match(issued.subject, /CN=sdk-client/);
    assert.ok(issued.checkPrivateKey(createPrivateKey(await readFile(keyPath))), "it carries the CSR's key");

    const listed = [];
    for await (const certificate of cf.clientCertificates.list({ zone_id })) listed.push(certificate);
    assert.deepEqual(
      listed.map((certificate) => certificate.id),
      [created.id],
    );

    const got = await cf.clientCertificates.get(created.id as string, { zone_id });
    assert.equal(got.serial_number, created.serial_number);
    assert.equal(got.fingerprint_sha256, created.fingerprint_sha256);

    const revoked = await cf.clientCertificates.delete(created.id as string, { zone_id });
    assert.equal(revoked.id, created.id);
    assert.equal(revoked.status, "pending_revocation");
    const pending = [];
    for await (const certificate of cf.clientCertificates.list({ zone_id, status: "pending_revocation" })) {
      pending.push(certificate.id);
    }
    assert.deepEqual(pending, [created.id]);
    const active = [];
    for await (const certificate of cf.clientCertificates.list({ zone_id, status: "active" })) {
      active.push(certificate.id);
    }
    assert.deepEqual(active, []);

    const reactivated = await cf.clientCertificates.edit(created.id as string, { zone_id, reactivate: true });
    assert.equal(reactivated.status, "pending_reactivation");
    assert.equal(
      (await cf.clientCertificates.get(created.id as string, { zone_id })).status,
      "pending_reactivation",
    );

    await assert.rejects(
      cf.clientCertificates.create({ zone_id, csr: "not a csr", validity_days: 30 }),
      (err: unknown) => {
        assert.ok(err instanceof Cloudflare.BadRequestError);
        assert.match(err.message, /body\.csr/);
        return true;
      },
    );
    await assert.rejects(cf.clientCertificates.get("0".repeat(32), { zone_id }), Cloudflare.NotFoundError);
  });

  test("originTLSClientAuth: zone certificates, settings, hostname certificates and hostnames", async () => {
    const aop = cf.originTLSClientAuth;
    const zoneCert = await aop.zoneCertificates.create({
      zone_id,
      certificate: pki.leafPem,
      private_key: pki.leafKeyPem,
    });
    assert.equal(zoneCert.status, "active");
    assert.equal(zoneCert.issuer, "CN=intermediate");
    assert.equal(zoneCert.private_key, undefined);
    const zoneList = [];
    for await (const certificate of aop.zoneCertificates.list({ zone_id })) zoneList.push(certificate.id);
    assert.deepEqual(zoneList, [zoneCert.id]);
    assert.equal(
      (await aop.zoneCertificates.get(zoneCert.id as string, { zone_id })).expires_on,
      zoneCert.expires_on,
    );
    // the deprecated top-level methods reach the same resource
    assert.equal((await aop.get(zoneCert.id as string, { zone_id })).id, zoneCert.id);
    const legacyList = [];
    for await (const certificate of aop.list({ zone_id })) legacyList.push(certificate.id);
    assert.deepEqual(legacyList, [zoneCert.id]);

    assert.deepEqual(await aop.settings.get({ zone_id }), { enabled: false });
    assert.deepEqual(await aop.settings.update({ zone_id, enabled: true }), { enabled: true });
    assert.equal((await aop.settings.get({ zone_id })).enabled, true);

    const host = await makeClientCert(h.dir, "sdk-aop-host", { issuer: "root" });
    const hostCert = await aop.hostnameCertificates.create({
      zone_id,
      certificate: await readFile(host.certPath, "utf8"),
      private_key: await readFile(host.keyPath, "utf8"),
    });
    assert.equal(hostCert.issuer, "CN=root");
    assert.match(hostCert.serial_number ?? "", /^\d+$/);
    const hostList = [];
    for await (const certificate of aop.hostnameCertificates.list({ zone_id })) hostList.push(certificate.id);
    assert.deepEqual(hostList, [hostCert.id]);
    assert.equal(
      (await aop.hostnameCertificates.get(hostCert.id as string, { zone_id })).serial_number,
      hostCert.serial_number,
    );

    const updated = [];
    for await (const association of aop.hostnames.update({
      zone_id,
      config: [{ hostname: "aop.example.test", cert_id: hostCert.id as string, enabled: true }],
    })) {
      updated.push(association);
    }
    assert.equal(updated.length, 1);
    assert.equal(updated[0]?.hostname, "aop.example.test");
    assert.equal(updated[0]?.cert_id, hostCert.id);
    assert.equal(updated[0]?.enabled, true);
    const association = await aop.hostnames.get("aop.example.test", { zone_id });
    assert.equal(association.cert_id, hostCert.id);
    assert.equal(association.enabled, true);
    assert.equal(association.serial_number, hostCert.serial_number);

    await assert.rejects(
      aop.hostnameCertificates.delete(hostCert.id as string, { zone_id }),
      (err: unknown) => {
        assert.ok(err instanceof Cloudflare.ConflictError);
        assert.match(err.message, /enabled: null first/);
        return true;
      },
    );
    const voided = [];
    for await (const item of aop.hostnames.update({
      zone_id,
      config: [{ hostname: "aop.example.test", cert_id: hostCert.id as string, enabled: null }],
    })) {
      voided.push(item.enabled);
    }
    assert.deepEqual(voided, [null]);
    await assert.rejects(aop.hostnames.get("aop.example.test", { zone_id }), Cloudflare.NotFoundError);
    assert.equal((await aop.hostnameCertificates.delete(hostCert.id as string, { zone_id })).id, hostCert.id);

    await assert.rejects(
      aop.zoneCertificates.create({ zone_id, certificate: pki.leafPem, private_key: pki.otherKeyPem }),
      (err: unknown) => {
        assert.ok(err instanceof Cloudflare.BadRequestError);
        assert.match(err.message, /private_key: does not match/);
        return true;
      },
    );
    assert.equal((await aop.zoneCertificates.delete(zoneCert.id as string, { zone_id })).id, zoneCert.id);
    await assert.rejects(
      aop.zoneCertificates.get(zoneCert.id as string, { zone_id }),
      Cloudflare.NotFoundError,
    );
    assert.deepEqual(await aop.settings.update({ zone_id, enabled: false }), { enabled: false });
  });
});

/** Cloudflare's own npm SDK, pointed at Portcullis, manages mTLS certificates and hostname associations. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Cloudflare from "cloudflare";
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
});

/** Cloudflare's own npm SDK, pointed at Portcullis, manages Access: certificates, settings, apps, policies, service tokens. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Cloudflare from "cloudflare";
import { createAccountAndZone, type Harness, makePki, type Pki, startHarness } from "./helpers.ts";

describe("the cloudflare SDK on Access", () => {
  let h: Harness;
  let pki: Pki;
  let cf: Cloudflare;
  let account_id: string;
  before(async () => {
    h = await startHarness();
    pki = await makePki(h.dir);
    ({ accountId: account_id } = await createAccountAndZone(h, "example.com"));
    cf = new Cloudflare({ apiToken: h.adminToken, baseURL: `${h.url}/client/v4`, maxRetries: 0 });
  });
  after(() => h.close());

  test("zeroTrust.access: certificates, settings, applications, policies, service tokens", async () => {
    const access = cf.zeroTrust.access;
    const certificate = await access.certificates.create({
      account_id,
      name: "Access Testing CA",
      certificate: pki.caPem,
      associated_hostnames: ["auth.example.com"],
    });
    assert.deepEqual(certificate.associated_hostnames, ["auth.example.com"]);
    const listed = [];
    for await (const item of access.certificates.list({ account_id })) listed.push(item);
    assert.deepEqual(
      listed.map((c) => c.id),
      [certificate.id],
    );
    const settings = [];
    for await (const setting of access.certificates.settings.update({
      account_id,
      settings: [{ hostname: "auth.example.com", china_network: false, client_certificate_forwarding: true }],
    }))
      settings.push(setting);
    assert.equal(settings[0]?.client_certificate_forwarding, true);

    const app = await access.applications.create({
      account_id,
      domain: "auth.example.com",
      name: "IoT",
      type: "self_hosted",
      session_duration: "0s",
    });
    assert.ok(app && "aud" in app && typeof app.aud === "string");
    const appId = (app as { id: string }).id;
    const token = await access.serviceTokens.create({ account_id, name: "ci", duration: "8760h" });
    assert.match(token.client_secret ?? "", /^[0-9a-f]{64}$/);
    const policy = await access.applications.policies.create(appId, {
      account_id,
      name: "devices",
      decision: "non_identity",
      include: [
        { common_name: { common_name: "James Royal" } },
        { service_token: { token_id: token.id ?? "" } },
      ],
    } as Parameters<typeof access.applications.policies.create>[1]);
    assert.equal(policy.decision, "non_identity");
    const got = await access.applications.get(appId, { account_id });
    assert.equal((got as { policies?: unknown[] }).policies?.length, 1);
    const tokens = [];
    for await (const item of access.serviceTokens.list({ account_id })) tokens.push(item);
    assert.equal(tokens.length, 1);
    assert.equal((tokens[0] as { client_secret?: string }).client_secret, undefined);

    const keys = await access.keys.update({ account_id, key_rotation_interval_days: 30 });
    assert.equal(keys.key_rotation_interval_days, 30);
    const rotated = await access.keys.rotate({ account_id });
    assert.equal(rotated.days_until_next_rotation, 30);
    assert.equal((await access.keys.get({ account_id })).key_rotation_interval_days, 30);
  });
});

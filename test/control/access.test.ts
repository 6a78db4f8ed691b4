/** `accounts/{id}/access/…`: Access CAs and their settings, apps, policies and service tokens, through the API. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { makeClientCert } from "../helpers/openssl-pki.ts";
import {
  assertError,
  assertOk,
  createAccountAndZone,
  type Harness,
  makePki,
  type Pki,
  startHarness,
} from "./helpers.ts";

describe("accounts/{account_id}/access", () => {
  let h: Harness;
  let accountId: string;
  let base: string;
  let pki: Pki;
  before(async () => {
    h = await startHarness();
    ({ accountId } = await createAccountAndZone(h, "example.com"));
    base = `/accounts/${accountId}/access`;
    pki = await makePki(h.dir);
  });
  after(() => h.close());

  test("certificates: a CA with its hostnames; a leaf is refused; one CA per hostname; settings", async () => {
    const created = await h.call("POST", `${base}/certificates`, {
      body: { name: "Access Testing CA", certificate: pki.caPem, associated_hostnames: ["Auth.Example.com"] },
    });
    assertOk(created);
    const der = new (await import("node:crypto")).X509Certificate(pki.caPem).raw;
    assert.equal(created.result.fingerprint, createHash("sha256").update(der).digest("hex"));
    assert.deepEqual(created.result.associated_hostnames, ["auth.example.com"]);
    assert.equal(typeof created.result.expires_on, "string");

    const leaf = await readFile(
      await makeClientCert(h.dir, "leaf2", { issuer: "root" }).then((c) => c.certPath),
      "utf8",
    );
    assertError(
      await h.call("POST", `${base}/certificates`, { body: { name: "leaf", certificate: leaf } }),
      400,
      /not a CA certificate/,
    );
    assertError(
      await h.call("POST", `${base}/certificates`, {
        body: { name: "again", certificate: pki.intermediatePem, associated_hostnames: ["auth.example.com"] },
      }),
      409,
      /already associated/,
    );
    assertError(
      await h.call("POST", `${base}/certificates`, {
        body: {
          name: "elsewhere",
          certificate: pki.intermediatePem,
          associated_hostnames: ["auth.other.org"],
        },
      }),
      400,
      /body\.associated_hostnames\[0\]: "auth\.other\.org" is not in a zone of this account/,
    );
    assertError(
      await h.call("POST", `${base}/certificates`, { body: { name: "same", certificate: pki.caPem } }),
      409,
      /already an Access certificate/,
    );

    const list = await h.call("GET", `${base}/certificates`);
    assert.equal(list.result.length, 1);
    const id = created.result.id;
    assertError(
      await h.call("DELETE", `${base}/certificates/${id}`),
      409,
      /associated with auth\.example\.com/,
    );
    const cleared = await h.call("PUT", `${base}/certificates/${id}`, { body: { associated_hostnames: [] } });
    assertOk(cleared);
    assert.deepEqual(cleared.result.associated_hostnames, []);
    assertOk(
      await h.call("PUT", `${base}/certificates/${id}`, {
        body: { associated_hostnames: ["auth.example.com"] },
      }),
    );

    const settings = await h.call("PUT", `${base}/certificates/settings`, {
      body: {
        settings: [
          { hostname: "auth.example.com", china_network: false, client_certificate_forwarding: true },
        ],
      },
    });
    assertOk(settings);
    assert.deepEqual((await h.call("GET", `${base}/certificates/settings`)).result, [
      { hostname: "auth.example.com", china_network: false, client_certificate_forwarding: true },
    ]);
    assertError(
      await h.call("PUT", `${base}/certificates/settings`, {
        body: { settings: [{ hostname: "auth.example.com", china_network: false }] },
      }),
      400,
      /client_certificate_forwarding: is required/,
    );
    const audit = await h.call("GET", "/audit_logs?action=access_certificate.create");
    assert.equal(audit.result.length, 1, JSON.stringify(audit.body));
  });

  test("apps: domain with a path, session duration default and checks, aud tag, CRUD", async () => {
    const created = await h.call("POST", `${base}/apps`, {
      body: { domain: "auth.example.com/admin", name: "Admin", type: "self_hosted" },
    });
    assertOk(created);
    const app = created.result;
    assert.equal(app.session_duration, "24h");
    assert.match(app.aud, /^[0-9a-f]{64}$/);
    assert.equal(app.domain, "auth.example.com/admin");
    assert.deepEqual(app.policies, []);
    assertError(
      await h.call("POST", `${base}/apps`, { body: { domain: "auth.example.com/admin" } }),
      409,
      /already exists/,
    );
    assertError(
      await h.call("POST", `${base}/apps`, {
        body: { domain: "auth.example.com/x", session_duration: "1d" },
      }),
      400,
      /body\.session_duration: "1d" is not a Go duration/,
    );
    assertError(
      await h.call("POST", `${base}/apps`, {
        body: { domain: "auth.example.com/x", session_duration: "800h" },
      }),
      400,
      /at most 730h/,
    );
    assertError(
      await h.call("POST", `${base}/apps`, { body: { domain: "auth.example.com/a?b" } }),
      400,
      /body\.domain: the path/,
    );
    assertError(
      await h.call("POST", `${base}/apps`, { body: { domain: "nope.test" } }),
      400,
      /not in a zone/,
    );
    assertError(
      await h.call("POST", `${base}/apps`, { body: { domain: "auth.example.com", type: "saas" } }),
      400,
      /body\.type: must be one of "self_hosted"/,
    );
    const put = await h.call("PUT", `${base}/apps/${app.id}`, {
      body: { domain: "auth.example.com/admin", session_duration: "0s" },
    });
    assertOk(put);
    assert.equal(put.result.session_duration, "0s");
    assert.equal(put.result.aud, app.aud, "the audience tag never changes");
    assert.equal((await h.call("GET", `${base}/apps`)).result.length, 1);

    // The account got a signing key with its first app.
    const keys = await h.store.access.listKeys(accountId);
    assert.equal(keys.length, 1);
    assert.match(keys[0]?.kid ?? "", /^[0-9a-f]{64}$/);
    assert.match((await h.store.access.keyPem(keys[0]?.kid ?? "")) ?? "", /BEGIN RSA PRIVATE KEY/);

    assertOk(await h.call("DELETE", `${base}/apps/${app.id}`));
    assertError(await h.call("GET", `${base}/apps/${app.id}`), 404, /not found/);
  });

  test("policies: every selector, normalized; unknown selector, bad CIDR, unknown token refused", async () => {
    const app = (await h.call("POST", `${base}/apps`, { body: { domain: "auth.example.com" } })).result;
    const token = await h.call("POST", `${base}/service_tokens`, { body: { name: "ci" } });
    assertOk(token);
    const policies = `${base}/apps/${app.id}/policies`;
    const created = await h.call("POST", policies, {
      body: {
        name: "devices",
        decision: "non_identity",
        include: [
          { certificate: {} },
          { common_name: { common_name: "James Royal" } },
          { service_token: { token_id: token.result.id } },
          { any_valid_service_token: {} },
          { ip: { ip: "10.0.0.0/8" } },
          { everyone: {} },
          { san: { dns: "device.example.com" } },
          { san: { email: "ops@example.com" } },
          { san: { uri: "spiffe://example.com/device" } },
          { issuer_ski: { ski: "ab:cd:ef" } },
          { certificate_fingerprint: { sha256: "AA".repeat(32) } },
          { certificate_serial: { serial: "00:0A:FF" } },
        ],
        exclude: [{ ip: { ip: "10.1.0.0/16" } }],
      },
    });
    assertOk(created);
    const include = created.result.include;
    assert.deepEqual(include[9], { issuer_ski: { ski: "ABCDEF" } });
    assert.deepEqual(include[10], { certificate_fingerprint: { sha256: "aa".repeat(32) } });
    assert.deepEqual(include[11], { certificate_serial: { serial: "0AFF" } });
    assert.equal(created.result.precedence, 1);
    assert.deepEqual(created.result.require, []);

    assertError(
      await h.call("POST", policies, {
        body: { name: "x", decision: "allow", include: [{ email: { email: "a@b" } }] },
      }),
      400,
      /body\.include\[0\]: must be a rule object/,
    );
    assertError(
      await h.call("POST", policies, {
        body: { name: "x", decision: "allow", include: [{ ip: { ip: "10.0.0.0/33" } }] },
      }),
      400,
      /body\.include\[0\]\.ip\.ip: "10\.0\.0\.0\/33": the prefix length must be 0 to 32/,
    );
    assertError(
      await h.call("POST", policies, {
        body: { name: "x", decision: "allow", include: [{ service_token: { token_id: "0".repeat(32) } }] },
      }),
      400,
      /no service token 0{32} in this account/,
    );
    assertError(
      await h.call("POST", policies, {
        body: { name: "x", decision: "permit", include: [{ everyone: {} }] },
      }),
      400,
      /body\.decision: must be one of/,
    );
    assertError(
      await h.call("POST", policies, { body: { name: "x", decision: "allow", include: [] } }),
      400,
      /body\.include: needs at least one rule/,
    );
    assertError(
      await h.call("POST", policies, {
        body: { name: "x", decision: "allow", include: [{ certificate_fingerprint: { sha256: "abcd" } }] },
      }),
      400,
      /must be 32 bytes/,
    );

    // A token a policy names cannot be deleted.
    assertError(
      await h.call("DELETE", `${base}/service_tokens/${token.result.id}`),
      409,
      /named by policies/,
    );
    const updated = await h.call("PUT", `${policies}/${created.result.id}`, {
      body: { name: "devices", decision: "allow", include: [{ certificate: {} }], precedence: 5 },
    });
    assertOk(updated);
    assert.equal(updated.result.precedence, 5);
    assertOk(await h.call("DELETE", `${base}/service_tokens/${token.result.id}`));
    const got = await h.call("GET", `${base}/apps/${app.id}`);
    assert.equal(got.result.policies.length, 1);
    assertOk(await h.call("DELETE", `${policies}/${created.result.id}`));
    assertError(await h.call("GET", `${policies}/${created.result.id}`), 404);
  });

  test("service tokens: the secret once, stored as a hash; durations", async () => {
    const created = await h.call("POST", `${base}/service_tokens`, {
      body: { name: "robot", duration: "1h" },
    });
    assertOk(created);
    const { client_id: clientId, client_secret: secret, id } = created.result;
    assert.match(clientId, /^[0-9a-f]{32}\.access$/);
    assert.match(secret, /^[0-9a-f]{64}$/);
    const expires = Date.parse(created.result.expires_at) - Date.parse(created.result.created_at);
    assert.equal(expires, 3_600_000);
    const got = await h.call("GET", `${base}/service_tokens/${id}`);
    assert.equal(got.result.client_secret, undefined);
    assert.equal(
      JSON.stringify((await h.call("GET", `${base}/service_tokens`)).body).includes(secret),
      false,
    );
    const hashes = await h.store.access.serviceTokenHashes(accountId);
    assert.equal(hashes.get(clientId), createHash("sha256").update(secret).digest("hex"));
    const audit = await h.call("GET", "/audit_logs?action=access_service_token.create");
    assert.equal(JSON.stringify(audit.body).includes(secret), false, "the secret is not in the audit log");
    assertError(
      await h.call("POST", `${base}/service_tokens`, { body: { name: "bad", duration: "forever" } }),
      400,
      /body\.duration/,
    );
    const renamed = await h.call("PUT", `${base}/service_tokens/${id}`, { body: { name: "robot 2" } });
    assert.equal(renamed.result.name, "robot 2");
    assert.equal(renamed.result.expires_at, created.result.expires_at);
    assertOk(await h.call("DELETE", `${base}/service_tokens/${id}`));
  });

  test("keys: rotation interval, rotate now; both keys kept", async () => {
    const status = await h.call("GET", `${base}/keys`);
    assertOk(status);
    assert.equal(status.result.key_rotation_interval_days, 42);
    assert.equal(typeof status.result.last_key_rotation_at, "string", "the first app made a key");
    assert.equal(status.result.days_until_next_rotation, 42);
    const updated = await h.call("PUT", `${base}/keys`, { body: { key_rotation_interval_days: 30 } });
    assertOk(updated);
    assert.equal(updated.result.key_rotation_interval_days, 30);
    assert.equal(updated.result.days_until_next_rotation, 30);
    assertError(
      await h.call("PUT", `${base}/keys`, { body: { key_rotation_interval_days: 7 } }),
      400,
      /body\.key_rotation_interval_days: must be >= 21/,
    );
    const before = await h.store.access.listKeys(accountId);
    assertOk(await h.call("POST", `${base}/keys/rotate`));
    const after = await h.store.access.listKeys(accountId);
    assert.equal(after.length, before.length + 1);
    assert.equal(after[1]?.kid, before[0]?.kid, "the new key first, the previous one still there");
  });

  test("another account's token cannot see or touch this account's Access", async () => {
    const other = await h.call("POST", "/accounts", { body: { name: "other" } });
    const token = await h.call("POST", "/user/tokens", {
      body: { name: "other", scopes: [{ kind: "account", account_id: other.result.id, access: "edit" }] },
    });
    assertOk(token);
    assertError(await h.call("GET", `${base}/apps`, { token: token.result.value }), 403);
    assertError(
      await h.call("POST", `${base}/service_tokens`, { token: token.result.value, body: { name: "x" } }),
      403,
    );
  });
});

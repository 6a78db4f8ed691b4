/**
 * Property: generated JSON bodies (random keys, types and sizes) thrown at every POST/PUT endpoint get
 * a 4xx with a well-formed envelope (the generators never produce a host name of the zone, so no body
 * is valid), never a 5xx, and leave the store unchanged.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { createAccountAndZone, type Harness, makePki, type Pki, startHarness } from "./helpers.ts";

describe("generated bodies", () => {
  let h: Harness;
  let pki: Pki;
  let endpoints: { method: string; path: string; keys: string[] }[];
  before(async () => {
    h = await startHarness();
    pki = await makePki(h.dir);
    const { accountId, zoneId } = await createAccountAndZone(h);
    endpoints = [
      {
        method: "POST",
        path: `/accounts/${accountId}/mtls_certificates`,
        keys: ["name", "certificates", "private_key", "ca"],
      },
      {
        method: "PUT",
        path: `/zones/${zoneId}/certificate_authorities/hostname_associations`,
        keys: ["hostnames", "mtls_certificate_id"],
      },
      {
        method: "POST",
        path: `/zones/${zoneId}/hostnames`,
        keys: ["hostname", "default", "mtls", "origin", "forward", "server_certificate_id"],
      },
      { method: "POST", path: "/zones", keys: ["name", "account"] },
      { method: "POST", path: "/user/tokens", keys: ["name", "scopes"] },
      {
        method: "POST",
        path: `/zones/${zoneId}/origin_tls_client_auth`,
        keys: ["certificate", "private_key"],
      },
      {
        method: "POST",
        path: `/zones/${zoneId}/origin_tls_client_auth/hostnames/certificates`,
        keys: ["certificate", "private_key"],
      },
      { method: "PUT", path: `/zones/${zoneId}/origin_tls_client_auth/hostnames`, keys: ["config"] },
    ];
  });
  after(() => h.close());

  test("are refused with 4xx envelopes and no write", async () => {
    const pemish = fc.constantFrom(
      "",
      "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
      "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
      "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
    );
    const leaves = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      pemish,
      fc.constantFrom("enforce", "*.elsewhere.test", "http://127.0.0.1:1", "/a", "0".repeat(32)),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: "small" }, leaves, fc.array(tie("node"), { maxLength: 4 }), tie("object")),
      object: fc.dictionary(
        fc.oneof(
          fc.string({ maxLength: 12 }),
          fc.constantFrom("url", "mode", "paths", "__proto__", "constructor"),
        ),
        tie("node"),
        { maxKeys: 5 },
      ),
    })).node;
    const body = (keys: string[]) =>
      fc.oneof(
        value,
        fc.record(Object.fromEntries(keys.map((key) => [key, value])), { requiredKeys: [] }),
        // a plausible mTLS upload with one wrong part
        fc.record({ certificates: fc.oneof(pemish, fc.constant(pki.leafPem)), ca: fc.constant(true) }),
      );
    const endpointIndex = fc.integer({ min: 0, max: endpoints.length - 1 });
    const versionBefore = await h.store.version();
    await fc.assert(
      fc.asyncProperty(
        endpointIndex.chain((index) =>
          fc.tuple(fc.constant(index), body((endpoints[index] as { keys: string[] }).keys)),
        ),
        async ([index, payload]) => {
          const endpoint = endpoints[index] as (typeof endpoints)[number];
          // Clearing the managed CA's (empty) association list is the one valid body these can make.
          const record = payload as { hostnames?: unknown } | null;
          fc.pre(!(index === 1 && Array.isArray(record?.hostnames) && record.hostnames.length === 0));
          const raw = JSON.stringify(payload) ?? "null";
          const reply = await h.call(endpoint.method, endpoint.path, { raw });
          assert.ok(
            reply.status >= 400 && reply.status < 500,
            `${endpoint.method} ${endpoint.path} ${raw} → ${reply.status} ${JSON.stringify(reply.body)}`,
          );
          assert.equal(reply.body.success, false);
          assert.equal(reply.body.result, null);
          assert.ok(Array.isArray(reply.body.errors) && reply.body.errors.length > 0);
          assert.equal(typeof reply.body.errors[0]?.code, "number");
          assert.equal(typeof reply.body.errors[0]?.message, "string");
        },
      ),
      { numRuns: 300 },
    );
    assert.equal(await h.store.version(), versionBefore, "no generated body changed the store");
  });
});

/**
 * Property: generated bodies thrown at the Access write endpoints get a well-formed 4xx envelope, never a
 * 5xx, and leave the store unchanged (no generated host name is in the account's zone, no rule object is
 * complete, so no body is valid).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { createAccountAndZone, type Harness, makePki, type Pki, startHarness } from "./helpers.ts";

describe("generated Access bodies", () => {
  let h: Harness;
  let pki: Pki;
  let endpoints: { method: string; path: string; keys: string[] }[];
  before(async () => {
    h = await startHarness();
    pki = await makePki(h.dir);
    const { accountId } = await createAccountAndZone(h, "example.com");
    const base = `/accounts/${accountId}/access`;
    const app = await h.call("POST", `${base}/apps`, { body: { domain: "app.example.com" } });
    assert.equal(app.status, 200);
    endpoints = [
      { method: "POST", path: `${base}/certificates`, keys: ["name", "certificate", "associated_hostnames"] },
      { method: "PUT", path: `${base}/certificates/settings`, keys: ["settings"] },
      { method: "POST", path: `${base}/apps`, keys: ["domain", "name", "type", "session_duration"] },
      { method: "PUT", path: `${base}/apps/${app.result.id}`, keys: ["domain", "name", "session_duration"] },
      {
        method: "POST",
        path: `${base}/apps/${app.result.id}/policies`,
        keys: ["name", "decision", "include", "exclude", "require", "precedence"],
      },
      { method: "POST", path: `${base}/service_tokens`, keys: ["duration"] },
    ];
  });
  after(() => h.close());

  test("are refused with 4xx envelopes and no write", async () => {
    const leaves = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom(
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        pki.leafPem,
        "other.test",
        "*.elsewhere.test",
        "app.example.com/../x?y",
        "0s",
        "-1h",
        "1d",
        "10.0.0.0/99",
        "allow",
        "bypass",
      ),
    );
    const selectorish = fc.oneof(
      fc.constantFrom(
        { ip: { ip: "300.1.1.1" } },
        { common_name: {} },
        { san: { dns: "a", uri: "b" } },
        { x: {} },
      ),
      fc.dictionary(fc.constantFrom("certificate", "ip", "everyone", "service_token"), leaves, {
        maxKeys: 2,
      }),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        leaves,
        selectorish,
        fc.array(tie("node"), { maxLength: 3 }),
        tie("object"),
      ),
      object: fc.dictionary(
        fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("hostname", "ip", "__proto__", "constructor")),
        tie("node"),
        { maxKeys: 4 },
      ),
    })).node;
    const body = (keys: string[]) =>
      fc.oneof(value, fc.record(Object.fromEntries(keys.map((key) => [key, value])), { requiredKeys: [] }));
    const endpointIndex = fc.integer({ min: 0, max: endpoints.length - 1 });
    const versionBefore = await h.store.version();
    await fc.assert(
      fc.asyncProperty(
        endpointIndex.chain((index) =>
          fc.tuple(fc.constant(index), body((endpoints[index] as { keys: string[] }).keys)),
        ),
        async ([index, payload]) => {
          const endpoint = endpoints[index] as (typeof endpoints)[number];
          // The two valid bodies these can make: no settings at all, and a named service token.
          const record = payload as { settings?: unknown; name?: unknown } | null;
          fc.pre(!(index === 1 && Array.isArray(record?.settings) && record.settings.length === 0));
          fc.pre(!(index === 5 && typeof record?.name === "string" && record.name !== ""));
          const raw = JSON.stringify(payload) ?? "null";
          const reply = await h.call(endpoint.method, endpoint.path, { raw });
          assert.ok(
            reply.status >= 400 && reply.status < 500,
            `${endpoint.method} ${endpoint.path} ${raw} → ${reply.status} ${JSON.stringify(reply.body)}`,
          );
          assert.equal(reply.body.success, false);
          assert.equal(typeof reply.body.errors[0]?.message, "string");
        },
      ),
      { numRuns: 300 },
    );
    assert.equal(await h.store.version(), versionBefore, "no generated body changed the store");
  });
});

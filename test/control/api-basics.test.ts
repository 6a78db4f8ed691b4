/** Envelope, errors, auth and scopes of the control API over real HTTP. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ensureBootstrapToken } from "../../src/control/tokens.ts";
import {
  assertError,
  assertOk,
  createAccountAndZone,
  type Harness,
  openTestStore,
  startHarness,
} from "./helpers.ts";

describe("control API basics", () => {
  let h: Harness;
  let accountId: string;
  let zoneId: string;
  before(async () => {
    h = await startHarness({ bodyLimit: 64 * 1024 });
    ({ accountId, zoneId } = await createAccountAndZone(h));
  });
  after(() => h.close());

  test("verify answers the token's id with status active", async () => {
    const reply = await h.call("GET", "/user/tokens/verify");
    assertOk(reply);
    assert.equal(reply.result.status, "active");
    assert.match(reply.result.id, /^[0-9a-f]{32}$/);
  });

  test("missing, malformed and unknown tokens are 401 with code 10000", async () => {
    for (const token of [null, "nope", "pct_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]) {
      const reply = await h.call("GET", "/user/tokens/verify", { token });
      assertError(reply, 401, "Authentication error");
      assert.equal(reply.body.errors[0]?.code, 10000);
    }
    const basic = await h.call("GET", "/accounts", { token: null, headers: { authorization: "Basic eDp5" } });
    assertError(basic, 401);
  });

  test("unknown route is a 404 envelope", async () => {
    const reply = await h.call("GET", "/nothing/here");
    assertError(reply, 404, /No route for that URI/);
  });

  test("bad JSON is 400, wrong content type is 415, too large is 413", async () => {
    assertError(await h.call("POST", "/accounts", { raw: "{not json" }), 400, /Malformed JSON/);
    assertError(await h.call("POST", "/accounts", { raw: '{"__proto__": {"x": 1}, "name": "a"}' }), 400);
    assertError(
      await h.call("POST", "/accounts", {
        raw: "name=a",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
      415,
    );
    const big = { name: "a".repeat(100 * 1024) };
    assertError(await h.call("POST", "/accounts", { body: big }), 413, /too large/);
  });

  test("schema errors name the field", async () => {
    const base = `/accounts/${accountId}/mtls_certificates`;
    assertError(
      await h.call("POST", base, { body: { certificates: "x", ca: "yes" } }),
      400,
      "body.ca: must be boolean",
    );
    assertError(await h.call("POST", base, { body: { certificates: "x" } }), 400, "body.ca: is required");
    assertError(
      await h.call("POST", base, { body: { certificates: "x", ca: true, naem: "n" } }),
      400,
      'body.naem: unknown key "naem" (did you mean "name"?)',
    );
    assertError(await h.call("POST", base, { body: [] }), 400, "body: must be object");
    assertError(await h.call("POST", base, {}), 400, /body/);
    assertError(await h.call("GET", `${base}?ca=yes`), 400, 'querystring.ca: must be one of "true", "false"');
    assertError(await h.call("GET", `${base}?colour=red`), 400, /querystring.colour: unknown key "colour"/);
    assertError(
      await h.call("GET", "/accounts/XYZ/mtls_certificates"),
      400,
      /^params.account_id: must match pattern/,
    );
    assertError(
      await h.call("POST", `/zones/${zoneId}/hostnames`, {
        body: {
          hostname: "a.example.test",
          origin: { url: "http://127.0.0.1:1" },
          mtls: { paths: [{ prefix: "/a" }] },
        },
      }),
      400,
      "body.mtls.paths[0].mode: is required",
    );
    assertError(
      await h.call("POST", `/zones/${zoneId}/hostnames`, {
        body: { hostname: "a.example.test", origin: { url: "http://127.0.0.1:1" }, forward: ["bogus"] },
      }),
      400,
      /^body.forward\[0\]: must be a format name \(cloudflare,/,
    );
  });

  test("a missing account or zone is 404 for admin", async () => {
    assertError(await h.call("GET", `/accounts/${"0".repeat(32)}`), 404, /not found/);
    assertError(await h.call("GET", `/zones/${"0".repeat(32)}`), 404, /not found/);
  });

  test("scopes: admin only, account read/edit, zone read/edit", async () => {
    const other = await createAccountAndZone(h, "other.test");
    const make = async (scopes: unknown[]) => {
      const reply = await h.call("POST", "/user/tokens", { body: { name: "t", scopes } });
      assertOk(reply);
      assert.match(reply.result.value, /^pct_[0-9A-Za-z]{40}$/);
      return reply.result.value as string;
    };
    const accountRead = await make([{ kind: "account", account_id: accountId, access: "read" }]);
    const accountEdit = await make([{ kind: "account", account_id: accountId, access: "edit" }]);
    const zoneRead = await make([{ kind: "zone", zone_id: zoneId, access: "read" }]);
    const zoneEdit = await make([{ kind: "zone", zone_id: zoneId, access: "edit" }]);
    const certs = `/accounts/${accountId}/mtls_certificates`;
    const assoc = `/zones/${zoneId}/certificate_authorities/hostname_associations`;
    const forbidden = (reply: Awaited<ReturnType<Harness["call"]>>) => {
      assertError(reply, 403, "Unauthorized to access requested resource");
      assert.equal(reply.body.errors[0]?.code, 9109);
    };

    assertOk(await h.call("GET", certs, { token: accountRead }));
    forbidden(await h.call("POST", certs, { token: accountRead, body: { certificates: "x", ca: true } }));
    // edit passes auth and reaches validation
    assertError(
      await h.call("POST", certs, { token: accountEdit, body: { certificates: "x", ca: true } }),
      400,
    );
    forbidden(await h.call("GET", `/accounts/${other.accountId}/mtls_certificates`, { token: accountEdit }));
    // account scope covers its zones
    assertOk(await h.call("GET", assoc, { token: accountRead }));
    forbidden(await h.call("PUT", assoc, { token: accountRead, body: { hostnames: [] } }));
    assertOk(await h.call("PUT", assoc, { token: accountEdit, body: { hostnames: [] } }));
    // zone scopes
    forbidden(await h.call("GET", certs, { token: zoneEdit }));
    assertOk(await h.call("GET", assoc, { token: zoneRead }));
    forbidden(await h.call("PUT", assoc, { token: zoneRead, body: { hostnames: [] } }));
    assertOk(await h.call("PUT", assoc, { token: zoneEdit, body: { hostnames: [] } }));
    forbidden(await h.call("GET", `/zones/${other.zoneId}/hostnames`, { token: zoneEdit }));
    forbidden(await h.call("GET", `/zones/${"0".repeat(32)}`, { token: zoneEdit }));
    // admin-only routes
    for (const token of [accountEdit, zoneEdit]) {
      forbidden(await h.call("GET", "/user/tokens", { token }));
      forbidden(await h.call("GET", "/audit_logs", { token }));
      forbidden(await h.call("POST", "/accounts", { token, body: { name: "x" } }));
    }
    // lists show only what the token can read
    const zones = await h.call("GET", "/zones", { token: zoneRead });
    assertOk(zones);
    assert.deepEqual(
      zones.result.map((zone: { id: string }) => zone.id),
      [zoneId],
    );
    const accounts = await h.call("GET", "/accounts", { token: accountRead });
    assert.deepEqual(
      accounts.result.map((account: { id: string }) => account.id),
      [accountId],
    );
  });

  test("revoked tokens are refused; the last admin token cannot be revoked", async () => {
    const made = await h.call("POST", "/user/tokens", {
      body: { name: "temp", scopes: [{ kind: "admin" }] },
    });
    assertOk(made);
    assertOk(await h.call("GET", "/user/tokens/verify", { token: made.result.value }));
    assertOk(await h.call("DELETE", `/user/tokens/${made.result.id}`));
    assertError(await h.call("GET", "/user/tokens/verify", { token: made.result.value }), 401);
    const self = await h.call("GET", "/user/tokens/verify");
    assertError(await h.call("DELETE", `/user/tokens/${self.result.id}`), 409, /last active admin token/);
    const list = await h.call("GET", "/user/tokens");
    assertOk(list);
    assert.ok(list.body.result_info);
    assert.ok(
      !JSON.stringify(list.body).includes(made.result.value),
      "a listed token never shows its secret",
    );
  });

  test("token scopes are checked against the store", async () => {
    assertError(
      await h.call("POST", "/user/tokens", {
        body: { name: "t", scopes: [{ kind: "account", account_id: "f".repeat(32), access: "read" }] },
      }),
      400,
      /^body.scopes\[0\].account_id: no account/,
    );
    assertError(
      await h.call("POST", "/user/tokens", {
        body: { name: "t", scopes: [{ kind: "zone", zone_id: zoneId }] },
      }),
      400,
      "body.scopes[0].access: is required with kind zone",
    );
  });

  test("zones: duplicate 409, bad name 400, filters, delete", async () => {
    assertError(
      await h.call("POST", "/zones", { body: { name: "example.test", account: { id: accountId } } }),
      409,
      /already exists/,
    );
    assertError(
      await h.call("POST", "/zones", { body: { name: "bad_name", account: { id: accountId } } }),
      400,
      /^body.name: /,
    );
    const byName = await h.call("GET", "/zones?name=example.test");
    assertOk(byName);
    assert.equal(byName.result.length, 1);
    assert.equal(byName.result[0].account.id, accountId);
    const byAccount = await h.call("GET", `/zones?account.id=${accountId}`);
    assert.ok(byAccount.result.every((zone: { account: { id: string } }) => zone.account.id === accountId));
    const temp = await h.call("POST", "/zones", { body: { name: "temp.test", account: { id: accountId } } });
    assertOk(await h.call("DELETE", `/zones/${temp.result.id}`));
    assertError(await h.call("GET", `/zones/${temp.result.id}`), 404);
  });

  test("the OpenAPI document is served and lists the routes", async () => {
    const response = await fetch(`${h.url}/client/v4/openapi.json`);
    assert.equal(response.status, 200);
    const doc = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
    assert.match(doc.openapi, /^3\./);
    assert.ok(doc.paths["/client/v4/accounts/{account_id}/mtls_certificates"]);
    assert.ok(doc.paths["/client/v4/zones/{zone_id}/certificate_authorities/hostname_associations"]);
  });

  test("audit log records writes with the token and without secrets", async () => {
    const logs = await h.call("GET", "/audit_logs?action=zone.create");
    assertOk(logs);
    assert.ok(logs.result.length >= 1);
    assert.ok(logs.result.every((entry: { action: string }) => entry.action === "zone.create"));
    assert.match(logs.result[0].token_id, /^[0-9a-f]{32}$/);
    const tokens = await h.call("GET", "/audit_logs?action=api_token.create");
    assert.ok(tokens.result.length >= 1);
    assert.ok(!/pct_[0-9A-Za-z]{40}/.test(JSON.stringify(tokens.body)));
  });
});

describe("bootstrap token", () => {
  test("created once, from PORTCULLIS_ADMIN_TOKEN when given", async () => {
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = await mkdtemp(join(tmpdir(), "portcullis-boot-"));
    const store = await openTestStore(dir);
    try {
      const given = "my-admin-token-from-the-environment";
      assert.equal(await ensureBootstrapToken(store, given), given);
      assert.equal(await ensureBootstrapToken(store, given), undefined);
      assert.equal((await store.listApiTokens()).length, 1);
      await assert.rejects(ensureBootstrapToken(store, "short"), /at least 20/);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

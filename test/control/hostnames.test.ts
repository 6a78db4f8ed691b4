/** The native hostname resource: create, read, replace, delete, with the edge config's rules. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  assertError,
  assertOk,
  createAccountAndZone,
  type Harness,
  makePki,
  startHarness,
} from "./helpers.ts";

describe("zones/{zone_id}/hostnames", () => {
  let h: Harness;
  let zoneId: string;
  let accountId: string;
  let base: string;
  let leafId: string;
  let caId: string;
  before(async () => {
    h = await startHarness();
    ({ accountId, zoneId } = await createAccountAndZone(h));
    base = `/zones/${zoneId}/hostnames`;
    const pki = await makePki(h.dir);
    const certs = `/accounts/${accountId}/mtls_certificates`;
    const leaf = await h.call("POST", certs, {
      body: { certificates: pki.leafPem + pki.intermediatePem, private_key: pki.leafKeyPem, ca: false },
    });
    leafId = leaf.result.id;
    caId = (await h.call("POST", certs, { body: { certificates: pki.caPem, ca: true } })).result.id;
  });
  after(() => h.close());

  test("create applies defaults and normalizes like the config file", async () => {
    const reply = await h.call("POST", base, {
      body: {
        hostname: "API.Example.Test",
        server_certificate_id: leafId,
        mtls: { mode: "enforce", paths: [{ prefix: "/public", mode: "off" }] },
        origin: { url: "HTTPS://Origin.Example.Test:443/", ca_certificate_id: caId },
        forward: ["cloudflare", { header: "X-Client-Verify", variable: "ssl_client_verify" }],
      },
    });
    assertOk(reply);
    const host = reply.result;
    assert.equal(host.hostname, "api.example.test");
    assert.equal(host.origin.url, "https://origin.example.test");
    assert.equal(host.mtls.max_chain_depth, 4);
    assert.equal(host.mtls.stale_crl, "deny");
    assert.deepEqual(host.mtls.ocsp, { enabled: false, timeout_ms: 2000 });
    assert.equal(host.origin.connect_timeout_ms, 5000);
    assert.deepEqual(host.forward, [
      "cloudflare",
      { header: "X-Client-Verify", variable: "ssl_client_verify" },
    ]);
    const got = await h.call("GET", `${base}/${host.id}`);
    assert.deepEqual(got.result, host);

    const put = await h.call("PUT", `${base}/${host.id}`, {
      body: { hostname: "api.example.test", origin: { url: "http://127.0.0.1:8080" } },
    });
    assertOk(put);
    assert.equal(put.result.mtls.mode, "off");
    assert.equal(put.result.created_on, host.created_on);

    assertError(
      await h.call("POST", base, {
        body: { hostname: "api.example.test", origin: { url: "http://127.0.0.1:1" } },
      }),
      409,
      /already exists/,
    );
    const list = await h.call("GET", base);
    assert.equal(list.result.length, 1);

    // a certificate a hostname uses cannot be deleted
    await h.call("PUT", `${base}/${host.id}`, {
      body: {
        hostname: "api.example.test",
        origin: { url: "http://127.0.0.1:8080", ca_certificate_id: caId },
      },
    });
    assertError(
      await h.call("DELETE", `/accounts/${accountId}/mtls_certificates/${caId}`),
      409,
      /hostname api\.example\.test \(origin CA\)/,
    );
    // a zone with hostnames cannot be deleted
    assertError(await h.call("DELETE", `/zones/${zoneId}`), 409, /still has hostnames: api\.example\.test/);
    assertOk(await h.call("DELETE", `${base}/${host.id}`));
    assertError(await h.call("GET", `${base}/${host.id}`), 404);
  });

  test("semantic errors name the field", async () => {
    const origin = { url: "http://127.0.0.1:1" };
    const bad = async (body: Record<string, unknown>, status: number, message: RegExp) =>
      assertError(
        await h.call("POST", base, { body: { hostname: "x.example.test", origin, ...body } }),
        status,
        message,
      );
    await bad(
      { hostname: "a.other.test" },
      400,
      /^body.hostname: "a.other.test" is not in zone example.test$/,
    );
    await bad(
      { hostname: "a.*.example.test" },
      400,
      /^body.hostname: a wildcard must be the whole first label/,
    );
    await bad({ origin: { url: "ftp://x" } }, 400, /^body.origin.url: the URL must be http or https/);
    await bad(
      { origin: { url: "http://x", connect_timeout_ms: 0 } },
      400,
      /^body.origin.connect_timeout_ms: must be >= 1/,
    );
    await bad(
      { mtls: { paths: [{ prefix: "nope", mode: "off" }] } },
      400,
      /^body.mtls.paths\[0\].prefix: a path prefix must start with "\/"/,
    );
    await bad(
      {
        mtls: {
          paths: [
            { prefix: "/a", mode: "off" },
            { prefix: "/a", mode: "enforce" },
          ],
        },
      },
      400,
      /^body.mtls.paths\[1\].prefix: "\/a" is already at paths\[0\]/,
    );
    await bad({ mtls: { crls: ["ldap://x"] } }, 400, /^body.mtls.crls\[0\]: expected an http\(s\) URL/);
    await bad(
      { forward: [{ header: "bad header", variable: "ssl_client_verify" }] },
      400,
      /^body.forward\[0\].header: /,
    );
    await bad({ server_certificate_id: caId }, 400, /^body.server_certificate_id: .* must be a leaf/);
    await bad(
      { origin: { url: "http://x", ca_certificate_id: leafId } },
      400,
      /^body.origin.ca_certificate_id: .* is not a CA/,
    );
    await bad(
      { mtls: { mode: "strict" } },
      400,
      /^body.mtls.mode: must be one of "enforce", "permissive", "off"$/,
    );
  });

  test("only one default hostname", async () => {
    const origin = { url: "http://127.0.0.1:1" };
    assertOk(await h.call("POST", base, { body: { hostname: "one.example.test", default: true, origin } }));
    assertError(
      await h.call("POST", base, { body: { hostname: "two.example.test", default: true, origin } }),
      409,
      /only one hostname may be the default, and one.example.test already is/,
    );
  });
});

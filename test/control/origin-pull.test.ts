/**
 * `zones/{zone_id}/origin_tls_client_auth` (Authenticated Origin Pulls): zone and per-hostname
 * certificates, settings, hostname bindings, and what the edge is configured with as a result.
 */

import assert from "node:assert/strict";
import { createPublicKey } from "node:crypto";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { DEFAULT_CRL_REFRESH_MS, DEFAULT_LIMITS } from "../../src/config/defaults.ts";
import type { HostConfig } from "../../src/config/types.ts";
import { type EdgeBase, edgeConfigFromStore } from "../../src/snapshot/from-store.ts";
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

const EDGE_BASE: EdgeBase = {
  listen: { https: { host: "127.0.0.1", port: 0 } },
  dataDir: "/nonexistent",
  log: { level: "silent" },
  crlRefreshIntervalMs: DEFAULT_CRL_REFRESH_MS,
  limits: DEFAULT_LIMITS,
};

const spki = (pem: string) => createPublicKey(pem).export({ type: "spki", format: "der" }).toString("hex");

describe("zones/{zone_id}/origin_tls_client_auth", () => {
  let h: Harness;
  let pki: Pki;
  let zoneId: string;
  let base: string;
  let hostPem: string;
  let hostKeyPem: string;
  before(async () => {
    h = await startHarness();
    pki = await makePki(h.dir);
    const { accountId, zoneId: zone } = await createAccountAndZone(h);
    zoneId = zone;
    base = `/zones/${zoneId}/origin_tls_client_auth`;
    const host = await makeClientCert(h.dir, "aop-host", { issuer: "root", key: "rsa" });
    hostPem = await readFile(host.certPath, "utf8");
    hostKeyPem = await readFile(host.keyPath, "utf8");
    // Two served hostnames: a server certificate with its key, then the hostnames.
    const server = await h.call("POST", `/accounts/${accountId}/mtls_certificates`, {
      body: { certificates: pki.leafPem + pki.intermediatePem, private_key: pki.leafKeyPem, ca: false },
    });
    assertOk(server);
    for (const hostname of ["api.example.test", "www.example.test"]) {
      assertOk(
        await h.call("POST", `/zones/${zoneId}/hostnames`, {
          body: { hostname, server_certificate_id: server.result.id, origin: { url: "https://127.0.0.1:1" } },
        }),
      );
    }
  });
  after(() => h.close());

  /** The origin client certificate the edge would present for each hostname (cert and key, by SPKI). */
  const edgeOriginCerts = async () => {
    const config = await edgeConfigFromStore(h.store, EDGE_BASE);
    const of = (host: HostConfig | undefined) => {
      const pair = host?.origin.clientCert;
      if (!pair) return null;
      assert.equal(spki(pair.certPem), spki(pair.keyPem), "the edge's origin key matches its certificate");
      return pair.certPem;
    };
    return {
      api: of(config.hosts.find((host) => host.hostname === "api.example.test")),
      www: of(config.hosts.find((host) => host.hostname === "www.example.test")),
    };
  };
  const sameCert = (a: string | null, b: string) => a !== null && spki(a) === spki(b);

  test("zone certificate: upload, list, get, settings on/off drive the edge, delete", async () => {
    const uploaded = await h.call("POST", base, {
      body: { certificate: pki.leafPem + pki.intermediatePem, private_key: pki.leafKeyPem },
    });
    assertOk(uploaded);
    const certificate = uploaded.result;
    assert.deepEqual(Object.keys(certificate).sort(), [
      "certificate",
      "expires_on",
      "id",
      "issuer",
      "signature",
      "status",
      "uploaded_on",
    ]);
    assert.match(certificate.id, /^[0-9a-f]{32}$/);
    assert.equal(certificate.issuer, "CN=intermediate");
    assert.equal(certificate.signature, "ECDSAWithSHA256");
    assert.equal(certificate.status, "active");
    assert.match(certificate.expires_on, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(!JSON.stringify(uploaded.body).includes("PRIVATE KEY"));

    const list = await h.call("GET", base);
    assertOk(list);
    assert.deepEqual(list.result, [certificate]);
    assert.deepEqual((await h.call("GET", `${base}/${certificate.id}`)).result, certificate);
    // a zone certificate is not a hostname certificate
    assertError(await h.call("GET", `${base}/hostnames/certificates/${certificate.id}`), 404);

    // Off by default: uploaded, but the edge does not present it.
    assert.deepEqual((await h.call("GET", `${base}/settings`)).result, { enabled: false });
    assert.deepEqual(await edgeOriginCerts(), { api: null, www: null });

    const on = await h.call("PUT", `${base}/settings`, { body: { enabled: true } });
    assertOk(on);
    assert.deepEqual(on.result, { enabled: true });
    assert.deepEqual((await h.call("GET", `${base}/settings`)).result, { enabled: true });
    const enabled = await edgeOriginCerts();
    assert.ok(sameCert(enabled.api, pki.leafPem) && sameCert(enabled.www, pki.leafPem));

    assertOk(await h.call("PUT", `${base}/settings`, { body: { enabled: false } }));
    assert.deepEqual(await edgeOriginCerts(), { api: null, www: null });
    assertOk(await h.call("PUT", `${base}/settings`, { body: { enabled: true } }));

    const audit = await h.call("GET", "/audit_logs?action=origin_pull_settings.update");
    assert.equal(audit.result.length, 3);
    const created = await h.call("GET", "/audit_logs?action=origin_pull_certificate.create");
    assert.equal(created.result.length, 1);
    assert.equal(created.result[0].resource, `zones/${zoneId}/origin_tls_client_auth/${certificate.id}`);
    assert.ok(!JSON.stringify(created.body).includes("PRIVATE KEY"));

    // A second zone certificate to delete (the first stays for the hostname test).
    const second = await h.call("POST", base, { body: { certificate: hostPem, private_key: hostKeyPem } });
    assertOk(second);
    const deleted = await h.call("DELETE", `${base}/${second.result.id}`);
    assertOk(deleted);
    assert.equal(deleted.result.id, second.result.id);
    assertError(await h.call("GET", `${base}/${second.result.id}`), 404);
    assertError(await h.call("DELETE", `${base}/${second.result.id}`), 404);
    assert.deepEqual(
      (await h.call("GET", base)).result.map((item: { id: string }) => item.id),
      [certificate.id],
    );
    assert.equal((await h.call("GET", "/audit_logs?action=origin_pull_certificate.delete")).result.length, 1);
  });

  test("hostname certificate: upload, bind, beats the zone's, disable, unbind, delete", async () => {
    const uploaded = await h.call("POST", `${base}/hostnames/certificates`, {
      body: { certificate: hostPem, private_key: hostKeyPem },
    });
    assertOk(uploaded);
    const certificate = uploaded.result;
    assert.equal(certificate.issuer, "CN=root");
    assert.equal(certificate.signature, "ECDSAWithSHA256", "root's (P-256) signature on the RSA leaf");
    assert.match(certificate.serial_number, /^\d+$/);
    assert.equal(certificate.status, "active");
    assert.ok(!("private_key" in certificate));
    assert.deepEqual(
      (await h.call("GET", `${base}/hostnames/certificates/${certificate.id}`)).result,
      certificate,
    );
    assert.deepEqual((await h.call("GET", `${base}/hostnames/certificates`)).result, [certificate]);
    // not a zone certificate, and unbound it is used nowhere
    assertError(await h.call("GET", `${base}/${certificate.id}`), 404);
    assert.ok(!(await h.call("GET", base)).result.some((item: { id: string }) => item.id === certificate.id));
    assertError(await h.call("GET", `${base}/hostnames/api.example.test`), 404, /no origin_tls_client_auth/);
    const unbound = await edgeOriginCerts();
    assert.ok(sameCert(unbound.api, pki.leafPem), "only the zone certificate so far");

    const bound = await h.call("PUT", `${base}/hostnames`, {
      body: { config: [{ hostname: "API.example.test", cert_id: certificate.id, enabled: true }] },
    });
    assertOk(bound);
    assert.equal(bound.result.length, 1);
    assert.equal(bound.result[0].hostname, "api.example.test");
    assert.equal(bound.result[0].cert_id, certificate.id);
    assert.equal(bound.result[0].enabled, true);
    const got = await h.call("GET", `${base}/hostnames/api.example.test`);
    assertOk(got);
    assert.equal(got.result.cert_id, certificate.id);
    assert.equal(got.result.enabled, true);
    assert.equal(got.result.status, "active");
    assert.equal(got.result.serial_number, certificate.serial_number);
    // the same id and upload time after the binding (it is rewritten in one transaction)
    assert.deepEqual(
      (await h.call("GET", `${base}/hostnames/certificates/${certificate.id}`)).result,
      certificate,
    );

    // The hostname's own certificate beats the zone's; the other hostname keeps the zone's.
    const withHost = await edgeOriginCerts();
    assert.ok(sameCert(withHost.api, hostPem), "api presents its hostname certificate");
    assert.ok(sameCert(withHost.www, pki.leafPem), "www presents the zone certificate");
    // even with zone-level pulls off, the hostname certificate is presented
    assertOk(await h.call("PUT", `${base}/settings`, { body: { enabled: false } }));
    const zoneOff = await edgeOriginCerts();
    assert.ok(sameCert(zoneOff.api, hostPem));
    assert.equal(zoneOff.www, null);
    assertOk(await h.call("PUT", `${base}/settings`, { body: { enabled: true } }));

    // Disabled: still associated, the zone's certificate applies again.
    const disabled = await h.call("PUT", `${base}/hostnames`, {
      body: { config: [{ hostname: "api.example.test", cert_id: certificate.id, enabled: false }] },
    });
    assertOk(disabled);
    assert.equal((await h.call("GET", `${base}/hostnames/api.example.test`)).result.enabled, false);
    assert.ok(sameCert((await edgeOriginCerts()).api, pki.leafPem));

    // Bound certificates cannot be deleted, nor bound to a second hostname.
    assertError(
      await h.call("DELETE", `${base}/hostnames/certificates/${certificate.id}`),
      409,
      /associated with api\.example\.test; PUT hostnames with enabled: null first/,
    );
    assertError(
      await h.call("PUT", `${base}/hostnames`, {
        body: { config: [{ hostname: "www.example.test", cert_id: certificate.id, enabled: true }] },
      }),
      409,
      /already associated with api\.example\.test/,
    );

    // enabled: null voids the association.
    const voided = await h.call("PUT", `${base}/hostnames`, {
      body: { config: [{ hostname: "api.example.test", cert_id: certificate.id, enabled: null }] },
    });
    assertOk(voided);
    assert.equal(voided.result[0].enabled, null);
    assertError(await h.call("GET", `${base}/hostnames/api.example.test`), 404);
    assert.ok(sameCert((await edgeOriginCerts()).api, pki.leafPem));
    const updates = await h.call("GET", "/audit_logs?action=origin_pull_hostnames.update");
    assert.equal(updates.result.length, 3, "the refused PUT wrote nothing");

    const deleted = await h.call("DELETE", `${base}/hostnames/certificates/${certificate.id}`);
    assertOk(deleted);
    assert.equal(deleted.result.id, certificate.id);
    assertError(await h.call("GET", `${base}/hostnames/certificates/${certificate.id}`), 404);
    assert.equal(
      (await h.call("GET", "/audit_logs?action=origin_pull_hostname_certificate.delete")).result.length,
      1,
    );
  });

  test("a new certificate bound to a hostname replaces the old one", async () => {
    const upload = async () =>
      (
        await h.call("POST", `${base}/hostnames/certificates`, {
          body: { certificate: hostPem, private_key: hostKeyPem },
        })
      ).result.id as string;
    const first = await upload();
    const second = await upload();
    const bind = (cert_id: string) =>
      h.call("PUT", `${base}/hostnames`, {
        body: { config: [{ hostname: "www.example.test", cert_id, enabled: true }] },
      });
    assertOk(await bind(first));
    assertOk(await bind(second));
    assert.equal((await h.call("GET", `${base}/hostnames/www.example.test`)).result.cert_id, second);
    // the first is unbound, so it can go
    assertOk(await h.call("DELETE", `${base}/hostnames/certificates/${first}`));
    assertOk(
      await h.call("PUT", `${base}/hostnames`, {
        body: { config: [{ hostname: "www.example.test", cert_id: second, enabled: null }] },
      }),
    );
    assertOk(await h.call("DELETE", `${base}/hostnames/certificates/${second}`));
  });

  test("bad input is a 400 naming the field, and nothing is written", async () => {
    const version = await h.store.version();
    for (const path of [base, `${base}/hostnames/certificates`]) {
      assertError(
        await h.call("POST", path, { body: { certificate: "not pem", private_key: pki.leafKeyPem } }),
        400,
        /^certificate: expected PEM text/,
      );
      assertError(
        await h.call("POST", path, { body: { certificate: pki.leafPem, private_key: pki.otherKeyPem } }),
        400,
        "private_key: does not match the public key of certificate #1",
      );
      assertError(
        await h.call("POST", path, { body: { certificate: pki.leafPem, private_key: "-----BEGIN nope" } }),
        400,
        /^private_key: /,
      );
      assertError(
        await h.call("POST", path, {
          body: { certificate: pki.leafPem + pki.caPem, private_key: pki.leafKeyPem },
        }),
        400,
        /^certificate: certificate #2 did not issue certificate #1/,
      );
      assertError(await h.call("POST", path, { body: { certificate: pki.leafPem } }), 400, /private_key/);
      assertError(
        await h.call("POST", path, {
          body: { certificate: pki.leafPem, private_key: pki.leafKeyPem, ca: false },
        }),
        400,
        /unknown key "ca"/,
      );
    }
    assertError(await h.call("PUT", `${base}/settings`, { body: { enabled: "true" } }), 400, /enabled/);
    assertError(await h.call("PUT", `${base}/settings`, { body: {} }), 400, /enabled/);
    const zoneCertificateId = (await h.call("GET", base)).result[0].id;
    assertError(
      await h.call("PUT", `${base}/hostnames`, {
        body: { config: [{ hostname: "api.example.test", cert_id: zoneCertificateId, enabled: true }] },
      }),
      400,
      /^body\.config\[0\]\.cert_id: no origin_tls_client_auth hostname certificate/,
    );
    assertError(
      await h.call("PUT", `${base}/hostnames`, {
        body: { config: [{ hostname: "api.elsewhere.test", cert_id: zoneCertificateId, enabled: true }] },
      }),
      400,
      /^body\.config\[0\]\.hostname: "api\.elsewhere\.test" is not in zone example\.test/,
    );
    assertError(
      await h.call("PUT", `${base}/hostnames`, {
        body: {
          config: [
            { hostname: "a.example.test", cert_id: zoneCertificateId, enabled: true },
            { hostname: "A.example.test", cert_id: zoneCertificateId, enabled: true },
          ],
        },
      }),
      400,
      /^body\.config\[1\]\.hostname: "a\.example\.test" is already at config\[0\]/,
    );
    assertError(
      await h.call("PUT", `${base}/hostnames`, {
        body: { config: [{ hostname: "a.example.test", cert_id: zoneCertificateId }] },
      }),
      400,
      /enabled/,
    );
    assertError(await h.call("PUT", `${base}/hostnames`, { body: { config: [] } }), 400);
    assertError(await h.call("GET", `${base}/hostnames/other.test`), 400, /not in zone/);
    assertError(await h.call("GET", `${base}/${"0".repeat(32)}`), 404);
    assertError(await h.call("GET", `${base}/not-an-id`), 400);
    assertError(await h.call("GET", `/zones/${"0".repeat(32)}/origin_tls_client_auth`), 404);
    assert.equal(await h.store.version(), version);
  });

  test("scopes: a zone read token reads but cannot write; another zone's token sees nothing", async () => {
    const make = async (scopes: unknown[]) =>
      (await h.call("POST", "/user/tokens", { body: { name: "t", scopes } })).result.value as string;
    const read = await make([{ kind: "zone", zone_id: zoneId, access: "read" }]);
    const edit = await make([{ kind: "zone", zone_id: zoneId, access: "edit" }]);
    const { zoneId: otherZoneId } = await createAccountAndZone(h, "other.test");
    const other = await make([{ kind: "zone", zone_id: otherZoneId, access: "edit" }]);
    assertOk(await h.call("GET", base, { token: read }));
    assertOk(await h.call("GET", `${base}/settings`, { token: read }));
    for (const token of [read, other]) {
      assertError(await h.call("PUT", `${base}/settings`, { token, body: { enabled: false } }), 403);
      assertError(
        await h.call("POST", base, { token, body: { certificate: hostPem, private_key: hostKeyPem } }),
        403,
      );
    }
    assertError(await h.call("GET", base, { token: other }), 403);
    const put = await h.call("PUT", `${base}/settings`, { token: edit, body: { enabled: true } });
    assertOk(put);
    const audit = await h.call("GET", "/audit_logs?action=origin_pull_settings.update");
    const tokens = await h.call("GET", "/user/tokens");
    const editId = tokens.result.find(
      (token: { scopes: { access?: string; zone_id?: string }[] }) =>
        token.scopes[0]?.zone_id === zoneId && token.scopes[0]?.access === "edit",
    ).id;
    assert.ok(audit.result.some((entry: { token_id: string }) => entry.token_id === editId));
  });
});

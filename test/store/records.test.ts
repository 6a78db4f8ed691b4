import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Store } from "../../src/store/types.ts";
import * as make from "./fixtures.ts";
import { KINDS, skipFor, type TestDatabase, testDatabase } from "./harness.ts";

for (const kind of KINDS) {
  describe(`store records (${kind})`, { skip: skipFor(kind) }, () => {
    let db: TestDatabase;
    let store: Store;
    before(async () => {
      db = await testDatabase(kind);
      store = await db.open();
    });
    after(() => db.cleanup());

    test("accounts and zones round-trip with their filters", async () => {
      const a = make.account();
      const b = make.account({ name: "Other", createdAt: "2026-02-01T00:00:00Z" });
      const z1 = make.zone(a.id, { name: "b.example.test" });
      const z2 = make.zone(a.id, { name: "a.example.test" });
      const z3 = make.zone(b.id, { name: "c.example.test" });
      await store.transaction(async (tx) => {
        await tx.insertAccount(a);
        await tx.insertAccount(b);
        for (const z of [z1, z2, z3]) await tx.insertZone(z);
      });
      assert.deepEqual(await store.getAccount(a.id), a);
      assert.equal(await store.getAccount(make.newId()), undefined);
      const accounts = await store.listAccounts();
      assert.deepEqual(
        accounts.filter((x) => x.id === a.id || x.id === b.id),
        [a, b],
      );
      assert.deepEqual(await store.getZone(z1.id), z1);
      assert.deepEqual(await store.listZones({ accountId: a.id }), [z2, z1], "ordered by name");
      assert.deepEqual(await store.listZones({ name: "c.example.test" }), [z3]);
      assert.deepEqual(await store.listZones({ accountId: b.id, name: "a.example.test" }), []);
    });

    test("mtls certificates round-trip, filter by ca and name, and keep their key apart", async () => {
      const a = make.account();
      const ca = make.mtlsCertificate(a.id, { name: null });
      const leaf = make.mtlsCertificate(a.id, {
        ca: false,
        hasPrivateKey: true,
        name: "server",
        uploadedOn: "2026-02-01T00:00:00Z",
      });
      await store.transaction(async (tx) => {
        await tx.insertAccount(a);
        await tx.insertMtlsCertificate(ca);
        await tx.insertMtlsCertificate(leaf, make.PRIVATE_KEY_PEM);
      });
      assert.deepEqual(await store.getMtlsCertificate(ca.id), ca);
      assert.deepEqual(await store.getMtlsCertificate(leaf.id), leaf);
      assert.deepEqual(await store.listMtlsCertificates({ accountId: a.id }), [ca, leaf]);
      assert.deepEqual(await store.listMtlsCertificates({ accountId: a.id, ca: false }), [leaf]);
      assert.deepEqual(await store.listMtlsCertificates({ accountId: a.id, ca: true }), [ca]);
      assert.deepEqual(await store.listMtlsCertificates({ accountId: a.id, name: "server" }), [leaf]);
      assert.equal(await store.secretKeyPem({ kind: "mtls_certificate", id: leaf.id }), make.PRIVATE_KEY_PEM);
      assert.equal(await store.secretKeyPem({ kind: "mtls_certificate", id: ca.id }), undefined);
    });

    test("hostnames round-trip every nested field, and putHostname replaces by id", async () => {
      const a = make.account();
      const z = make.zone(a.id);
      const server = make.mtlsCertificate(a.id, { ca: false, hasPrivateKey: true });
      const originCa = make.mtlsCertificate(a.id);
      const h = make.hostname(z.id, `app.${z.name}`, {
        serverCertificateId: server.id,
        origin: { ...make.hostname(z.id, "x").origin, caCertificateId: originCa.id, servername: null },
      });
      const other = make.hostname(z.id, `api.${z.name}`, { isDefault: false });
      await store.transaction(async (tx) => {
        await tx.insertAccount(a);
        await tx.insertZone(z);
        await tx.insertMtlsCertificate(server, make.PRIVATE_KEY_PEM);
        await tx.insertMtlsCertificate(originCa);
        await tx.putHostname(h);
        await tx.putHostname(other);
      });
      assert.deepEqual(await store.getHostname(h.id), h);
      assert.deepEqual(await store.getHostnameByName(h.hostname), h);
      assert.equal(await store.getHostnameByName(`nope.${z.name}`), undefined);
      assert.deepEqual(await store.listHostnames({ zoneId: z.id }), [other, h]);

      const changed = {
        ...h,
        hostname: `www.${z.name}`,
        mtls: { ...h.mtls, mode: "permissive" as const, paths: [] },
        forward: [],
        updatedAt: "2026-03-01T00:00:00Z",
      };
      await store.transaction((tx) => tx.putHostname(changed));
      assert.deepEqual(await store.getHostname(h.id), changed);
      assert.equal(await store.getHostnameByName(h.hostname), undefined);
      assert.equal((await store.listHostnames({ zoneId: z.id })).length, 2);
    });

    test("hostname associations are replaced per CA, the managed CA being null", async () => {
      const a = make.account();
      const z = make.zone(a.id);
      const partner = make.mtlsCertificate(a.id);
      await store.transaction(async (tx) => {
        await tx.insertAccount(a);
        await tx.insertZone(z);
        await tx.insertMtlsCertificate(partner);
        await tx.replaceHostnameAssociations(z.id, partner.id, ["b.x.test", "a.x.test", "a.x.test"]);
        await tx.replaceHostnameAssociations(z.id, null, ["m.x.test"]);
      });
      const all = await store.listHostnameAssociations({ zoneId: z.id });
      assert.deepEqual(all, [
        { zoneId: z.id, mtlsCertificateId: partner.id, hostname: "a.x.test" },
        { zoneId: z.id, mtlsCertificateId: partner.id, hostname: "b.x.test" },
        { zoneId: z.id, mtlsCertificateId: null, hostname: "m.x.test" },
      ]);
      assert.deepEqual(await store.listHostnameAssociations({ zoneId: z.id, mtlsCertificateId: null }), [
        { zoneId: z.id, mtlsCertificateId: null, hostname: "m.x.test" },
      ]);
      await store.transaction((tx) => tx.replaceHostnameAssociations(z.id, partner.id, ["c.x.test"]));
      assert.deepEqual(
        (await store.listHostnameAssociations({ mtlsCertificateId: partner.id })).map((x) => x.hostname),
        ["c.x.test"],
      );
      await store.transaction((tx) => tx.replaceHostnameAssociations(z.id, partner.id, []));
      assert.deepEqual(await store.listHostnameAssociations({ mtlsCertificateId: partner.id }), []);
      assert.equal(
        (await store.listHostnameAssociations({ zoneId: z.id })).length,
        1,
        "the managed CA's stay",
      );
    });

    test("managed CA, client certificates and their status round-trip", async () => {
      const a = make.account();
      const z = make.zone(a.id);
      const ca = make.managedCa(z.id);
      const cert = make.clientCertificate(z.id, ca.id);
      await store.transaction(async (tx) => {
        await tx.insertAccount(a);
        await tx.insertZone(z);
        await tx.insertManagedCa(ca, make.PRIVATE_KEY_PEM);
        await tx.insertClientCertificate(cert);
      });
      assert.deepEqual(await store.getManagedCa(z.id), ca);
      assert.equal(await store.getManagedCa(make.newId()), undefined);
      assert.equal(await store.secretKeyPem({ kind: "managed_ca", id: ca.id }), make.PRIVATE_KEY_PEM);
      assert.deepEqual(await store.getClientCertificate(z.id, cert.id), cert);
      assert.equal(await store.getClientCertificate(make.newId(), cert.id), undefined, "scoped to its zone");

      await store.transaction((tx) =>
        tx.updateClientCertificateStatus(cert.id, "revoked", "2026-04-01T00:00:00Z"),
      );
      assert.deepEqual(await store.getClientCertificate(z.id, cert.id), {
        ...cert,
        status: "revoked",
        revokedOn: "2026-04-01T00:00:00Z",
      });
    });

    test("client certificates page newest first with the total of every match", async () => {
      const a = make.account();
      const z = make.zone(a.id);
      const ca = make.managedCa(z.id);
      const certs = Array.from({ length: 25 }, (_, i) =>
        make.clientCertificate(z.id, ca.id, {
          issuedOn: `2026-05-${String(i + 1).padStart(2, "0")}T00:00:00Z`,
          status: i % 5 === 0 ? "revoked" : "active",
        }),
      );
      await store.transaction(async (tx) => {
        await tx.insertAccount(a);
        await tx.insertZone(z);
        await tx.insertManagedCa(ca, make.PRIVATE_KEY_PEM);
        for (const c of certs) await tx.insertClientCertificate(c);
      });
      const first = await store.listClientCertificates({ zoneId: z.id });
      assert.equal(first.total, 25);
      assert.equal(first.items.length, 20, "default limit");
      assert.deepEqual(first.items[0], certs[24]);
      const rest = await store.listClientCertificates({ zoneId: z.id, limit: 20, offset: 20 });
      assert.deepEqual(
        rest.items.map((c) => c.id),
        certs
          .slice(0, 5)
          .reverse()
          .map((c) => c.id),
      );
      assert.equal(rest.total, 25);
      const revoked = await store.listClientCertificates({ zoneId: z.id, status: "revoked", limit: 2 });
      assert.equal(revoked.total, 5);
      assert.equal(revoked.items.length, 2);
      assert.ok(revoked.items.every((c) => c.status === "revoked"));
    });

    test("origin pull certificates and the per-zone switch round-trip", async () => {
      const a = make.account();
      const z = make.zone(a.id);
      const zoneWide = make.originPull(z.id, { hostname: null, enabled: false });
      const perHost = make.originPull(z.id, { createdAt: "2026-06-01T00:00:00Z" });
      assert.equal(await store.getOriginPullEnabled(z.id), false, "off until set");
      await store.transaction(async (tx) => {
        await tx.insertAccount(a);
        await tx.insertZone(z);
        await tx.insertOriginPullCertificate(zoneWide, make.PRIVATE_KEY_PEM);
        await tx.insertOriginPullCertificate(perHost, `${make.PRIVATE_KEY_PEM}2`);
        await tx.setOriginPullEnabled(z.id, true);
      });
      assert.deepEqual(await store.listOriginPullCertificates({ zoneId: z.id }), [zoneWide, perHost]);
      assert.equal(await store.getOriginPullEnabled(z.id), true);
      assert.equal(
        await store.secretKeyPem({ kind: "origin_pull", id: perHost.id }),
        `${make.PRIVATE_KEY_PEM}2`,
      );
      await store.transaction(async (tx) => {
        await tx.setOriginPullEnabled(z.id, false);
        await tx.deleteOriginPullCertificate(zoneWide.id);
      });
      assert.equal(await store.getOriginPullEnabled(z.id), false);
      assert.deepEqual(await store.listOriginPullCertificates({ zoneId: z.id }), [perHost]);
      assert.equal(
        await store.secretKeyPem({ kind: "origin_pull", id: zoneWide.id }),
        undefined,
        "key gone too",
      );
    });

    test("api tokens round-trip, are found by hash, and update", async () => {
      const token = make.apiToken();
      await store.transaction((tx) => tx.insertApiToken(token, "f".repeat(64)));
      assert.deepEqual(await store.getApiToken(token.id), token);
      assert.deepEqual(await store.getApiTokenByHash("f".repeat(64)), token);
      assert.equal(await store.getApiTokenByHash("e".repeat(64)), undefined);
      await store.transaction((tx) => tx.updateApiToken(token.id, { lastUsedAt: "2026-07-01T00:00:00Z" }));
      await store.transaction((tx) => tx.updateApiToken(token.id, { status: "revoked" }));
      const updated = { ...token, status: "revoked" as const, lastUsedAt: "2026-07-01T00:00:00Z" };
      assert.deepEqual(await store.getApiToken(token.id), updated);
      assert.ok((await store.listApiTokens()).some((t) => t.id === token.id));
    });

    test("audit entries: JSON before/after, newest first, filtered, paged with a total", async () => {
      const resource = `accounts/${make.newId()}/mtls_certificates/x`;
      const tokenId = make.newId();
      await store.transaction(async (tx) => {
        await tx.audit({
          tokenId,
          action: "mtls_certificate.create",
          resource,
          before: null,
          after: { a: [1, "x"] },
        });
        await tx.audit({
          tokenId: null,
          action: "mtls_certificate.update",
          resource,
          before: { a: 1 },
          after: { a: 2 },
        });
      });
      await store.transaction((tx) =>
        tx.audit({
          tokenId: null,
          action: "mtls_certificate.delete",
          resource,
          before: { a: 2 },
          after: null,
        }),
      );
      const page = await store.listAudit({ resource });
      assert.equal(page.total, 3);
      assert.deepEqual(
        page.items.map((e) => e.action),
        ["mtls_certificate.delete", "mtls_certificate.update", "mtls_certificate.create"],
      );
      const created = page.items[2];
      assert.ok(created);
      assert.equal(created.tokenId, tokenId);
      assert.deepEqual(created.after, { a: [1, "x"] });
      assert.equal(created.before, null);
      assert.match(created.id, /^[0-9a-f]{32}$/);
      assert.match(created.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const filtered = await store.listAudit({ resource, action: "mtls_certificate.update" });
      assert.equal(filtered.total, 1);
      assert.deepEqual(filtered.items[0]?.before, { a: 1 });
      const second = await store.listAudit({ resource, limit: 1, offset: 1 });
      assert.deepEqual(
        second.items.map((e) => e.action),
        ["mtls_certificate.update"],
      );
      assert.equal(second.total, 3);
    });

    test("deleting a zone takes its managed CA, certificates, keys and settings with it", async () => {
      const a = make.account();
      const z = make.zone(a.id);
      const ca = make.managedCa(z.id);
      const pull = make.originPull(z.id);
      await store.transaction(async (tx) => {
        await tx.insertAccount(a);
        await tx.insertZone(z);
        await tx.insertManagedCa(ca, make.PRIVATE_KEY_PEM);
        await tx.insertClientCertificate(make.clientCertificate(z.id, ca.id));
        await tx.insertOriginPullCertificate(pull, make.PRIVATE_KEY_PEM);
        await tx.setOriginPullEnabled(z.id, true);
        await tx.replaceHostnameAssociations(z.id, null, ["a.test"]);
      });
      await store.transaction((tx) => tx.deleteZone(z.id));
      assert.equal(await store.getZone(z.id), undefined);
      assert.equal(await store.getManagedCa(z.id), undefined);
      assert.equal((await store.listClientCertificates({ zoneId: z.id })).total, 0);
      assert.deepEqual(await store.listOriginPullCertificates({ zoneId: z.id }), []);
      assert.deepEqual(await store.listHostnameAssociations({ zoneId: z.id }), []);
      assert.equal(await store.getOriginPullEnabled(z.id), false);
      const left = await db.raw(`SELECT owner_id FROM secrets WHERE owner_id IN ('${ca.id}', '${pull.id}')`);
      assert.deepEqual(left, []);
    });
  });
}

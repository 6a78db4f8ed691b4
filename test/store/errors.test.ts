import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Store, StoreError, type StoreErrorCode } from "../../src/store/types.ts";
import * as make from "./fixtures.ts";
import { KINDS, skipFor, type TestDatabase, testDatabase } from "./harness.ts";

/** Asserts a StoreError with this code whose message matches. */
async function rejectsWith(promise: Promise<unknown>, code: StoreErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StoreError, `a StoreError, not ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    return true;
  });
}

for (const kind of KINDS) {
  describe(`store errors and transactions (${kind})`, { skip: skipFor(kind) }, () => {
    let db: TestDatabase;
    let store: Store;
    const a = make.account();
    const z = make.zone(a.id, { name: "errors.example.test" });
    before(async () => {
      db = await testDatabase(kind);
      store = await db.open();
      await store.transaction(async (tx) => {
        await tx.insertAccount(a);
        await tx.insertZone(z);
      });
    });
    after(() => db.cleanup());

    test("unique violations are conflicts: zone name, hostname, association, token hash", async () => {
      await rejectsWith(
        store.transaction((tx) => tx.insertZone(make.zone(a.id, { name: z.name }))),
        "conflict",
        /zone errors\.example\.test .*already exists/,
      );
      await store.transaction((tx) => tx.putHostname(make.hostname(z.id, "taken.errors.example.test")));
      await rejectsWith(
        store.transaction((tx) => tx.putHostname(make.hostname(z.id, "taken.errors.example.test"))),
        "conflict",
        /hostname taken\.errors\.example\.test already exists/,
      );
      const partner = make.mtlsCertificate(a.id);
      await store.transaction(async (tx) => {
        await tx.insertMtlsCertificate(partner);
        await tx.replaceHostnameAssociations(z.id, null, ["one.errors.example.test"]);
      });
      await rejectsWith(
        store.transaction((tx) =>
          tx.replaceHostnameAssociations(z.id, partner.id, ["one.errors.example.test"]),
        ),
        "conflict",
        /already associated with another CA/,
      );
      await store.transaction((tx) => tx.insertApiToken(make.apiToken(), "a".repeat(64)));
      await rejectsWith(
        store.transaction((tx) => tx.insertApiToken(make.apiToken(), "a".repeat(64))),
        "conflict",
        /already exists/,
      );
      await rejectsWith(
        store.transaction((tx) => tx.insertAccount(a)),
        "conflict",
        new RegExp(`account ${a.id} already exists`),
      );
    });

    test("a zone with hostnames, or a certificate in use, cannot be deleted (in_use)", async () => {
      const zone = make.zone(a.id);
      const server = make.mtlsCertificate(a.id, { ca: false, hasPrivateKey: true });
      const originCa = make.mtlsCertificate(a.id);
      const trusted = make.mtlsCertificate(a.id);
      const host = make.hostname(zone.id, `app.${zone.name}`, { serverCertificateId: server.id });
      await store.transaction(async (tx) => {
        await tx.insertZone(zone);
        await tx.insertMtlsCertificate(server, make.PRIVATE_KEY_PEM);
        await tx.insertMtlsCertificate(originCa);
        await tx.insertMtlsCertificate(trusted);
        await tx.putHostname(host);
        await tx.putHostname(
          make.hostname(zone.id, `api.${zone.name}`, {
            origin: { ...host.origin, caCertificateId: originCa.id },
          }),
        );
        await tx.replaceHostnameAssociations(zone.id, trusted.id, [`app.${zone.name}`]);
      });
      await rejectsWith(
        store.transaction((tx) => tx.deleteZone(zone.id)),
        "in_use",
        new RegExp(`zone ${zone.name} is used by hostnames api\\.${zone.name}, app\\.${zone.name}`),
      );
      await rejectsWith(
        store.transaction((tx) => tx.deleteMtlsCertificate(server.id)),
        "in_use",
        new RegExp(`mtls certificate ${server.id} is used by hostname app\\.${zone.name}`),
      );
      await rejectsWith(
        store.transaction((tx) => tx.deleteMtlsCertificate(originCa.id)),
        "in_use",
        new RegExp(`is used by hostname api\\.${zone.name}`),
      );
      await rejectsWith(
        store.transaction((tx) => tx.deleteMtlsCertificate(trusted.id)),
        "in_use",
        new RegExp(`is used by the association of app\\.${zone.name}`),
      );
      assert.ok(await store.getZone(zone.id), "still there");
      assert.ok(await store.getMtlsCertificate(server.id));

      // Once unused, they go, and so does the certificate's key.
      await store.transaction(async (tx) => {
        for (const h of await tx.listHostnames({ zoneId: zone.id })) await tx.deleteHostname(h.id);
        await tx.replaceHostnameAssociations(zone.id, trusted.id, []);
        await tx.deleteMtlsCertificate(server.id);
        await tx.deleteMtlsCertificate(originCa.id);
        await tx.deleteMtlsCertificate(trusted.id);
        await tx.deleteZone(zone.id);
      });
      assert.equal(await store.getZone(zone.id), undefined);
      assert.equal(await store.secretKeyPem({ kind: "mtls_certificate", id: server.id }), undefined);
    });

    test("missing ids on update or delete are not_found; dangling references are invalid", async () => {
      const missing = make.newId();
      await rejectsWith(
        store.transaction((tx) => tx.deleteZone(missing)),
        "not_found",
        /zone .* does not exist/,
      );
      await rejectsWith(
        store.transaction((tx) => tx.deleteHostname(missing)),
        "not_found",
        /hostname/,
      );
      await rejectsWith(
        store.transaction((tx) => tx.deleteMtlsCertificate(missing)),
        "not_found",
        /mtls/,
      );
      await rejectsWith(
        store.transaction((tx) => tx.deleteOriginPullCertificate(missing)),
        "not_found",
        /origin/,
      );
      await rejectsWith(
        store.transaction((tx) => tx.updateClientCertificateStatus(missing, "revoked", null)),
        "not_found",
        /client certificate/,
      );
      await rejectsWith(
        store.transaction((tx) => tx.updateApiToken(missing, { status: "revoked" })),
        "not_found",
        /token/,
      );
      await rejectsWith(
        store.transaction((tx) => tx.updateApiToken(missing, {})),
        "not_found",
        /token/,
      );
      await rejectsWith(
        store.transaction((tx) => tx.insertZone(make.zone(missing))),
        "invalid",
        new RegExp(`account ${missing} does not exist`),
      );
      await rejectsWith(
        store.transaction((tx) =>
          tx.putHostname(make.hostname(z.id, "x.errors.example.test", { serverCertificateId: missing })),
        ),
        "invalid",
        /refers to a zone or mtls certificate that does not exist/,
      );
      await rejectsWith(
        store.transaction((tx) =>
          tx.insertMtlsCertificate(make.mtlsCertificate(a.id, { hasPrivateKey: true })),
        ),
        "invalid",
        /hasPrivateKey is true but a private key was not given/,
      );
    });

    test("a transaction that throws midway leaves nothing written and the version unchanged", async () => {
      const before = await store.version();
      const zone = make.zone(a.id);
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.insertZone(zone);
          await tx.putHostname(make.hostname(zone.id, `app.${zone.name}`));
          assert.ok(await tx.getZone(zone.id), "visible inside the transaction");
          throw new Error("midway");
        }),
        /midway/,
      );
      assert.equal(await store.getZone(zone.id), undefined);
      assert.equal(await store.getHostnameByName(`app.${zone.name}`), undefined);
      assert.equal(await store.version(), before);
    });

    test("a failed write caught inside a transaction is undone alone; the rest commits", async () => {
      const zone = make.zone(a.id);
      const partner = make.mtlsCertificate(a.id);
      await store.transaction(async (tx) => {
        await tx.insertZone(zone);
        await tx.insertMtlsCertificate(partner);
        await tx.replaceHostnameAssociations(zone.id, null, ["keep.test"]);
        await tx.replaceHostnameAssociations(zone.id, partner.id, ["taken.test"]);
      });
      await store.transaction(async (tx) => {
        await assert.rejects(tx.insertZone(make.zone(a.id, { name: z.name })), { code: "conflict" });
        // Deletes keep.test, then fails to insert taken.test: neither statement may stay.
        await assert.rejects(tx.replaceHostnameAssociations(zone.id, null, ["taken.test"]), {
          code: "conflict",
        });
        await tx.putHostname(make.hostname(zone.id, `after.${zone.name}`));
      });
      assert.ok(await store.getHostnameByName(`after.${zone.name}`));
      assert.deepEqual(
        (await store.listHostnameAssociations({ zoneId: zone.id, mtlsCertificateId: null })).map(
          (x) => x.hostname,
        ),
        ["keep.test"],
      );
    });

    test("a transaction started inside another one on the same store is refused, not a deadlock", async () => {
      await rejectsWith(
        store.transaction(() => store.transaction(async () => 1)),
        "invalid",
        /cannot start inside another one/,
      );
      assert.equal(await store.transaction(async () => 2), 2, "the store still works");
    });

    test("reads outside a transaction do not see its uncommitted writes", async () => {
      const zone = make.zone(a.id);
      await store.transaction(async (tx) => {
        await tx.insertZone(zone);
        assert.equal(await store.getZone(zone.id), undefined);
      });
      assert.deepEqual(await store.getZone(zone.id), zone);
    });

    test("the version bumps once per writing transaction, never for read-only ones", async () => {
      const start = await store.version();
      await store.transaction(async (tx) => {
        await tx.insertZone(make.zone(a.id));
        await tx.insertZone(make.zone(a.id));
        await tx.audit({
          tokenId: null,
          action: "zone.create",
          resource: "zones",
          before: null,
          after: null,
        });
      });
      assert.equal(await store.version(), start + 1);
      const inside = await store.transaction(async (tx) => {
        await tx.listZones();
        return tx.version();
      });
      assert.equal(inside, start + 1);
      assert.equal(await store.version(), start + 1, "a read-only transaction does not bump");
      await store.transaction((tx) => tx.insertZone(make.zone(a.id)));
      assert.equal(await store.version(), start + 2);
    });
  });
}

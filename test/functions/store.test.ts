/** Functions and their routes in the store (migration 0004_functions), on SQLite and PostgreSQL. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { functionsFromStore } from "../../src/functions/from-store.ts";
import type { EdgeFunction } from "../../src/store/functions.ts";
import { type Store, StoreError } from "../../src/store/types.ts";
import * as make from "../store/fixtures.ts";
import { KINDS, skipFor, type TestDatabase, testDatabase } from "../store/harness.ts";

function fn(accountId: string, name: string, overrides: Partial<EdgeFunction> = {}): EdgeFunction {
  return {
    id: make.newId(),
    accountId,
    name,
    mainModule: "worker.js",
    script: `export default { fetch() { return new Response("${name}"); } };`,
    bindings: [
      { type: "plain_text", name: "GREETING", text: 'hé "quoted"\n' },
      { type: "json", name: "CONF", json: { a: [1, 2] } },
    ],
    compatibilityDate: "2025-01-01",
    compatibilityFlags: ["nodejs_compat"],
    cpuMs: 50,
    createdOn: "2026-11-25T00:00:00Z",
    modifiedOn: "2026-11-25T00:00:01Z",
    ...overrides,
  };
}

for (const kind of KINDS) {
  describe(`store functions (${kind})`, { skip: skipFor(kind) }, () => {
    let db: TestDatabase;
    let store: Store;
    const account = make.account();
    const zone = make.zone(account.id, { name: "example.test" });
    const cert = make.mtlsCertificate(account.id, { ca: false, hasPrivateKey: true });
    before(async () => {
      db = await testDatabase(kind);
      store = await db.open();
      await store.transaction(async (tx) => {
        await tx.insertAccount(account);
        await tx.insertZone(zone);
        await tx.insertMtlsCertificate(cert, make.PRIVATE_KEY_PEM);
      });
    });
    after(() => db.cleanup());

    test("a function and its routes round-trip; writes bump the version; names are unique per account", async () => {
      const a = fn(account.id, "alpha", {
        bindings: [{ type: "mtls_certificate", name: "MY_CERT", certificateId: cert.id }],
        cpuMs: null,
      });
      const version = await store.version();
      await store.transaction(async (tx) => {
        await tx.functions.putFunction(a);
        await tx.functions.insertRoute({
          id: make.newId(),
          zoneId: zone.id,
          pattern: "api.example.test/*",
          functionId: a.id,
          script: "",
        });
      });
      assert.ok((await store.version()) > version);
      assert.deepEqual(await store.functions.getFunction(account.id, "alpha"), a);
      const routes = await store.functions.listRoutes({ zoneId: zone.id });
      assert.deepEqual(
        routes.map((r) => [r.pattern, r.script]),
        [["api.example.test/*", "alpha"]],
      );
      await assert.rejects(
        store.transaction((tx) => tx.functions.putFunction(fn(account.id, "alpha"))),
        (err: unknown) => err instanceof StoreError && err.code === "conflict",
      );
      await assert.rejects(
        store.transaction((tx) =>
          tx.functions.insertRoute({
            id: make.newId(),
            zoneId: zone.id,
            pattern: "api.example.test/*",
            functionId: a.id,
            script: "",
          }),
        ),
        (err: unknown) => err instanceof StoreError && err.code === "conflict",
      );
      // Replaced by id: the same row, new content.
      await store.transaction((tx) =>
        tx.functions.putFunction({ ...a, script: "export default {};", cpuMs: 10 }),
      );
      assert.equal((await store.functions.getFunction(account.id, "alpha"))?.cpuMs, 10);
    });

    test("the edge config: functions with their keys decrypted and routes by script", async () => {
      const b = fn(account.id, "beta");
      await store.transaction(async (tx) => {
        await tx.functions.putFunction(b);
        await tx.functions.insertRoute({
          id: make.newId(),
          zoneId: zone.id,
          pattern: "*.example.test/beta*",
          functionId: b.id,
          script: "",
        });
      });
      const config = await functionsFromStore(store);
      assert.ok(config);
      const alpha = config.scripts.find((s) => s.name === "alpha");
      assert.deepEqual(alpha?.bindings, [
        {
          type: "mtls",
          name: "MY_CERT",
          certificateId: cert.id,
          certPem: cert.certificates,
          keyPem: make.PRIVATE_KEY_PEM,
        },
      ]);
      const beta = config.scripts.find((s) => s.name === "beta");
      assert.deepEqual(beta?.bindings, [
        { type: "text", name: "GREETING", text: 'hé "quoted"\n' },
        { type: "json", name: "CONF", json: '{"a":[1,2]}' },
      ]);
      assert.equal(beta?.cpuMs, 50);
      assert.deepEqual(config.routes.map((r) => r.pattern).sort(), [
        "*.example.test/beta*",
        "api.example.test/*",
      ]);
      assert.equal(config.routes.find((r) => r.pattern.startsWith("*"))?.script, `${account.id}/beta`);
    });

    test("deleting a function deletes its routes; deleting a missing one is not_found", async () => {
      const beta = await store.functions.getFunction(account.id, "beta");
      assert.ok(beta);
      await store.transaction((tx) => tx.functions.deleteFunction(beta.id));
      assert.equal(await store.functions.getFunction(account.id, "beta"), undefined);
      assert.deepEqual((await store.functions.listRoutes({ functionId: beta.id })).length, 0);
      await assert.rejects(
        store.transaction((tx) => tx.functions.deleteFunction(beta.id)),
        (err: unknown) => err instanceof StoreError && err.code === "not_found",
      );
      assert.deepEqual(
        (await store.functions.listFunctions({ accountId: account.id })).map((f) => f.name),
        ["alpha"],
      );
    });
  });
}

import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openStore } from "../../src/store/index.ts";
import { StoreError } from "../../src/store/types.ts";
import * as make from "./fixtures.ts";
import { KINDS, skipFor, type TestDatabase, testDatabase } from "./harness.ts";

for (const kind of KINDS) {
  describe(`store open and migrations (${kind})`, { skip: skipFor(kind) }, () => {
    let db: TestDatabase;
    before(async () => {
      db = await testDatabase(kind);
    });
    after(() => db.cleanup());

    test("opening twice (and at once) migrates once and keeps the data", async () => {
      const [first, second] = await Promise.all([db.open(), db.open()]);
      assert.ok(first && second);
      assert.equal(first.kind, kind);
      const a = make.account();
      await first.transaction((tx) => tx.insertAccount(a));
      await first.close();
      const third = await db.open();
      assert.deepEqual(await third.getAccount(a.id), a);
      assert.deepEqual(await second.getAccount(a.id), a);
      assert.equal(await third.version(), 1);
      const applied = await db.raw("SELECT name FROM kysely_migration ORDER BY name");
      assert.deepEqual(
        applied.map((row) => row.name),
        ["0001_initial", "0002_rulesets", "0003_access", "0004_functions"],
      );
    });

    test("an unusable database is `unavailable`, and the message holds no password", async () => {
      const options =
        kind === "postgres"
          ? { databaseUrl: "postgres://portcullis:hunter2@127.0.0.1:1/nothing", dataDir: db.dataDir }
          : { dataDir: join(db.dataDir, "not-a-dir", "data") };
      if (kind === "sqlite") await writeFile(join(db.dataDir, "not-a-dir"), "a file");
      await assert.rejects(openStore({ ...options, secretKey: db.secretKey }), (error: unknown) => {
        assert.ok(error instanceof StoreError, String(error));
        assert.equal(error.code, "unavailable");
        assert.ok(!error.message.includes("hunter2"), error.message);
        return true;
      });
    });
  });
}

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { StoreError } from "../../src/store/types.ts";
import * as make from "./fixtures.ts";
import { KINDS, skipFor, type TestDatabase, testDatabase } from "./harness.ts";

for (const kind of KINDS) {
  describe(`store secrets (${kind})`, { skip: skipFor(kind) }, () => {
    let db: TestDatabase;
    const a = make.account();
    const z = make.zone(a.id);
    const ca = make.managedCa(z.id);
    before(async () => {
      db = await testDatabase(kind);
      const store = await db.open();
      await store.transaction(async (tx) => {
        await tx.insertAccount(a);
        await tx.insertZone(z);
        await tx.insertManagedCa(ca, make.PRIVATE_KEY_PEM);
      });
    });
    after(() => db.cleanup());

    test("the database holds AES-GCM ciphertext, not the PEM, and no record mentions the key", async () => {
      const rows = await db.raw("SELECT * FROM secrets");
      assert.equal(rows.length, 1);
      const row = rows[0] as Record<string, string>;
      assert.equal(row.owner_kind, "managed_ca");
      assert.equal(row.owner_id, ca.id);
      assert.equal(Buffer.from(row.iv ?? "", "base64").length, 12);
      assert.equal(Buffer.from(row.tag ?? "", "base64").length, 16);
      const everything = JSON.stringify(
        await Promise.all(
          ["secrets", "managed_cas", "audit", "state"].map((t) => db.raw(`SELECT * FROM ${t}`)),
        ),
      );
      assert.ok(!everything.includes("PRIVATE KEY"), "no PEM anywhere");
      assert.ok(!everything.includes("example0private0key0material"), "no key material in plain text");
      const ciphertext = Buffer.from(row.ciphertext ?? "", "base64");
      assert.ok(!ciphertext.toString("latin1").includes("PRIVATE KEY"));
      assert.ok(!everything.includes(db.secretKey.toString("base64")), "the secret key is not stored");
    });

    test("the same key decrypts, from another Store too", async () => {
      const again = await db.open();
      assert.equal(await again.secretKeyPem({ kind: "managed_ca", id: ca.id }), make.PRIVATE_KEY_PEM);
    });

    test("a wrong key fails with a clear error that does not leak the key", async () => {
      const wrongKey = randomBytes(32);
      const wrong = await db.open({ secretKey: wrongKey });
      await assert.rejects(wrong.secretKeyPem({ kind: "managed_ca", id: ca.id }), (error: unknown) => {
        assert.ok(error instanceof StoreError);
        assert.equal(error.code, "invalid");
        assert.match(
          error.message,
          new RegExp(`cannot decrypt .*managed_ca ${ca.id} \\(wrong secret key\\?\\)`),
        );
        assert.ok(!error.message.includes(wrongKey.toString("base64")));
        assert.ok(!error.message.includes(wrongKey.toString("hex")));
        return true;
      });
      // Still readable with the right key: nothing was rewritten.
      assert.equal(
        await (await db.open()).secretKeyPem({ kind: "managed_ca", id: ca.id }),
        make.PRIVATE_KEY_PEM,
      );
    });

    test("a ciphertext moved to another owner does not decrypt (the owner is authenticated)", async () => {
      const other = make.originPull(z.id);
      const store = await db.open();
      await store.transaction((tx) =>
        tx.insertOriginPullCertificate(other, "-----BEGIN PRIVATE KEY-----\nother\n"),
      );
      const [row] = await db.raw(`SELECT iv, ciphertext, tag FROM secrets WHERE owner_id = '${ca.id}'`);
      const { iv, ciphertext, tag } = row as Record<string, string>;
      await db.raw(
        `UPDATE secrets SET iv = '${iv}', ciphertext = '${ciphertext}', tag = '${tag}' WHERE owner_id = '${other.id}'`,
      );
      await assert.rejects(store.secretKeyPem({ kind: "origin_pull", id: other.id }), { code: "invalid" });
    });

    test("without a given key, a key file is created with mode 0600 and reused", async () => {
      const dataDir = join(db.dataDir, "keyless");
      const previous = process.env.PORTCULLIS_SECRET_KEY;
      delete process.env.PORTCULLIS_SECRET_KEY;
      try {
        const first = await db.open({ dataDir, withoutKey: true });
        const keyFile = join(dataDir, "secret.key");
        assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
        const key = Buffer.from((await readFile(keyFile, "utf8")).trim(), "base64");
        assert.equal(key.length, 32);
        // A fresh SQLite file in this data dir; the same schema on PostgreSQL.
        const account = make.account();
        const zone = make.zone(account.id);
        const owner = make.originPull(zone.id);
        await first.transaction(async (tx) => {
          await tx.insertAccount(account);
          await tx.insertZone(zone);
          await tx.insertOriginPullCertificate(owner, "-----BEGIN PRIVATE KEY-----\nf\n");
        });
        const second = await db.open({ dataDir, withoutKey: true });
        assert.equal(
          await second.secretKeyPem({ kind: "origin_pull", id: owner.id }),
          "-----BEGIN PRIVATE KEY-----\nf\n",
        );
        // The env variable wins over the file: the same key as hex decrypts, another one does not.
        process.env.PORTCULLIS_SECRET_KEY = key.toString("hex");
        const fromEnv = await db.open({ dataDir, withoutKey: true });
        assert.ok(await fromEnv.secretKeyPem({ kind: "origin_pull", id: owner.id }));
        process.env.PORTCULLIS_SECRET_KEY = randomBytes(32).toString("base64");
        const otherEnv = await db.open({ dataDir, withoutKey: true });
        await assert.rejects(otherEnv.secretKeyPem({ kind: "origin_pull", id: owner.id }), {
          code: "invalid",
        });
        process.env.PORTCULLIS_SECRET_KEY = "too-short";
        await assert.rejects(db.open({ dataDir, withoutKey: true }), {
          code: "invalid",
          message: /PORTCULLIS_SECRET_KEY: the secret key must be 32 bytes/,
        });
      } finally {
        if (previous === undefined) delete process.env.PORTCULLIS_SECRET_KEY;
        else process.env.PORTCULLIS_SECRET_KEY = previous;
      }
    });
  });
}

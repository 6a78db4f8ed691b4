/** Access signing keys: RSA-2048 with a self-signed certificate, the JWK, and the rotation schedule on both stores. */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { after, describe, test } from "node:test";
import { createLocalJWKSet, jwtVerify, SignJWT } from "jose";
import { keyPlan, newSigningKey, publicJwk, rotateAccessKeys } from "../../src/access/keys.ts";
import { newId, timestamp } from "../../src/store/ids.ts";
import { KINDS, skipFor, type TestDatabase, testDatabase } from "../store/harness.ts";

const DAY = 86_400_000;

test("a signing key: RSA-2048, kid, a self-signed certificate, a JWK that verifies its signatures", async () => {
  const { key, privateKeyPem } = await newSigningKey(newId());
  assert.match(key.kid, /^[0-9a-f]{64}$/);
  const cert = new X509Certificate(key.certificatePem);
  assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  assert.ok(cert.verify(cert.publicKey), "self-signed");
  assert.equal(cert.ca, false);
  const jwk = await publicJwk(key);
  assert.deepEqual(Object.keys(jwk).sort(), ["alg", "e", "kid", "kty", "n", "use"]);
  assert.equal(jwk.alg, "RS256");
  const jwt = await new SignJWT({ sub: "x" })
    .setProtectedHeader({ alg: "RS256", kid: key.kid })
    .sign((await import("node:crypto")).createPrivateKey(privateKeyPem));
  const { payload } = await jwtVerify(jwt, createLocalJWKSet({ keys: [jwk] }));
  assert.equal(payload.sub, "x");
});

describe("keyPlan", () => {
  const at = (ms: number) => timestamp(new Date(ms));
  const now = Date.parse("2026-11-25T00:00:00Z");
  test("no key: rotate", () => {
    assert.deepEqual(keyPlan([], now, 42 * DAY, DAY), { rotate: true, published: [], retired: [] });
  });
  test("rotates after the period; the old key stays while its tokens can live, then retires", () => {
    const keys = [
      { kid: "new", createdAt: at(now - 2 * 3_600_000) },
      { kid: "old", createdAt: at(now - 43 * DAY) },
      { kid: "older", createdAt: at(now - 90 * DAY) },
    ];
    const plan = keyPlan(keys, now, 42 * DAY, DAY);
    assert.equal(plan.rotate, false);
    assert.deepEqual(plan.published, ["new", "old"], "a 24 h session signed by old can still be valid");
    assert.deepEqual(plan.retired, ["older"]);
    const later = keyPlan(keys, now + DAY, 42 * DAY, DAY);
    assert.deepEqual(later.published, ["new"]);
    assert.equal(keyPlan(keys, now + 42 * DAY, 42 * DAY, DAY).rotate, true);
  });
});

for (const kind of KINDS) {
  describe(`rotateAccessKeys on ${kind}`, { skip: skipFor(kind) }, () => {
    let db: TestDatabase;
    after(() => db?.cleanup());
    test("creates the first key, rotates on schedule, deletes what no token can use", async () => {
      db = await testDatabase(kind);
      const store = await db.open();
      const accountId = newId();
      const start = new Date("2026-01-01T00:00:00Z");
      await store.transaction(async (tx) => {
        await tx.insertAccount({ id: accountId, name: "a", createdAt: timestamp(start) });
        await tx.access.putApp({
          id: newId(),
          accountId,
          name: "app",
          domain: "a.example.com",
          type: "self_hosted",
          sessionDuration: "24h",
          aud: "a".repeat(64),
          createdAt: timestamp(start),
          updatedAt: timestamp(start),
        });
      });
      assert.deepEqual(await rotateAccessKeys(store, { rotationDays: 42, now: start }), {
        created: 1,
        deleted: 0,
      });
      assert.deepEqual(await rotateAccessKeys(store, { rotationDays: 42, now: start }), {
        created: 0,
        deleted: 0,
      });
      const first = (await store.access.listKeys(accountId))[0];
      assert.ok(first && (await store.access.keyPem(first.kid))?.includes("PRIVATE KEY"));
      const raw = await db.raw("select ciphertext from secrets where owner_kind = 'access_key'");
      assert.equal(raw.length, 1);
      assert.doesNotMatch(String(raw[0]?.ciphertext), /PRIVATE KEY/, "sealed at rest");

      const rotated = new Date(start.getTime() + 42 * DAY);
      assert.deepEqual(await rotateAccessKeys(store, { rotationDays: 42, now: rotated }), {
        created: 1,
        deleted: 0,
      });
      const keys = await store.access.listKeys(accountId);
      assert.equal(keys.length, 2);
      assert.equal(keys[1]?.kid, first.kid, "newest first; the previous key is kept");
      const retired = new Date(rotated.getTime() + DAY + 10 * 60_000);
      assert.deepEqual(await rotateAccessKeys(store, { rotationDays: 42, now: retired }), {
        created: 0,
        deleted: 1,
      });
      assert.deepEqual(
        (await store.access.listKeys(accountId)).map((k) => k.kid),
        [keys[0]?.kid],
      );
      assert.equal(await store.access.keyPem(first.kid), undefined, "its sealed key went with it");
      const audit = await store.listAudit({ action: "access_keys.rotate" });
      assert.equal(audit.total, 3);

      // The account's own interval (PUT /access/keys) beats the default.
      await store.transaction((tx) => tx.access.setKeyRotationDays(accountId, 30));
      const early = new Date(rotated.getTime() + 30 * DAY);
      assert.deepEqual(await rotateAccessKeys(store, { rotationDays: 42, now: early }), {
        created: 1,
        deleted: 0,
      });
    });
  });
}

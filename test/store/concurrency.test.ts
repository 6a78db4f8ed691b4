import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Store, StoreWriter } from "../../src/store/types.ts";
import * as make from "./fixtures.ts";
import { KINDS, skipFor, type TestDatabase, testDatabase } from "./harness.ts";

/**
 * A read-modify-write that only serializable transactions get right: each reads how many accounts carry
 * the prefix and inserts the next number. Lost updates or phantom reads would repeat a number.
 */
async function takeNext(tx: StoreWriter, prefix: string): Promise<number> {
  const taken = (await tx.listAccounts()).filter((x) => x.name.startsWith(prefix)).length;
  await tx.insertAccount(make.account({ name: `${prefix}${taken}` }));
  return taken;
}

async function namesWith(store: Store, prefix: string): Promise<string[]> {
  return (await store.listAccounts())
    .map((x) => x.name)
    .filter((name) => name.startsWith(prefix))
    .sort((x, y) => Number(x.slice(prefix.length)) - Number(y.slice(prefix.length)));
}

const expected = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

for (const kind of KINDS) {
  describe(`store concurrency (${kind})`, { skip: skipFor(kind) }, () => {
    let db: TestDatabase;
    let store: Store;
    before(async () => {
      db = await testDatabase(kind);
      store = await db.open();
    });
    after(() => db.cleanup());

    test("50 concurrent transactions on one Store: none lost, none duplicated, 50 versions", async () => {
      const start = await store.version();
      const heard: number[] = [];
      const unwatch = store.watch((version) => heard.push(version));
      const taken = await Promise.all(
        Array.from({ length: 50 }, () => store.transaction((tx) => takeNext(tx, "one-"))),
      );
      unwatch();
      assert.deepEqual(
        [...taken].sort((x, y) => x - y),
        Array.from({ length: 50 }, (_, i) => i),
      );
      assert.deepEqual(await namesWith(store, "one-"), expected("one-", 50));
      assert.equal(await store.version(), start + 50);
      assert.deepEqual(
        heard,
        Array.from({ length: 50 }, (_, i) => start + i + 1),
        "every version heard once, in order",
      );
    });

    test("50 concurrent transactions split over two Stores on one database: none lost, none duplicated", async () => {
      const other = await db.open();
      const start = await store.version();
      const runs = Array.from({ length: 50 }, (_, i) =>
        (i % 2 === 0 ? store : other).transaction((tx) => takeNext(tx, "two-")),
      );
      const taken = await Promise.all(runs);
      assert.deepEqual(
        [...taken].sort((x, y) => x - y),
        Array.from({ length: 50 }, (_, i) => i),
      );
      assert.deepEqual(await namesWith(other, "two-"), expected("two-", 50));
      assert.equal(await store.version(), start + 50);
    });
  });
}

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Store } from "../../src/store/types.ts";
import * as make from "./fixtures.ts";
import { KINDS, skipFor, type TestDatabase, testDatabase } from "./harness.ts";

/** Resolves when `predicate` holds, polling every 20 ms; fails after `ms`. */
async function eventually(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await sleep(20);
  }
}

for (const kind of KINDS) {
  describe(`store watch (${kind})`, { skip: skipFor(kind) }, () => {
    let db: TestDatabase;
    let store: Store;
    const a = make.account();
    before(async () => {
      db = await testDatabase(kind);
      store = await db.open();
      await store.transaction((tx) => tx.insertAccount(a));
    });
    after(() => db.cleanup());

    test("fires once per writing transaction, after the commit, with the new version", async () => {
      const heard: number[] = [];
      const seenAtCallback: Promise<unknown>[] = [];
      const zone = make.zone(a.id);
      const unwatch = store.watch((version) => {
        heard.push(version);
        // Committed by then: a read outside the transaction sees it.
        seenAtCallback.push(store.getZone(zone.id));
      });
      await store.transaction(async (tx) => {
        await tx.insertZone(zone);
        await tx.putHostname(make.hostname(zone.id, `app.${zone.name}`));
        assert.deepEqual(heard, [], "not before the commit");
      });
      const version = await store.version();
      assert.deepEqual(heard, [version]);
      assert.deepEqual(await seenAtCallback[0], zone);

      await store.transaction((tx) => tx.listZones());
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.insertZone(make.zone(a.id));
          throw new Error("rolled back");
        }),
      );
      await sleep(kind === "postgres" ? 1300 : 50); // past a poll
      assert.deepEqual(heard, [version], "nothing for read-only or rolled-back transactions");

      unwatch();
      await store.transaction((tx) => tx.insertZone(make.zone(a.id)));
      assert.deepEqual(heard, [version], "not after unwatch");
    });

    test("a listener that throws does not stop the others or the writer", async () => {
      const heard: number[] = [];
      const warnings: string[] = [];
      const onWarning = (warning: Error) => warnings.push(warning.message);
      process.on("warning", onWarning);
      const off1 = store.watch(() => {
        throw new Error("broken listener");
      });
      const off2 = store.watch((version) => heard.push(version));
      try {
        await store.transaction((tx) => tx.insertZone(make.zone(a.id)));
        assert.deepEqual(heard, [await store.version()]);
        await eventually(() => warnings.some((w) => w.includes("broken listener")), 1000, "a warning");
      } finally {
        off1();
        off2();
        process.off("warning", onWarning);
      }
    });

    test("another Store on the same database hears each new version once, in order", async () => {
      const other = await db.open();
      const heard: number[] = [];
      const unwatch = other.watch((version) => heard.push(version));
      try {
        for (let i = 0; i < 3; i++) {
          await store.transaction((tx) => tx.insertZone(make.zone(a.id)));
          const version = await store.version();
          const started = Date.now();
          await eventually(() => heard.at(-1) === version, 1500, `the other Store hears version ${version}`);
          assert.ok(Date.now() - started < 1500);
        }
        await sleep(kind === "postgres" ? 1200 : 50); // a poll later: still no repeats
        assert.equal(new Set(heard).size, heard.length, `no duplicates in ${heard}`);
        assert.deepEqual(
          heard,
          [...heard].sort((x, y) => x - y),
          "in order",
        );
        assert.equal(heard.length, 3);
      } finally {
        unwatch();
      }
    });

    if (kind === "postgres") {
      test("a dropped LISTEN connection: changes still arrive (poll), and it reconnects", async () => {
        const other = await db.open();
        const heard: number[] = [];
        const unwatch = other.watch((version) => heard.push(version));
        const listeners = () =>
          db.raw(
            `SELECT pid FROM pg_stat_activity WHERE application_name = 'portcullis-listen ' || current_schema() AND query ILIKE 'LISTEN%'`,
          );
        try {
          let before: Record<string, unknown>[] = [];
          const deadline = Date.now() + 2000;
          while (before.length === 0 && Date.now() < deadline) {
            before = await listeners();
            await sleep(50);
          }
          assert.ok(before.length >= 1, "the watching Store listens");
          await db.raw(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'portcullis-listen ' || current_schema()`,
          );
          await store.transaction((tx) => tx.insertZone(make.zone(a.id)));
          const version = await store.version();
          await eventually(() => heard.at(-1) === version, 2500, "heard despite the dropped connection");
          let after: Record<string, unknown>[] = [];
          const again = Date.now() + 5000;
          while (Date.now() < again) {
            after = (await listeners()).filter((row) => !before.some((old) => old.pid === row.pid));
            if (after.length > 0) break;
            await sleep(100);
          }
          assert.ok(after.length >= 1, "a new LISTEN connection");
        } finally {
          unwatch();
        }
      });
    }
  });
}

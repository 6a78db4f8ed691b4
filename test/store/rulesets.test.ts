/** Zone rulesets in the store (migration 0002_rulesets), on SQLite and PostgreSQL. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FIREWALL_CUSTOM_PHASE, type Ruleset, type RulesetRule } from "../../src/store/rulesets.ts";
import { type Store, StoreError } from "../../src/store/types.ts";
import * as make from "./fixtures.ts";
import { KINDS, skipFor, type TestDatabase, testDatabase } from "./harness.ts";

function rule(overrides: Partial<RulesetRule> = {}): RulesetRule {
  const id = make.newId();
  return {
    id,
    ref: id,
    expression: '(http.host in {"api.example.test"} and not cf.tls_client_auth.cert_verified)',
    action: "block",
    description: "no certificate, no API",
    enabled: true,
    actionParameters: null,
    version: 1,
    lastUpdated: "2026-03-01T00:00:00Z",
    ...overrides,
  };
}

function ruleset(zoneId: string, rules: RulesetRule[], overrides: Partial<Ruleset> = {}): Ruleset {
  return {
    id: make.newId(),
    zoneId,
    phase: FIREWALL_CUSTOM_PHASE,
    name: "default",
    description: "",
    version: 1,
    lastUpdated: "2026-03-01T00:00:00Z",
    rules,
    ...overrides,
  };
}

for (const kind of KINDS) {
  describe(`store rulesets (${kind})`, { skip: skipFor(kind) }, () => {
    let db: TestDatabase;
    let store: Store;
    let zoneId: string;
    let otherZoneId: string;
    before(async () => {
      db = await testDatabase(kind);
      store = await db.open();
      const account = make.account();
      const zone = make.zone(account.id);
      const other = make.zone(account.id);
      await store.transaction(async (tx) => {
        await tx.insertAccount(account);
        await tx.insertZone(zone);
        await tx.insertZone(other);
      });
      zoneId = zone.id;
      otherZoneId = other.id;
    });
    after(() => db.cleanup());

    test("a ruleset round-trips with its rules in order, and is replaced whole", async () => {
      assert.equal(await store.getRuleset(zoneId, FIREWALL_CUSTOM_PHASE), undefined);
      const first = rule({ action: "log", enabled: false, description: "" });
      const second = rule({
        actionParameters: {
          response: { statusCode: 418, content: '{"no":1}', contentType: "application/json" },
        },
        version: 7,
      });
      const third = rule({ action: "skip", actionParameters: { ruleset: "current" }, ref: "my-ref" });
      const saved = ruleset(zoneId, [first, second, third], { description: "zone firewall" });
      await store.transaction((tx) => tx.putRuleset(saved));
      assert.deepEqual(await store.getRuleset(zoneId, FIREWALL_CUSTOM_PHASE), saved);
      assert.deepEqual(await store.listRulesets(zoneId), [
        {
          id: saved.id,
          zoneId,
          phase: FIREWALL_CUSTOM_PHASE,
          name: "default",
          description: "zone firewall",
          version: 1,
          lastUpdated: saved.lastUpdated,
        },
      ]);
      assert.deepEqual(await store.listRulesets(otherZoneId), []);

      // Replace: new order, one rule gone, one added; the version moves.
      const fourth = rule({ action: "drop" });
      const replaced = { ...saved, version: 2, rules: [third, fourth, first] };
      await store.transaction((tx) => tx.putRuleset(replaced));
      assert.deepEqual(await store.getRuleset(zoneId, FIREWALL_CUSTOM_PHASE), replaced);
      const rows = await db.raw("select id, position from ruleset_rules order by position");
      assert.deepEqual(
        rows.map((r) => [r.id, Number(r.position)]),
        [
          [third.id, 0],
          [fourth.id, 1],
          [first.id, 2],
        ],
      );

      // Emptied: the ruleset stays, with no rules.
      await store.transaction((tx) => tx.putRuleset({ ...replaced, version: 3, rules: [] }));
      assert.deepEqual((await store.getRuleset(zoneId, FIREWALL_CUSTOM_PHASE))?.rules, []);
    });

    test("the same rule id may appear in two zones' rulesets but not twice in one", async () => {
      const shared = rule();
      await store.transaction((tx) => tx.putRuleset(ruleset(otherZoneId, [shared])));
      assert.deepEqual((await store.getRuleset(otherZoneId, FIREWALL_CUSTOM_PHASE))?.rules, [shared]);
      const before = await store.getRuleset(otherZoneId, FIREWALL_CUSTOM_PHASE);
      await assert.rejects(
        store.transaction((tx) =>
          tx.putRuleset({ ...(before as Ruleset), version: 2, rules: [rule(), shared, shared] }),
        ),
        (err) => err instanceof StoreError && err.code === "conflict",
      );
      // Nothing of the failed write is left.
      assert.deepEqual(await store.getRuleset(otherZoneId, FIREWALL_CUSTOM_PHASE), before);
    });

    test("one ruleset per zone and phase; unknown zones are refused", async () => {
      const existing = await store.getRuleset(zoneId, FIREWALL_CUSTOM_PHASE);
      assert.ok(existing);
      await assert.rejects(
        store.transaction((tx) => tx.putRuleset(ruleset(zoneId, []))),
        (err) => err instanceof StoreError && err.code === "conflict",
      );
      await assert.rejects(
        store.transaction((tx) => tx.putRuleset(ruleset(make.newId(), []))),
        (err) => err instanceof StoreError && err.code === "invalid",
      );
    });

    test("a write bumps the store version; deleting the zone deletes its rulesets", async () => {
      const account = make.account();
      const zone = make.zone(account.id);
      await store.transaction(async (tx) => {
        await tx.insertAccount(account);
        await tx.insertZone(zone);
      });
      const version = await store.version();
      const saved = ruleset(zone.id, [rule(), rule()]);
      await store.transaction((tx) => tx.putRuleset(saved));
      assert.equal(await store.version(), version + 1);
      await store.transaction((tx) => tx.deleteZone(zone.id));
      assert.equal(await store.getRuleset(zone.id, FIREWALL_CUSTOM_PHASE), undefined);
      const left = await db.raw(`select count(*) as n from ruleset_rules where ruleset_id = '${saved.id}'`);
      assert.equal(Number(left[0]?.n), 0);
    });
  });
}

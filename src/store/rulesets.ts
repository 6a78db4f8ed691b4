/**
 * Zone rulesets (Cloudflare's `zones/{zone_id}/rulesets`): one entrypoint ruleset per zone and phase, its
 * rules in order. Today the only phase is `http_request_firewall_custom` (custom firewall rules). The
 * records, their rows and the queries live here; reader.ts and writer.ts only call in.
 */
import type { Kysely, Selectable } from "kysely";
import type { Database } from "./schema.ts";
import type { Id, Timestamp } from "./types.ts";

export const FIREWALL_CUSTOM_PHASE = "http_request_firewall_custom";
export type RulesetPhase = typeof FIREWALL_CUSTOM_PHASE;

/** block/log/skip as Cloudflare's; drop (close the connection, no response) as Azion's. */
export type RuleAction = "block" | "log" | "skip" | "drop";

export interface RuleActionParameters {
  /** block: a custom response instead of the edge's 403 page. */
  response?: { statusCode: number; content: string; contentType: string };
  /** skip: what to skip; "current" = the remaining rules of this ruleset. */
  ruleset?: "current";
}

export interface RulesetRule {
  /** 32 lower-case hex characters, unique within its ruleset. */
  id: Id;
  /** A reference the user keeps across edits; the id unless given. */
  ref: string;
  expression: string;
  action: RuleAction;
  description: string;
  enabled: boolean;
  actionParameters: RuleActionParameters | null;
  /** Bumped when the rule changes. */
  version: number;
  lastUpdated: Timestamp;
}

export interface Ruleset {
  id: Id;
  zoneId: Id;
  phase: RulesetPhase;
  name: string;
  description: string;
  /** Bumped by every write. */
  version: number;
  lastUpdated: Timestamp;
  /** In evaluation order. */
  rules: RulesetRule[];
}

/** A ruleset without its rules, as listings show it. */
export type RulesetSummary = Omit<Ruleset, "rules">;

export interface RulesetsTable {
  id: string;
  zone_id: string;
  phase: string;
  name: string;
  description: string;
  version: number;
  last_updated: string;
}

export interface RulesetRulesTable {
  ruleset_id: string;
  id: string;
  position: number;
  ref: string;
  expression: string;
  action: string;
  description: string;
  enabled: number;
  /** RuleActionParameters as JSON, or null. */
  action_parameters: string | null;
  version: number;
  last_updated: string;
}

/** Migration 0002_rulesets: a ruleset per (zone, phase); rules keyed by (ruleset, id), ordered by position. */
export async function createRulesetTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("rulesets")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("zone_id", "text", (c) => c.notNull().references("zones.id").onDelete("cascade"))
    .addColumn("phase", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("description", "text", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("last_updated", "text", (c) => c.notNull())
    .addUniqueConstraint("rulesets_zone_phase", ["zone_id", "phase"])
    .execute();
  await db.schema
    .createTable("ruleset_rules")
    .addColumn("ruleset_id", "text", (c) => c.notNull().references("rulesets.id").onDelete("cascade"))
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("position", "integer", (c) => c.notNull())
    .addColumn("ref", "text", (c) => c.notNull())
    .addColumn("expression", "text", (c) => c.notNull())
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("description", "text", (c) => c.notNull())
    .addColumn("enabled", "integer", (c) => c.notNull())
    .addColumn("action_parameters", "text")
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("last_updated", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("ruleset_rules_pk", ["ruleset_id", "id"])
    .addUniqueConstraint("ruleset_rules_order", ["ruleset_id", "position"])
    .execute();
}

const summaryRecord = (r: Selectable<RulesetsTable>): RulesetSummary => ({
  id: r.id,
  zoneId: r.zone_id,
  phase: r.phase as RulesetPhase,
  name: r.name,
  description: r.description,
  version: Number(r.version),
  lastUpdated: r.last_updated,
});

const ruleRecord = (r: Selectable<RulesetRulesTable>): RulesetRule => ({
  id: r.id,
  ref: r.ref,
  expression: r.expression,
  action: r.action as RuleAction,
  description: r.description,
  enabled: r.enabled !== 0,
  actionParameters:
    r.action_parameters === null ? null : (JSON.parse(r.action_parameters) as RuleActionParameters),
  version: Number(r.version),
  lastUpdated: r.last_updated,
});

/** The zone's entrypoint ruleset of `phase`, with its rules in order; undefined when it has none. */
export async function readRuleset(
  db: Kysely<Database>,
  zoneId: Id,
  phase: RulesetPhase,
): Promise<Ruleset | undefined> {
  const row = await db
    .selectFrom("rulesets")
    .selectAll()
    .where("zone_id", "=", zoneId)
    .where("phase", "=", phase)
    .executeTakeFirst();
  if (!row) return undefined;
  const rules = await db
    .selectFrom("ruleset_rules")
    .selectAll()
    .where("ruleset_id", "=", row.id)
    .orderBy("position")
    .execute();
  return { ...summaryRecord(row), rules: rules.map(ruleRecord) };
}

/** The zone's rulesets without their rules, by phase. */
export async function listRulesetSummaries(db: Kysely<Database>, zoneId: Id): Promise<RulesetSummary[]> {
  const rows = await db
    .selectFrom("rulesets")
    .selectAll()
    .where("zone_id", "=", zoneId)
    .orderBy("phase")
    .execute();
  return rows.map(summaryRecord);
}

/** Inserts or replaces the ruleset (by id) and all its rules. Runs inside the writer's transaction. */
export async function writeRuleset(db: Kysely<Database>, ruleset: Ruleset): Promise<void> {
  const row: RulesetsTable = {
    id: ruleset.id,
    zone_id: ruleset.zoneId,
    phase: ruleset.phase,
    name: ruleset.name,
    description: ruleset.description,
    version: ruleset.version,
    last_updated: ruleset.lastUpdated,
  };
  const { id: _id, zone_id: _zone, phase: _phase, ...change } = row;
  await db
    .insertInto("rulesets")
    .values(row)
    .onConflict((oc) => oc.column("id").doUpdateSet(change))
    .execute();
  await db.deleteFrom("ruleset_rules").where("ruleset_id", "=", ruleset.id).execute();
  if (ruleset.rules.length === 0) return;
  const rows = ruleset.rules.map(
    (rule, position): RulesetRulesTable => ({
      ruleset_id: ruleset.id,
      id: rule.id,
      position,
      ref: rule.ref,
      expression: rule.expression,
      action: rule.action,
      description: rule.description,
      enabled: rule.enabled ? 1 : 0,
      action_parameters: rule.actionParameters === null ? null : JSON.stringify(rule.actionParameters),
      version: rule.version,
      last_updated: rule.lastUpdated,
    }),
  );
  // Under SQLite's and PostgreSQL's bound-parameter limits (11 columns × 500 rows).
  for (let start = 0; start < rows.length; start += 500) {
    await db
      .insertInto("ruleset_rules")
      .values(rows.slice(start, start + 500))
      .execute();
  }
}

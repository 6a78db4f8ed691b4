/**
 * Custom firewall rules as users write them, in the config file (`firewall:` per host) and in the API's
 * ruleset body (Cloudflare's shape): the checks both share, and the conversion to the edge's model.
 * The structure (types, ranges, unknown keys) is checked by each side's schema; this adds what a schema
 * cannot say: the expression compiles, and the action parameters fit the action.
 */
import { createHash } from "node:crypto";
import { checkExpression } from "../rules/index.ts";
import type { Ruleset } from "../store/rulesets.ts";
import { ConfigError } from "./errors.ts";
import type { FirewallRule } from "./types.ts";

export const RULE_ACTIONS = ["block", "log", "skip", "drop"] as const;
/** Cloudflare's content types for a custom block response. */
export const RESPONSE_CONTENT_TYPES = ["text/plain", "text/html", "application/json", "text/xml"] as const;
export const MAX_RESPONSE_CONTENT = 16 * 1024;
export const MAX_DESCRIPTION = 500;
/** Rule ids in the config file: readable names are fine there (the API uses 32 hex characters). */
export const CONFIG_RULE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** A rule as written (snake_case), after its schema's structural checks and defaults. */
export interface FirewallRuleInput {
  id?: string | undefined;
  expression: string;
  action: (typeof RULE_ACTIONS)[number];
  description?: string | undefined;
  enabled?: boolean | undefined;
  action_parameters?:
    | {
        response?: { status_code: number; content?: string | undefined; content_type?: string | undefined };
        ruleset?: "current" | undefined;
      }
    | undefined;
}

export interface RuleIssue {
  /** Relative to the rule, e.g. `["expression"]`. */
  path: (string | number)[];
  message: string;
}

/** What is wrong with one rule beyond its structure: an expression that does not compile, misplaced parameters. */
export function firewallRuleIssues(rule: FirewallRuleInput): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const problem = expressionProblem(rule.expression);
  if (problem !== undefined) issues.push({ path: ["expression"], message: problem });
  const parameters = rule.action_parameters;
  if (parameters?.response !== undefined && rule.action !== "block") {
    issues.push({
      path: ["action_parameters", "response"],
      message: `only a block rule takes a response (this rule's action is ${rule.action})`,
    });
  }
  if (parameters?.ruleset !== undefined && rule.action !== "skip") {
    issues.push({
      path: ["action_parameters", "ruleset"],
      message: `only a skip rule takes ruleset (this rule's action is ${rule.action})`,
    });
  }
  return issues;
}

/** Why an expression does not compile, naming the character (0-based offset); undefined when it does. */
export function expressionProblem(expression: string): string | undefined {
  const checked = checkExpression(expression);
  return checked.ok ? undefined : `invalid expression at character ${checked.offset}: ${checked.message}`;
}

/** The rule for the edge; `id` must already be set (see `firewallFromConfig` for config-file rules). */
export function firewallRule(rule: FirewallRuleInput & { id: string }): FirewallRule {
  const response = rule.action === "block" ? rule.action_parameters?.response : undefined;
  return {
    id: rule.id,
    expression: rule.expression,
    action: rule.action,
    description: rule.description ?? "",
    enabled: rule.enabled ?? true,
    ...(response
      ? {
          response: {
            status: response.status_code,
            content: response.content ?? "",
            contentType: response.content_type ?? "text/plain",
          },
        }
      : {}),
  };
}

/**
 * A host's `firewall:` list. A rule without an id gets one from its action and expression (so it stays
 * the same across reloads and reorderings); two rules with the same id are refused by the schema.
 */
export function firewallFromConfig(rules: readonly FirewallRuleInput[]): FirewallRule[] {
  const given = new Set(rules.flatMap((rule) => (rule.id === undefined ? [] : [rule.id])));
  return rules.map((rule, index) => {
    if (rule.id !== undefined) return firewallRule({ ...rule, id: rule.id });
    let id = derivedId(`${rule.action}\n${rule.expression}`);
    if (given.has(id)) id = derivedId(`${rule.action}\n${rule.expression}\n${index}`);
    given.add(id);
    return firewallRule({ ...rule, id });
  });
}

function derivedId(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

/** Rules from the store, converted once per ruleset read: the hosts of a zone share one list (and its closures). */
const fromRulesets = new WeakMap<Ruleset, FirewallRule[]>();

/** A zone's ruleset (from the store) as the rules of each of its hosts; undefined without one. */
export function firewallFromRuleset(ruleset: Ruleset | undefined): FirewallRule[] | undefined {
  if (!ruleset) return undefined;
  let rules = fromRulesets.get(ruleset);
  if (!rules) {
    rules = ruleset.rules.map((rule) => {
      const response = rule.actionParameters?.response;
      return {
        id: rule.id,
        expression: rule.expression,
        action: rule.action,
        description: rule.description,
        enabled: rule.enabled,
        ...(response && rule.action === "block"
          ? {
              response: {
                status: response.statusCode,
                content: response.content,
                contentType: response.contentType,
              },
            }
          : {}),
      };
    });
    fromRulesets.set(ruleset, rules);
  }
  return rules;
}

const EXPRESSION_PATH = /^hostnames\[(\d+)\]\.firewall\[(\d+)\]\.expression$/;
const AT_CHARACTER = /^invalid expression at character (\d+): /;

/**
 * A config error about an expression points at its value's first character; when the value is written
 * on one line as is (plain, or quoted without escapes), this moves the column to the very character
 * the expression error names, so an editor jumps to it. Any other error is returned unchanged.
 */
export function pinpointExpressionError(error: ConfigError, text: string, document: unknown): ConfigError {
  const where = EXPRESSION_PATH.exec(error.path);
  const at = AT_CHARACTER.exec(error.detail);
  if (!where || !at || error.line === undefined || error.column === undefined) return error;
  const hosts = (document as { hostnames?: { firewall?: { expression?: unknown }[] }[] }).hostnames;
  const expression = hosts?.[Number(where[1])]?.firewall?.[Number(where[2])]?.expression;
  if (typeof expression !== "string" || expression.includes("\n")) return error;
  const line = text.split("\n")[error.line - 1] ?? "";
  const start = error.column - 1;
  const quoted = line[start] === '"' || line[start] === "'";
  const from = quoted ? start + 1 : start;
  if (line.slice(from, from + expression.length) !== expression) return error;
  return new ConfigError({
    file: error.file,
    path: error.path,
    line: error.line,
    column: from + Number(at[1]) + 1,
    detail: error.detail,
  });
}

/** Limits that keep hostile expressions cheap to reject; every one is reported as a RuleExpressionError. */
export interface RuleLimits {
  /** Characters in one expression (Cloudflare's limit is 4,096). */
  readonly maxLength: number;
  /** Nesting of parentheses, `not` and function calls. */
  readonly maxDepth: number;
  /** Elements in one `{…}` set. */
  readonly maxSetSize: number;
  /** RE2 instructions of all regular expressions of one expression together (bounds compile and match time). */
  readonly maxRegexProgram: number;
}

export const RULE_LIMITS: RuleLimits = Object.freeze({
  maxLength: 4096,
  maxDepth: 64,
  maxSetSize: 10_000,
  maxRegexProgram: 1_000,
});

/**
 * Portcullis rules language: a documented subset of Cloudflare's Rules language (docs/rules.md).
 * Contract (see /work/team/RULES.md): compileExpression, checkExpression, RuleExpressionError,
 * RuleRequest, CompiledExpression; plus the machine-readable field list RULE_FIELDS, the limits and a
 * caret formatter for CLI messages.
 */
export { type CompileOptions, checkExpression, compileExpression } from "./compile.ts";
export { formatExpressionError, RuleExpressionError } from "./errors.ts";
export { RULE_FIELDS, type RuleFieldInfo, type RuleValueType } from "./fields.ts";
export { RULE_LIMITS, type RuleLimits } from "./limits.ts";
export type { CompiledExpression, RuleRequest } from "./request.ts";

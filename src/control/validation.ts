/**
 * Turns Ajv's schema errors into one line that names the field the way a user wrote it:
 * `body.mtls.paths[0].prefix: must match pattern "^/"`, `body.ca: is required`,
 * `body.naem: unknown key "naem" (did you mean "name"?)`.
 */
import { unknownKeyMessage } from "../config/schema.ts";

export interface SchemaIssue {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
  parentSchema?: { properties?: Record<string, unknown>; description?: string };
}

export function fieldPath(context: string, instancePath: string, extra?: string): string {
  const segments = instancePath.split("/").slice(1);
  if (extra !== undefined) segments.push(extra);
  let path = context;
  for (const raw of segments) {
    const segment = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    path += /^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`;
  }
  return path;
}

/** The issue worth reporting: a failed `anyOf` summarizes its branches; otherwise the first. */
function pick(issues: readonly SchemaIssue[]): SchemaIssue | undefined {
  return issues.find((issue) => issue.keyword === "anyOf" || issue.keyword === "oneOf") ?? issues[0];
}

export function describeSchemaIssues(context: string, issues: readonly SchemaIssue[]): string {
  const issue = pick(issues);
  if (!issue) return `${context}: is invalid`;
  const { params } = issue;
  switch (issue.keyword) {
    case "required":
      return `${fieldPath(context, issue.instancePath, String(params.missingProperty))}: is required`;
    case "additionalProperties": {
      const key = String(params.additionalProperty);
      const known = Object.keys(issue.parentSchema?.properties ?? {});
      return `${fieldPath(context, issue.instancePath, key)}: ${unknownKeyMessage(key, known)}`;
    }
    case "enum": {
      const allowed = (params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(", ");
      return `${fieldPath(context, issue.instancePath)}: must be one of ${allowed}`;
    }
    case "anyOf":
    case "oneOf": {
      const what = issue.parentSchema?.description;
      return `${fieldPath(context, issue.instancePath)}: ${what ? `must be ${what}` : issue.message}`;
    }
    default:
      return `${fieldPath(context, issue.instancePath)}: ${issue.message ?? "is invalid"}`;
  }
}

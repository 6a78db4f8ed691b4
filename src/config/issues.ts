/**
 * Turns zod's issues into one ConfigError: each issue gets a plain-English detail and the YAML node it is
 * about, and the first in the file wins, so the user fixes problems top to bottom.
 */
import type { z } from "zod";
import type { ConfigError } from "./errors.ts";
import { describeValue } from "./errors.ts";
import type { ConfigSource, YamlPath } from "./source.ts";

type Issue = z.core.$ZodIssue;

interface Finding {
  path: YamlPath;
  detail: string;
  /** The node to point at, when not the one at `path`: an unknown key's own key node. */
  at?: YamlPath;
  atKey?: boolean;
}

export function firstIssueError(source: ConfigSource, issues: readonly Issue[]): ConfigError {
  const findings = issues.flatMap((issue) => findingsOf(issue, []));
  const ordered = findings
    .map((finding, order) => ({
      finding,
      order,
      offset: source.offset(finding.at ?? finding.path, finding.atKey),
    }))
    .sort((a, b) => a.offset - b.offset || a.order - b.order);
  const first = (ordered[0] as (typeof ordered)[number]).finding;
  return source.error(first.path, first.detail, first);
}

const KINDS: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping",
  array: "a list",
};

function findingsOf(issue: Issue, base: YamlPath): Finding[] {
  const path = [...base, ...issue.path];
  const got = "input" in issue ? describeValue(issue.input) : "nothing";
  const last = path.at(-1);
  const missing =
    (issue.code === "invalid_type" || issue.code === "invalid_union" || issue.code === "invalid_value") &&
    issue.input === undefined;
  if (missing && typeof last === "string") {
    return [{ path: path.slice(0, -1), detail: `missing required key ${JSON.stringify(last)}` }];
  }
  switch (issue.code) {
    case "invalid_type":
      return [{ path, detail: `expected ${KINDS[issue.expected] ?? issue.expected}, got ${got}` }];
    case "invalid_value":
      return [{ path, detail: `expected one of ${issue.values.join(", ")}, got ${got}` }];
    case "unrecognized_keys":
      return [{ path, detail: issue.message, at: [...path, String(issue.keys[0])], atKey: true }];
    case "too_small":
    case "too_big":
      return [{ path, detail: sizeDetail(issue, got) }];
    case "invalid_union": {
      // The branch for the kind of value given (a mapping, a list…) explains best what is wrong with it:
      // first one whose only complaints are inside the value, else one that took the value's kind.
      const branch =
        issue.errors.find((errors) => errors.every((inner) => inner.path.length > 0)) ??
        issue.errors.find((errors) => !errors.some(isKindMismatch));
      if (branch) return branch.flatMap((inner) => findingsOf(inner, path));
      return [{ path, detail: `${issue.message}, got ${got}` }];
    }
    default:
      return [{ path, detail: issue.message }];
  }
}

function sizeDetail(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, got: string): string {
  const small = issue.code === "too_small";
  const bound = Number(small ? issue.minimum : issue.maximum);
  if (issue.origin === "array") {
    return small
      ? `needs at least ${bound} ${bound === 1 ? "entry" : "entries"}`
      : `may have at most ${bound} entries`;
  }
  if (issue.origin === "string" && small && bound === 1) return "must not be empty";
  return `must be ${small ? "at least" : "at most"} ${bound}, got ${got}`;
}

/** The value is not even of the kind this branch takes (a mapping given where a name is expected…). */
function isKindMismatch(issue: Issue): boolean {
  if (issue.path.length > 0) return false;
  if (issue.code === "invalid_type") return true;
  return issue.code === "invalid_value" && typeof issue.input !== typeof issue.values[0];
}

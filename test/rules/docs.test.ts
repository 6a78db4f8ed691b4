/** docs/rules.md stays exact: its field table is RULE_FIELDS, its examples compile, its error messages are real. */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { checkExpression, compileExpression, RULE_FIELDS } from "../../src/rules/index.ts";

const doc = await readFile(new URL("../../docs/rules.md", import.meta.url), "utf8");

function section(title: string): string {
  const start = doc.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, title);
  const end = doc.indexOf("\n## ", start + 1);
  return doc.slice(start, end === -1 ? undefined : end);
}

test("the field table lists every field with its type, and nothing else", () => {
  const rows = [
    ...(section("Fields")
      .split("\n### ")[0]
      ?.matchAll(/^\| `([^`]+)` *\| ([^|]+) \|/gm) ?? []),
  ].map((m) => [m[1], (m[2] ?? "").trim()]);
  assert.deepEqual(
    rows,
    RULE_FIELDS.map((f) => [f.name, f.type]),
  );
});

test("the introduction's examples compile", () => {
  const block = /```text\n([\s\S]*?)```/.exec(doc)?.[1] ?? "";
  const lines = block.trim().split("\n");
  assert.ok(lines.length >= 5);
  for (const line of lines) compileExpression(line);
});

test("every error example is the message the compiler gives", () => {
  const block = /```text\n([\s\S]*?)```/.exec(section("Errors"))?.[1] ?? "";
  const pairs = block.trim().split("\n\n");
  assert.ok(pairs.length >= 10);
  for (const pair of pairs) {
    const [expression, message] = pair.split("\n") as [string, string];
    const result = checkExpression(expression);
    assert.equal(result.ok ? "valid" : result.message, message, expression);
  }
});

test("the limits table's messages are real", () => {
  assert.equal(
    (checkExpression(`http.host eq "${"a".repeat(4997)}"`) as { message: string }).message,
    "Filter parsing error (1:4097): expression is too long: 5012 characters, the limit is 4096",
  );
  assert.match(
    (checkExpression('http.request.uri.path matches r"[a-z]{1000}[a-z]{1000}"') as { message: string })
      .message,
    /regular expression is too large: 2002 RE2 instructions, the limit is 1000$/,
  );
});

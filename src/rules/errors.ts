/** Errors of the rules language: one class for every syntax, type and limit error, with the position. */

/** Line and column (both 1-based, columns in characters) of a 0-based offset into `source`. */
export function lineColumn(source: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, source.length);
  for (let i = source.indexOf("\n"); i !== -1 && i < end; i = source.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * A rule expression that does not parse, type-check or fits no limit. `message` is one line in
 * Cloudflare's style, `Filter parsing error (1:12): unknown field "http.hots"`; `offset` is the 0-based
 * character index of the problem (where a caret goes), `detail` the message without the prefix.
 */
export class RuleExpressionError extends Error {
  readonly code = "invalid_expression" as const;
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  readonly detail: string;

  constructor(source: string, offset: number, detail: string) {
    const { line, column } = lineColumn(source, offset);
    super(`Filter parsing error (${line}:${column}): ${detail}`);
    this.name = "RuleExpressionError";
    this.offset = offset;
    this.line = line;
    this.column = column;
    this.detail = detail;
  }
}

/**
 * The error as Cloudflare's dashboard shows it: the message, the offending line, and a caret under
 * the character (at most 200 characters of the line around it).
 */
export function formatExpressionError(source: string, error: RuleExpressionError): string {
  const lineStart = source.lastIndexOf("\n", error.offset - 1) + 1;
  let lineEnd = source.indexOf("\n", error.offset);
  if (lineEnd === -1) lineEnd = source.length;
  const from = Math.max(lineStart, error.offset - 100);
  const to = Math.min(lineEnd, error.offset + 100);
  const text = source.slice(from, to).replace(/[\t\r]/g, " ");
  return `${error.message}\n${text}\n${" ".repeat(error.offset - from)}^`;
}

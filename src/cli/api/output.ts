/**
 * What the API commands print: human text and tables on stdout by default, the API's result as JSON
 * with `--json` (messages then go to stderr so stdout stays parseable), errors as one line on stderr.
 */
import { createInterface } from "node:readline/promises";

export interface Column<T> {
  header: string;
  value(row: T): string | number | boolean | null | undefined;
}

/** Aligned columns, headers in capitals, two spaces apart; no trailing spaces. */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = [
    columns.map((column) => column.header.toUpperCase()),
    ...rows.map((row) => columns.map((column) => cellText(column.value(row)))),
  ];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => (line[i] ?? "").length)));
  return cells
    .map((line) =>
      line
        .map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")
    .concat("\n");
}

export function cellText(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined || value === "") return "-";
  return String(value).replace(/[\r\n\t]+/g, " ");
}

/** `key: value` lines for one record, keys aligned. */
export function formatFields(
  fields: readonly [string, string | number | boolean | null | undefined][],
): string {
  const width = Math.max(...fields.map(([key]) => key.length)) + 2;
  return fields
    .map(([key, value]) => `${`${key}:`.padEnd(width)}${cellText(value)}`.trimEnd())
    .join("\n")
    .concat("\n");
}

export class Output {
  readonly json: boolean;
  constructor(json: boolean) {
    this.json = json;
  }

  /** A line of human text: stdout, or stderr under --json. */
  say(text: string): void {
    (this.json ? process.stderr : process.stdout).write(`${text}\n`);
  }

  /** The command's result: JSON under --json, else whatever `human` prints. */
  result(value: unknown, human: () => void): void {
    if (this.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else human();
  }

  table<T>(rows: readonly T[], columns: readonly Column<T>[], empty: string): void {
    this.result(rows, () => {
      if (rows.length === 0) process.stdout.write(`${empty}\n`);
      else process.stdout.write(formatTable(rows, columns));
    });
  }

  error(message: string): void {
    process.stderr.write(`error: ${message}\n`);
  }

  warn(message: string): void {
    process.stderr.write(`warning: ${message}\n`);
  }

  /**
   * wrangler's confirmation: a y/N question on a terminal (Enter = yes); without a terminal (or with CI
   * set) it prints the question and "Using fallback value in non-interactive context: yes" and goes on,
   * as wrangler does. `-y` skips the question.
   */
  async confirm(question: string, yes: boolean): Promise<boolean> {
    if (yes) return true;
    const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !process.env.CI;
    if (!interactive) {
      this.say(`? ${question}`);
      this.say("🤖 Using fallback value in non-interactive context: yes");
      return true;
    }
    const rl = createInterface({ input: process.stdin, output: this.json ? process.stderr : process.stdout });
    try {
      const answer = (await rl.question(`? ${question} (Y/n) `)).trim().toLowerCase();
      return answer === "" || answer === "y" || answer === "yes";
    } finally {
      rl.close();
    }
  }
}

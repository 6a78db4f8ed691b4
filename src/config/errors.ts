/**
 * A mistake in the config file, located as precisely as we know it: the file (as the user named it), the
 * line and column of the offending YAML node, and its path (`hostnames[0].mtls.mode`). The message is one
 * line, `FILE:LINE:COL: PATH: DETAIL`, which editors and terminals turn into a link to the spot.
 */
export interface ConfigErrorFields {
  /** The config file as the user named it (relative is fine). */
  file: string;
  /** The YAML path, e.g. `hostnames[0].mtls.mode`; empty or absent for the whole file. */
  path?: string;
  /** 1-based, when the problem has a place in the file. */
  line?: number;
  column?: number;
  /** What is wrong, e.g. `expected one of enforce, permissive, off, got "enforced"`. */
  detail: string;
}

export class ConfigError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly path: string;
  readonly detail: string;

  constructor(fields: ConfigErrorFields) {
    super(formatMessage(fields));
    this.name = "ConfigError";
    this.file = fields.file;
    this.line = fields.line;
    this.column = fields.column;
    this.path = fields.path ?? "";
    this.detail = fields.detail;
  }
}

function formatMessage({ file, path, line, column, detail }: ConfigErrorFields): string {
  const position = line === undefined ? "" : `:${line}:${column ?? 1}`;
  return `${file}${position}: ${path ? `${path}: ` : ""}${detail}`;
}

/** A segment list as users write it: `hostnames[0].mtls.paths[1].prefix`. */
export function formatPath(segments: readonly PropertyKey[]): string {
  let text = "";
  for (const segment of segments) {
    if (typeof segment === "number") text += `[${segment}]`;
    else text += text ? `.${String(segment)}` : String(segment);
  }
  return text;
}

/** A value as a message shows what the user wrote: strings quoted, lists and mappings by kind. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null (an empty value)";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

/**
 * The API commands' framework: every command is data (name, summary, flags with types and descriptions,
 * positional arguments, examples) plus a handler. The same definitions drive parsing (node:util
 * parseArgs), `--help`, and the generated reference docs/cli.md (src/cli/api/docs.ts), so nothing is
 * written twice.
 *
 * Adding a group: write `export const fooGroup = group({ name, summary, commands: [command({...})] })`
 * in its own file and list it in API_GROUPS (src/cli/api/index.ts); then regenerate docs/cli.md with
 * `node src/cli/api/docs.ts > docs/cli.md`.
 *
 * Exit codes: see errors.ts.
 */
import { parseArgs } from "node:util";
import { PkiError } from "../../pki/errors.ts";
import type { Command } from "../command.ts";
import { UsageError } from "../errors.ts";
import { type ApiClient, ApiFailure } from "./client.ts";
import { CliError, EXIT } from "./errors.ts";
import { Output } from "./output.ts";

export { CliError, EXIT, notFoundError } from "./errors.ts";

export interface FlagSpec {
  type: "string" | "boolean" | "integer";
  description: string;
  /** One-letter alias (`-y`). */
  short?: string;
  /** Shown in help for a value: `--cert FILE`. */
  placeholder?: string;
  required?: boolean;
  /** Repeatable; the value is an array. */
  multiple?: boolean;
  choices?: readonly string[];
  /** Documented default (the handler applies it). */
  defaultText?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

type Scalar<S extends FlagSpec> = S["type"] extends "integer" ? number : string;

type ValueOf<S extends FlagSpec> = S["type"] extends "boolean"
  ? boolean
  : S["multiple"] extends true
    ? Scalar<S>[]
    : S["required"] extends true
      ? Scalar<S>
      : Scalar<S> | undefined;

export type FlagValues<F extends FlagSpecs> = { [K in keyof F]: ValueOf<F[K]> } & GlobalValues;

export interface GlobalValues {
  "api-url": string | undefined;
  token: string | undefined;
  account: string | undefined;
  profile: string | undefined;
  json: boolean;
  help: boolean;
}

/** Flags every API command takes (documented once, at the top of docs/cli.md). */
export const GLOBAL_FLAGS = {
  "api-url": {
    type: "string",
    placeholder: "URL",
    description: "API base URL (env PORTCULLIS_API_URL, then the profile; default http://127.0.0.1:9000)",
  },
  token: {
    type: "string",
    placeholder: "TOKEN",
    description: "API token (env PORTCULLIS_API_TOKEN, then the profile)",
  },
  account: {
    type: "string",
    placeholder: "ID|NAME",
    description: "account (env PORTCULLIS_ACCOUNT, then the profile; default: the only one the token sees)",
  },
  profile: {
    type: "string",
    placeholder: "NAME",
    description: "profile of the config file to use (env PORTCULLIS_PROFILE; default: the current one)",
  },
  json: { type: "boolean", description: "print the API's result as JSON (for scripts)" },
  help: { type: "boolean", short: "h", description: "show help" },
} as const satisfies FlagSpecs;

export interface ArgSpec {
  name: string;
  description: string;
  required?: boolean;
  /** Takes every remaining argument (only the last one). */
  variadic?: boolean;
}

export interface Context<F extends FlagSpecs> {
  flags: FlagValues<F>;
  /** Positional arguments by name; a variadic one is in `rest`. */
  args: Record<string, string | undefined>;
  rest: string[];
  out: Output;
  /** The API client (flags, environment, profile); a usage error when no token is configured. */
  api(): Promise<ApiClient>;
  /** The command's full name, `portcullis hostname create`. */
  path: string;
}

export interface CommandSpec<F extends FlagSpecs = FlagSpecs> {
  name: string;
  summary: string;
  /** Longer text under the synopsis (help and docs). */
  description?: string;
  /** The synopsis after the command's name, when the one made from the flags would not say it right. */
  usage?: string;
  flags?: F;
  args?: ArgSpec[];
  examples?: string[];
  /** Returns the exit code (default 0). */
  run(ctx: Context<F>): Promise<number | undefined> | Promise<void>;
}

export interface GroupSpec {
  name: string;
  summary: string;
  description?: string;
  commands: Spec[];
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds commands of every flag shape
export type Spec = CommandSpec<any> | GroupSpec;

/** Defines a command; the flag types flow into the handler's `ctx.flags`. */
export function command<F extends FlagSpecs>(spec: CommandSpec<F>): CommandSpec<F> {
  return spec;
}

export function group(spec: GroupSpec): GroupSpec {
  return spec;
}

export function isGroup(spec: Spec): spec is GroupSpec {
  return "commands" in spec;
}

/** `--cert FILE`, `--mode enforce|permissive|off`, `-y, --yes`. */
export function flagLabel(name: string, flag: FlagSpec): string {
  const value =
    flag.type === "boolean"
      ? ""
      : ` ${flag.choices ? flag.choices.join("|") : (flag.placeholder ?? "VALUE")}`;
  return `${flag.short ? `-${flag.short}, ` : ""}--${name}${value}`;
}

export function synopsis(path: string, spec: CommandSpec): string {
  if (spec.usage) return `${path} ${spec.usage}`;
  const flags = Object.entries(spec.flags ?? {}).map(([name, flag]) => {
    const label = flagLabel(name, { ...flag, short: undefined });
    const shown = flag.multiple ? `${label}…` : label;
    return flag.required ? shown : `[${shown}]`;
  });
  const args = (spec.args ?? []).map((arg) => {
    const shown = arg.variadic ? `${arg.name}…` : arg.name;
    return arg.required ? shown : `[${shown}]`;
  });
  return [path, ...flags, ...args].join(" ");
}

function commandHelp(path: string, spec: CommandSpec): string {
  const lines = [`Usage: ${synopsis(path, spec)}`, "", spec.description ?? spec.summary, ""];
  const args = spec.args ?? [];
  if (args.length > 0) {
    lines.push("Arguments:");
    for (const arg of args) lines.push(`  ${arg.name.padEnd(24)}${arg.description}`);
    lines.push("");
  }
  const flags = Object.entries(spec.flags ?? {});
  if (flags.length > 0) {
    lines.push("Flags:");
    for (const [name, flag] of flags) lines.push(helpLine(name, flag));
    lines.push("");
  }
  lines.push("Global flags:");
  for (const [name, flag] of Object.entries(GLOBAL_FLAGS)) lines.push(helpLine(name, flag));
  if (spec.examples?.length) {
    lines.push("", "Examples:", ...spec.examples.map((example) => `  ${example}`));
  }
  lines.push("");
  return lines.join("\n");
}

function helpLine(name: string, flag: FlagSpec): string {
  const label = flagLabel(name, flag);
  const extra = [flag.required ? "required" : "", flag.defaultText ? `default ${flag.defaultText}` : ""]
    .filter(Boolean)
    .join(", ");
  const text = `${flag.description}${extra ? ` (${extra})` : ""}`;
  return label.length >= 30 ? `  ${label}\n${" ".repeat(32)}${text}` : `  ${label.padEnd(30)}${text}`;
}

function groupHelp(path: string, spec: GroupSpec): string {
  return [
    `Usage: ${path} <command> [flags]`,
    "",
    spec.description ?? spec.summary,
    "",
    "Commands:",
    ...spec.commands.map((c) => `  ${c.name.padEnd(20)}${c.summary}`),
    "",
    `Run '${path} <command> --help' for a command's flags.`,
    "",
  ].join("\n");
}

export interface Parsed {
  flags: Record<string, unknown>;
  args: Record<string, string | undefined>;
  rest: string[];
}

/** Parses argv against a command's flags and arguments; every mistake is a UsageError naming it. */
export function parseCommandLine(spec: CommandSpec, argv: string[]): Parsed {
  const specs: FlagSpecs = { ...GLOBAL_FLAGS, ...(spec.flags ?? {}) };
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const [name, flag] of Object.entries(specs)) {
    options[name] = {
      type: flag.type === "boolean" ? "boolean" : "string",
      ...(flag.short ? { short: flag.short } : {}),
      ...(flag.multiple ? { multiple: true } : {}),
    };
  }
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: true }));
  } catch (err) {
    throw new UsageError(parseArgsMessage(err as Error));
  }
  if (values.help) return { flags: values, args: {}, rest: [] };
  const flags: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(specs)) {
    const raw = values[name];
    if (flag.type === "boolean") {
      flags[name] = raw === true;
      continue;
    }
    if (raw === undefined) {
      if (flag.required) throw new UsageError(`missing required flag --${name}`);
      flags[name] = flag.multiple ? [] : undefined;
      continue;
    }
    const list = (Array.isArray(raw) ? raw : [raw]) as string[];
    const checked = list.map((value) => checkFlagValue(name, flag, value));
    flags[name] = flag.multiple ? checked : checked.at(-1);
  }
  const args: Record<string, string | undefined> = {};
  const argSpecs = spec.args ?? [];
  let rest: string[] = [];
  let index = 0;
  for (const arg of argSpecs) {
    if (arg.variadic) {
      rest = positionals.slice(index);
      index = positionals.length;
      if (arg.required && rest.length === 0) throw new UsageError(`missing argument ${arg.name}`);
      continue;
    }
    const value = positionals[index++];
    if (value === undefined && arg.required) throw new UsageError(`missing argument ${arg.name}`);
    args[arg.name] = value;
  }
  if (index < positionals.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[index])}`);
  }
  return { flags, args, rest };
}

function checkFlagValue(name: string, flag: FlagSpec, value: string): string | number {
  if (flag.choices && !flag.choices.includes(value)) {
    throw new UsageError(`--${name}: ${JSON.stringify(value)} is not one of ${flag.choices.join(", ")}`);
  }
  if (flag.type === "integer") {
    if (!/^(0|[1-9][0-9]{0,14})$/.test(value)) {
      throw new UsageError(`--${name}: expected a whole number, got ${JSON.stringify(value)}`);
    }
    return Number(value);
  }
  return value;
}

/** node:util's messages, first sentence only, in the CLI's words. */
function parseArgsMessage(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  const option = /'(?:-[^-' ], )?(-{1,2}[^' ]+)/.exec(err.message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option) return `unknown flag ${option}`;
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option) {
    return err.message.includes("argument missing")
      ? `flag ${option} needs a value`
      : `flag ${option} takes no value`;
  }
  return err.message.split(". ")[0] ?? err.message;
}

export interface RunEnvironment {
  /** Makes the API client from the global flag values. */
  makeClient(globals: GlobalValues): Promise<ApiClient>;
}

/** Runs a group or command at `path` with argv; returns the exit code. Never throws. */
export async function runSpec(
  spec: Spec,
  argv: string[],
  path: string,
  env: RunEnvironment,
): Promise<number> {
  const out = new Output(argv.includes("--json"));
  try {
    if (isGroup(spec)) {
      const [sub, ...rest] = argv;
      if (sub === undefined || sub === "-h" || sub === "--help" || sub === "help") {
        process.stdout.write(groupHelp(path, spec));
        return sub === undefined ? EXIT.usage : EXIT.ok;
      }
      const child = spec.commands.find((c) => c.name === sub);
      if (!child)
        throw new UsageError(
          `unknown command "${sub}" (commands: ${spec.commands.map((c) => c.name).join(", ")})`,
        );
      return await runSpec(child, rest, `${path} ${sub}`, env);
    }
    const parsed = parseCommandLine(spec, argv);
    if (parsed.flags.help) {
      process.stdout.write(commandHelp(path, spec));
      return EXIT.ok;
    }
    let client: Promise<ApiClient> | undefined;
    const ctx: Context<FlagSpecs> = {
      flags: parsed.flags as FlagValues<FlagSpecs>,
      args: parsed.args,
      rest: parsed.rest,
      out,
      path,
      api: () => {
        client ??= env.makeClient(parsed.flags as unknown as GlobalValues);
        return client;
      },
    };
    return (await spec.run(ctx)) ?? EXIT.ok;
  } catch (err) {
    return report(err, path, out);
  }
}

/** One line on stderr for any failure, with the exit code it means. */
export function report(err: unknown, path: string, out: Output): number {
  if (err instanceof UsageError) {
    out.error(`${err.message} (see '${path} --help')`);
    return EXIT.usage;
  }
  if (err instanceof ApiFailure) {
    out.error(err.message);
    return err.status === 404 ? EXIT.notFound : EXIT.error;
  }
  if (err instanceof CliError) {
    out.error(err.message);
    return err.exitCode;
  }
  if (err instanceof PkiError) {
    out.error(err.message);
    return EXIT.error;
  }
  const detail = process.env.PORTCULLIS_DEBUG ? (err as Error).stack : (err as Error).message;
  out.error(`internal error: ${detail}`);
  return EXIT.internal;
}

/** The top-level command for main.ts's command group. */
export function toCommand(spec: Spec, env: RunEnvironment): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    run: (argv) => runSpec(spec, argv, `portcullis ${spec.name}`, env),
  };
}

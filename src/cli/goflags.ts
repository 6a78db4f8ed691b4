import { UsageError } from "./errors.ts";

/**
 * Go-style flags, as cfssl and cfssljson take them: `-ca x`, `-ca=x`, `--ca x` and `--ca=x` are the same;
 * a boolean flag takes no separate value (`-bare`, `-bare=false`). Unlike Go, flags may also follow
 * positional arguments (`gencrl serials ca.pem ca-key.pem --pem`); `--` ends the flags and a lone `-` is
 * an argument (stdin).
 */
export type FlagType = "bool" | "string" | "int";

export interface FlagSpec {
  type: FlagType;
  usage: string;
  /** Name of the value in help text (`-ca FILE`). */
  arg?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export type FlagValues<S extends FlagSpecs> = {
  [K in keyof S]: S[K]["type"] extends "bool"
    ? boolean
    : S[K]["type"] extends "int"
      ? number | undefined
      : string | undefined;
};

export interface ParsedFlags<S extends FlagSpecs> {
  flags: FlagValues<S>;
  args: string[];
  help: boolean;
}

const HELP_FLAGS = new Set(["h", "help"]);

export function parseGoFlags<S extends FlagSpecs>(argv: readonly string[], specs: S): ParsedFlags<S> {
  const flags: Record<string, string | number | boolean | undefined> = {};
  for (const [name, spec] of Object.entries(specs)) flags[name] = spec.type === "bool" ? false : undefined;
  const args: string[] = [];
  let help = false;

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith("-") || token === "-") {
      args.push(token);
      continue;
    }
    const body = token.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq === -1 ? body : body.slice(0, eq);
    const inlineValue = eq === -1 ? undefined : body.slice(eq + 1);
    const spec = specs[name];
    if (!spec) {
      if (HELP_FLAGS.has(name)) {
        help = true;
        continue;
      }
      throw new UsageError(`flag provided but not defined: -${name}`);
    }
    if (spec.type === "bool") {
      flags[name] = parseBool(name, inlineValue ?? "true");
      continue;
    }
    let value = inlineValue;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: -${name}`);
      value = argv[++i] as string;
    }
    flags[name] = spec.type === "int" ? parseInt10(name, value) : value;
  }
  return { flags: flags as FlagValues<S>, args, help };
}

function parseBool(name: string, value: string): boolean {
  if (["1", "t", "T", "true", "TRUE", "True"].includes(value)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(value)) return false;
  throw new UsageError(`invalid boolean value "${value}" for -${name}`);
}

function parseInt10(name: string, value: string): number {
  if (!/^[-+]?\d+$/.test(value))
    throw new UsageError(`invalid value "${value}" for flag -${name}: not a whole number`);
  return Number(value);
}

/** Help text for a flag set, in the layout of Go's flag.PrintDefaults. */
export function formatFlagHelp(specs: FlagSpecs): string {
  return Object.entries(specs)
    .map(([name, spec]) => {
      const arg = spec.type === "bool" ? "" : ` ${spec.arg ?? spec.type}`;
      return `  -${name}${arg}\n    \t${spec.usage}`;
    })
    .join("\n");
}

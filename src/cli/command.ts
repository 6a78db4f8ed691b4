import { type FlagSpecs, type FlagValues, formatFlagHelp, parseGoFlags } from "./goflags.ts";

/** One CLI command: it parses its own arguments and returns the process exit code. */
export interface Command {
  name: string;
  summary: string;
  run(argv: string[]): Promise<number>;
}

export interface FlagCommandDefinition<S extends FlagSpecs> {
  name: string;
  summary: string;
  /** Synopsis after the command name, e.g. `-ca cert -ca-key key CSRJSON`. */
  synopsis: string;
  /** Longer help printed under the synopsis. */
  description?: string;
  flags: S;
  run(flags: FlagValues<S>, args: string[]): Promise<number>;
}

/** A command taking Go-style flags, with `-h` help generated from its flag specs. */
export function flagCommand<S extends FlagSpecs>(prefix: string, def: FlagCommandDefinition<S>): Command {
  const help = () =>
    [
      `Usage: ${prefix} ${def.name} ${def.synopsis}`,
      "",
      def.description ?? def.summary,
      "",
      "Flags:",
      formatFlagHelp(def.flags),
      "",
    ].join("\n");
  return {
    name: def.name,
    summary: def.summary,
    async run(argv) {
      const parsed = parseGoFlags(argv, def.flags);
      if (parsed.help) {
        process.stdout.write(help());
        return 0;
      }
      return def.run(parsed.flags, parsed.args);
    },
  };
}

/** A command made of subcommands (`portcullis pki gencert …`). */
export function commandGroup(prefix: string, name: string, summary: string, commands: Command[]): Command {
  const full = prefix ? `${prefix} ${name}` : name;
  const byName = new Map(commands.map((c) => [c.name, c]));
  const help = () =>
    [
      `Usage: ${full} <command> [flags] [arguments]`,
      "",
      summary,
      "",
      "Commands:",
      ...commands.map((c) => `  ${c.name.padEnd(22)}${c.summary}`),
      "",
      `Run '${full} <command> -h' for a command's flags.`,
      "",
    ].join("\n");
  return {
    name,
    summary,
    async run(argv) {
      const [sub, ...rest] = argv;
      if (sub === undefined || ["-h", "-help", "--help", "help"].includes(sub)) {
        process.stdout.write(help());
        return sub === undefined ? 2 : 0;
      }
      const command = byName.get(sub);
      if (!command) {
        process.stderr.write(`${full}: unknown command "${sub}"\n${help()}`);
        return 2;
      }
      return command.run(rest);
    },
  };
}

/** A command whose module loads only when it runs, so `portcullis pki …` never pays for the edge or the API. */
export function lazyCommand(name: string, summary: string, load: () => Promise<Command>): Command {
  return { name, summary, run: async (argv) => (await load()).run(argv) };
}

/**
 * docs/cli.md, generated from the command definitions: `node src/cli/api/docs.ts > docs/cli.md`.
 * test/cli/docs.test.ts fails when the committed file differs from this output.
 */
import { EXIT_MEANINGS } from "./errors.ts";
import {
  type CommandSpec,
  type FlagSpec,
  flagLabel,
  GLOBAL_FLAGS,
  type GroupSpec,
  isGroup,
  type Spec,
  synopsis,
} from "./framework.ts";
import { API_GROUPS } from "./index.ts";

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

function flagRows(flags: Record<string, FlagSpec>): string[] {
  return [
    "| flag | description |",
    "| --- | --- |",
    ...Object.entries(flags).map(([name, flag]) => {
      const notes = [
        flag.required ? "required" : "",
        flag.multiple ? "repeatable" : "",
        flag.defaultText ? `default ${flag.defaultText}` : "",
      ].filter(Boolean);
      const extra = notes.length > 0 ? ` (${notes.join(", ")})` : "";
      return `| \`${cell(flagLabel(name, flag))}\` | ${cell(flag.description)}${extra} |`;
    }),
  ];
}

function commandSection(path: string, spec: CommandSpec, level: string): string[] {
  const lines = [
    `${level} \`${path}\``,
    "",
    spec.summary.endsWith(".") ? spec.summary : `${spec.summary}.`,
    "",
  ];
  lines.push("```", synopsis(path, spec), "```", "");
  if (spec.description) lines.push(spec.description.replace(/\n/g, " "), "");
  if (spec.args?.length) {
    lines.push("| argument | description |", "| --- | --- |");
    for (const arg of spec.args) {
      const notes = [arg.required ? "required" : "", arg.variadic ? "one or more" : ""].filter(Boolean);
      lines.push(
        `| \`${cell(arg.name)}\` | ${cell(arg.description)}${notes.length ? ` (${notes.join(", ")})` : ""} |`,
      );
    }
    lines.push("");
  }
  if (spec.flags && Object.keys(spec.flags).length > 0) lines.push(...flagRows(spec.flags), "");
  if (spec.examples?.length) lines.push("```sh", ...spec.examples, "```", "");
  return lines;
}

function section(path: string, spec: Spec, depth: number): string[] {
  const level = "#".repeat(Math.min(depth, 4));
  if (!isGroup(spec)) return commandSection(path, spec, level);
  const group = spec as GroupSpec;
  const lines = [
    `${level} \`${path}\``,
    "",
    group.description?.replace(/\n/g, " ") ?? `${group.summary}.`,
    "",
  ];
  for (const child of group.commands) lines.push(...section(`${path} ${child.name}`, child, depth + 1));
  return lines;
}

export function renderDocs(groups: readonly Spec[] = API_GROUPS): string {
  const lines = [
    "# `portcullis` command line: the control API",
    "",
    "<!-- Generated from the command definitions in src/cli/api/ by `node src/cli/api/docs.ts > docs/cli.md`;",
    "     edit those, not this file (test/cli/docs.test.ts checks it is current). -->",
    "",
    "These commands drive a running control plane (`portcullis up`, see [api.md](api.md)) over its API.",
    "The PKI commands (`portcullis pki …`, cfssl-compatible) are in [pki.md](pki.md); `edge` and `up` in",
    "[config.md](config.md) and [api.md](api.md).",
    "",
    "**Settings**: each comes from its flag, then the environment, then the current profile of the profile",
    "file (`$XDG_CONFIG_HOME/portcullis/config.json`, else `~/.config/portcullis/config.json`, mode 0600,",
    "written by `portcullis login` and `portcullis profile set`). Ids are 32 hex digits; where a command takes",
    "an account, zone or certificate, its name works too. Flags go after the command's name.",
    "",
    "**Output**: tables and text for people by default; `--json` prints the API's result as JSON on stdout (any",
    "other message goes to stderr). Errors are one line on stderr, `error: [CODE] message` when the API refused.",
    "",
    "## Global flags",
    "",
    ...flagRows(GLOBAL_FLAGS),
    "",
    "## Exit codes",
    "",
    "| code | meaning |",
    "| --- | --- |",
    ...EXIT_MEANINGS.map(([code, meaning]) => `| ${code} | ${cell(meaning)} |`),
    "",
    "## Commands",
    "",
    ...groups.map(
      (spec) => `- [\`portcullis ${spec.name}\`](#${anchor(`portcullis ${spec.name}`)}): ${spec.summary}`,
    ),
    "",
  ];
  for (const spec of groups) lines.push(...section(`portcullis ${spec.name}`, spec, 2));
  return `${lines.join("\n").replace(/\n+$/, "")}\n`;
}

/** GitHub's heading anchor for `` `text` ``. */
function anchor(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, "")
    .replace(/ /g, "-");
}

if (import.meta.main) process.stdout.write(renderDocs());

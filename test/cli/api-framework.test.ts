/** The API commands' framework: parsing from the definitions, help, exit codes, tables, URLs. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiClient, ApiFailure, normalizeApiUrl } from "../../src/cli/api/client.ts";
import {
  CliError,
  command,
  EXIT,
  group,
  parseCommandLine,
  runSpec,
  synopsis,
} from "../../src/cli/api/framework.ts";
import { cellText, formatFields, formatTable } from "../../src/cli/api/output.ts";
import { UsageError } from "../../src/cli/errors.ts";

const sample = command({
  name: "create",
  summary: "Create a thing",
  flags: {
    cert: { type: "string", placeholder: "FILE", required: true, description: "a file" },
    mode: { type: "string", choices: ["enforce", "permissive", "off"], description: "the mode" },
    path: { type: "string", multiple: true, placeholder: "P", description: "paths" },
    days: { type: "integer", placeholder: "N", description: "days" },
    yes: { type: "boolean", short: "y", description: "yes" },
  },
  args: [
    { name: "NAME", description: "its name", required: true },
    { name: "MORE", description: "more", variadic: true },
  ],
  async run() {},
});

test("flags and arguments are parsed by their definitions", () => {
  const parsed = parseCommandLine(sample, [
    "x.example.test",
    "--cert",
    "c.pem",
    "--mode=enforce",
    "--path",
    "/a",
    "--path",
    "/b",
    "--days",
    "30",
    "-y",
    "one",
    "two",
    "--json",
  ]);
  assert.equal(parsed.flags.cert, "c.pem");
  assert.equal(parsed.flags.mode, "enforce");
  assert.deepEqual(parsed.flags.path, ["/a", "/b"]);
  assert.equal(parsed.flags.days, 30);
  assert.equal(parsed.flags.yes, true);
  assert.equal(parsed.flags.json, true);
  assert.equal(parsed.args.NAME, "x.example.test");
  assert.deepEqual(parsed.rest, ["one", "two"]);
  const bare = parseCommandLine(sample, ["n", "--cert", "c"]);
  assert.deepEqual(bare.flags.path, [], "a repeatable flag not given is an empty list");
  assert.equal(bare.flags.yes, false);
  assert.equal(bare.flags.mode, undefined);
});

test("every usage mistake is a UsageError naming the flag or argument", () => {
  const cases: [string[], RegExp][] = [
    [["n", "--cert", "c", "--bogus"], /^unknown flag --bogus$/],
    [["n"], /^missing required flag --cert$/],
    [["--cert", "c"], /^missing argument NAME$/],
    [["n", "--cert"], /^flag --cert needs a value$/],
    [["n", "--cert", "c", "--mode", "strict"], /^--mode: "strict" is not one of enforce, permissive, off$/],
    [["n", "--cert", "c", "--days", "3x"], /^--days: expected a whole number, got "3x"$/],
    [["n", "--cert", "c", "--days", "-1"], /--days/],
    [["n", "--cert", "c", "--yes=1"], /^flag --yes takes no value$/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => parseCommandLine(sample, argv),
      (err: Error) => err instanceof UsageError && message.test(err.message),
      argv.join(" "),
    );
  }
  const noArgs = command({ name: "list", summary: "l", async run() {} });
  assert.throws(() => parseCommandLine(noArgs, ["extra"]), /unexpected argument "extra"/);
});

test("the synopsis shows required and optional flags and arguments", () => {
  assert.equal(
    synopsis("portcullis thing create", sample),
    "portcullis thing create --cert FILE [--mode enforce|permissive|off] [--path P…] [--days N] [--yes] NAME [MORE…]",
  );
});

/** Runs `fn` with stdout and stderr captured. */
async function captured(
  fn: () => Promise<number>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    const code = await fn();
    return { code, stdout: out.join(""), stderr: err.join("") };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
}

const noClient = { makeClient: async () => new ApiClient("http://127.0.0.1:1", "t") };

function failing(error: unknown) {
  return group({
    name: "thing",
    summary: "Things",
    commands: [
      command({
        name: "go",
        summary: "Go",
        async run() {
          throw error;
        },
      }),
    ],
  });
}

test("each failure is one line on stderr with its exit code, never a stack trace", async () => {
  const cases: [unknown, number, string][] = [
    [
      new ApiFailure(404, [{ code: 1003, message: "hostname x not found" }]),
      EXIT.notFound,
      "error: [1003] hostname x not found\n",
    ],
    [
      new ApiFailure(401, [{ code: 10000, message: "Authentication error" }]),
      EXIT.error,
      "error: [10000] Authentication error\n",
    ],
    [
      new CliError("cannot reach the API at http://h: ECONNREFUSED"),
      EXIT.error,
      "error: cannot reach the API at http://h: ECONNREFUSED\n",
    ],
    [
      new UsageError("must provide --id or --name."),
      EXIT.usage,
      "error: must provide --id or --name. (see 'portcullis thing go --help')\n",
    ],
    [new TypeError("boom"), EXIT.internal, "error: internal error: boom\n"],
  ];
  for (const [error, code, line] of cases) {
    const result = await captured(() => runSpec(failing(error), ["go"], "portcullis thing", noClient));
    assert.equal(result.code, code, String(error));
    assert.equal(result.stderr, line);
    assert.equal(result.stdout, "");
  }
});

test("help exits 0 and lists flags; a group without a command is a usage error", async () => {
  const spec = group({ name: "thing", summary: "Things", commands: [sample] });
  const help = await captured(() => runSpec(spec, ["create", "--help"], "portcullis thing", noClient));
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: portcullis thing create --cert FILE/);
  assert.match(help.stdout, /--mode enforce\|permissive\|off +the mode/);
  assert.match(help.stdout, /-y, --yes +yes/);
  assert.match(help.stdout, /Global flags:\n {2}--api-url URL/);
  const bare = await captured(() => runSpec(spec, [], "portcullis thing", noClient));
  assert.equal(bare.code, EXIT.usage);
  assert.match(bare.stdout, /Commands:\n {2}create +Create a thing/);
  const unknown = await captured(() => runSpec(spec, ["destroy"], "portcullis thing", noClient));
  assert.equal(unknown.code, EXIT.usage);
  assert.equal(
    unknown.stderr,
    "error: unknown command \"destroy\" (commands: create) (see 'portcullis thing --help')\n",
  );
});

test("tables align columns under capital headers, with no trailing spaces", () => {
  const rows = [
    { id: "a1", name: "api.example.test", mode: "enforce" },
    { id: "b22", name: "x", mode: null },
  ];
  const text = formatTable(rows, [
    { header: "id", value: (r) => r.id },
    { header: "hostname", value: (r) => r.name },
    { header: "mode", value: (r) => r.mode },
  ]);
  assert.equal(
    text,
    ["ID   HOSTNAME          MODE", "a1   api.example.test  enforce", "b22  x                 -", ""].join(
      "\n",
    ),
  );
  assert.equal(cellText("two\nlines"), "two lines", "a cell never breaks the table");
  assert.equal(
    formatFields([
      ["ID", "x"],
      ["Long key", true],
    ]),
    "ID:       x\nLong key: true\n",
  );
});

test("API URLs: with or without /client/v4, never anything but http(s)", () => {
  assert.equal(normalizeApiUrl("http://127.0.0.1:9000"), "http://127.0.0.1:9000");
  assert.equal(normalizeApiUrl("http://127.0.0.1:9000/client/v4/"), "http://127.0.0.1:9000");
  assert.equal(normalizeApiUrl("https://api.example.test/base/client/v4"), "https://api.example.test/base");
  assert.throws(
    () => normalizeApiUrl("ftp://x"),
    (err: CliError) => err.exitCode === EXIT.usage,
  );
  assert.throws(() => normalizeApiUrl("not a url"), /is not a URL/);
});

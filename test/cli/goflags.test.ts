import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../../src/cli/errors.ts";
import { parseGoFlags } from "../../src/cli/goflags.ts";

const SPECS = {
  ca: { type: "string", usage: "" },
  "ca-key": { type: "string", usage: "" },
  bare: { type: "bool", usage: "" },
  loglevel: { type: "int", usage: "" },
} as const;

test("Go's four spellings of a value flag mean the same", () => {
  for (const argv of [["-ca", "x.pem"], ["-ca=x.pem"], ["--ca", "x.pem"], ["--ca=x.pem"]]) {
    assert.equal(parseGoFlags(argv, SPECS).flags.ca, "x.pem", argv.join(" "));
  }
});

test("a dashed flag name, a value with '=' and positionals in any order", () => {
  const parsed = parseGoFlags(["csr.json", "-ca-key=a=b.pem", "-bare", "--", "-literal"], SPECS);
  assert.equal(parsed.flags["ca-key"], "a=b.pem");
  assert.equal(parsed.flags.bare, true);
  assert.deepEqual(parsed.args, ["csr.json", "-literal"]);
});

test("booleans take no separate value but accept =false; - alone is an argument", () => {
  const parsed = parseGoFlags(["-bare=false", "-"], SPECS);
  assert.equal(parsed.flags.bare, false);
  assert.deepEqual(parsed.args, ["-"]);
  assert.equal(parseGoFlags(["-bare", "name"], SPECS).args[0], "name");
});

test("ints are parsed and checked", () => {
  assert.equal(parseGoFlags(["-loglevel", "2"], SPECS).flags.loglevel, 2);
  assert.throws(() => parseGoFlags(["-loglevel", "x"], SPECS), UsageError);
});

test("unknown flags and missing values are usage errors in Go's words", () => {
  assert.throws(() => parseGoFlags(["-nope"], SPECS), {
    name: "UsageError",
    message: "flag provided but not defined: -nope",
  });
  assert.throws(() => parseGoFlags(["-ca"], SPECS), { message: "flag needs an argument: -ca" });
  assert.throws(() => parseGoFlags(["-bare=maybe"], SPECS), {
    message: 'invalid boolean value "maybe" for -bare',
  });
});

test("-h, -help and --help ask for help", () => {
  for (const flag of ["-h", "-help", "--help"]) assert.equal(parseGoFlags([flag], SPECS).help, true);
});

/**
 * Every class of error with the character it points at, and hostile inputs that must be refused (or
 * handled) fast with a clear message: deep nesting, megabyte expressions, huge sets, pathological
 * regular expressions.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatExpressionError } from "../../src/rules/errors.ts";
import {
  checkExpression,
  compileExpression,
  RULE_LIMITS,
  RuleExpressionError,
} from "../../src/rules/index.ts";
import { sample } from "./sample.ts";

/** Compiling fails with a RuleExpressionError at `offset` whose message matches `pattern`. */
function fails(source: string, offset: number, pattern: RegExp, limits = {}): RuleExpressionError {
  let error: unknown;
  try {
    compileExpression(source, { limits });
  } catch (e) {
    error = e;
  }
  assert.ok(
    error instanceof RuleExpressionError,
    `expected a RuleExpressionError for ${String(source).slice(0, 80)}`,
  );
  assert.equal(error.code, "invalid_expression");
  assert.match(error.message, pattern);
  assert.equal(error.offset, offset, `${error.message} at ${error.offset}, expected ${offset}`);
  const { line, column } = error;
  assert.ok(error.message.startsWith(`Filter parsing error (${line}:${column}): `), error.message);
  assert.ok(!error.message.includes("\n"), "one line");
  return error;
}

/** Where `needle` starts in `source`. */
const at = (source: string, needle: string, from = 0) => {
  const i = source.indexOf(needle, from);
  assert.ok(i >= 0, needle);
  return i;
};

describe("errors name the problem and the character", () => {
  const cases: [string, string, RegExp][] = [
    // [expression, the text the error points at (first occurrence; "" = end), message]
    ['ssl eq "x"', "eq", /ssl \(Boolean\) cannot be compared with eq: use it on its own \(ssl\) or negated/],
    [
      "cf.tls_client_auth.cert_verified == true",
      "==",
      /cert_verified \(Boolean\) cannot be compared with ==/,
    ],
    [
      'ip.src contains "1"',
      "contains",
      /operator contains is not defined for ip\.src \(IP address\); use one of eq, ne, in/,
    ],
    ['ip.src matches r"^10\\."', "matches", /operator matches is not defined for ip\.src/],
    [
      'len(http.host) contains "1"',
      "contains",
      /operator contains is not defined for len\(http\.host\) \(Integer\)/,
    ],
    ['http.hots eq "a"', "http.hots", /unknown field "http\.hots" \(did you mean http\.host\?\)/],
    [
      'cf.tls_client_auth.cert_sky eq "A"',
      "cf.tls",
      /unknown field "cf\.tls_client_auth\.cert_sky" \(did you mean cf\.tls_client_auth\.cert_ski\?\)/,
    ],
    [
      'ssl and http.request.full_uri eq "x"',
      "http.request.full_uri",
      /unknown field "http\.request\.full_uri"/,
    ],
    [
      'lowr(http.host) eq "a"',
      "lowr",
      /unknown function "lowr" \(did you mean lower\?\); functions are lower, upper/,
    ],
    ["http.host eq 5", "5", /expected a string \("…" or r"…"\) after eq, found "5"/],
    ['len(http.host) gt "5"', '"5"', /expected an Integer after gt, found a string/],
    ['ip.src eq "10.0.0.1"', '"10.0.0.1"', /expected an IP address after eq, found a string/],
    [
      "ip.src eq 10.0.0.0/8",
      "10.0.0.0/8",
      /eq takes one IP address; for a CIDR or a range use in: ip\.src in \{10\.0\.0\.0\/8\}/,
    ],
    ["ip.src eq 10.0.0.256", "10.0.0.256", /"10\.0\.0\.256" is not an IP address/],
    [
      "ip.src in {10.0.0.0/33}",
      "10.0.0.0/33",
      /invalid CIDR "10\.0\.0\.0\/33": prefix length \/33 is out of range/,
    ],
    ["ip.src in {10.0.0.9..10.0.0.1}", "10.0.0.9", /invalid IP range .*the start is above the end/],
    ["ip.src in {10.0.0.1..::1}", "10.0.0.1", /both ends must be IPv4 or both IPv6/],
    ["ip.src in {1.2.3.4 010.0.0.1}", "010", /"010\.0\.0\.1" is not an IP address/],
    ["ip.src in $office_ips", "$", /named lists \(\$name\) are not supported/],
    ['http.host in {"a", "b"}', ",", /set elements are separated by spaces, not commas/],
    ['http.host in {"a" "b"', "", /expected } to close the set opened at 1:14/],
    ['http.host in "a"', '"a"', /expected a set \{ … \} after in, found a string/],
    ["len(http.host) in {5..1}", "5..1", /range 5\.\.1 is empty/],
    ["len(http.host) eq 99999999999999999999", "999", /integer 99999999999999999999 is out of range/],
    ["len(http.host) eq 5x", "5x", /is not an Integer/],
    [
      "http.host",
      "",
      /expected a comparison operator after http\.host \(String\), found the end of the expression/,
    ],
    ['http.host "a"', '"a"', /expected a comparison operator after http\.host \(String\), found a string/],
    ['http.host wildcard "*.example.com"', "wildcard", /operator wildcard is not supported/],
    ['http.host strict wildcard "*.example.com"', "strict", /operator strict is not supported/],
    ['http.host eq "a" "b"', '"b"', /expected and, or, xor or the end of the expression, found a string/],
    ['http.host eq "a" ssl', "ssl", /expected and, or, xor or the end of the expression, found "ssl"/],
    ["ssl)", ")", /unmatched \)/],
    ["((ssl)", "", /expected \) to close the \( at 1:1, found the end of the expression/],
    ["(ssl and", "", /expected a field, a function or \(, found the end of the expression/],
    ["ssl and and ssl", "and ssl", /expected a field, a function or \(, found the keyword and/],
    [
      '"api.example.com" eq http.host',
      '"api',
      /found a string \(the field goes on the left: http\.host eq "…"\)/,
    ],
    ['r"api.example.com" eq http.host', 'r"', /found a string \(the field goes on the left/],
    ["ssl AND ssl", "AND", /expected and, or, xor or the end of the expression, found "AND"/],
    ["", "", /empty expression/],
    ["ssl and\u00a0ssl", "\u00a0", /expected a field, a function or \(, found U\+00A0$/],
    ["   \n  ", "", /^Filter parsing error \(2:3\): empty expression/],
    ['http.host eq "abc', '"abc', /unterminated string: missing the closing "/],
    ['http.host eq "abc\\', '"abc', /unterminated string: missing the closing "/],
    ['http.host eq r#"abc"', 'r#"', /unterminated raw string: missing the closing "#/],
    ['http.host eq r#abc"', "r#", /a raw string starts with r" or r#"/],
    [
      'http.request.uri.path matches "\\.php$"',
      "\\.",
      /invalid escape \\\. in a string: only \\" \\\\ and \\xHH \(00 to 7F\) are escapes \(write regular expressions as raw strings/,
    ],
    ['http.host eq "\\xff"', "\\xff", /invalid escape \\x in a string/],
    ['http.request.uri.path matches "(a"', '"(a"', /invalid regular expression: missing closing \): `\(a`/],
    [
      'http.request.uri.path matches r"a**"',
      'r"a',
      /invalid regular expression: invalid nested repetition operator: `\*\*`/,
    ],
    ['http.request.uri.path matches r"a{1001}"', 'r"a', /invalid regular expression: invalid repeat count/],
    ['http.request.uri.path matches r"(?<=a)b"', 'r"', /invalid regular expression/],
    [
      'http.request.uri.path matches r".{600}" or http.host matches r".{601}"',
      'r".{601}"',
      /regular expression is too large: 1205 RE2 instructions in the regular expressions of this expression, the limit is 1000/,
    ],
    [
      'http.request.uri.path matches r"[a-z]{1000}[a-z]{1000}"',
      'r"',
      /regular expression is too large: 2002 RE2 instructions, the limit is 1000/,
    ],
    [
      'http.request.headers["x"][*] eq "a"',
      "http.request.headers",
      /is compared per element \(\[\*\]\): wrap the comparison in any\(\.\.\.\) or all\(\.\.\.\)/,
    ],
    ['any(http.host eq "a")', "http.host", /any\(\) takes a comparison of array elements \(\[\*\]\)/],
    [
      'http.request.headers eq "a"',
      "http.request.headers",
      /is a Map<Array<String>>: pick one with http\.request\.headers\["name"\]/,
    ],
    ['http.host["a"] eq "a"', "[", /http\.host \(String\) cannot be indexed with \[ \]/],
    [
      'http.request.headers["a"]["b"] eq "a"',
      '"b"',
      /http\.request\.headers\["a"\] \(Array<String>\) is indexed by position \(\[0\]\) or \[\*\], not by name/,
    ],
    ['http.request.headers[0] eq "a"', "0", /expected a string \("…" or r"…"\) after \[, found "0"/],
    ['http.request.headers["a"][-1] eq "a"', "-1", /an array index is 0 or more/],
    ['http.request.headers["a" eq "a"', 'eq "a"', /expected \] to close the \[ at 1:21, found "eq"/],
    ['lower(ssl) eq "a"', "ssl", /lower\(\) takes a String, found ssl \(Boolean\)/],
    ['upper(ip.src) eq "a"', "ip.src", /upper\(\) takes a String, found ip\.src \(IP address\)/],
    ["len(len(http.host)) eq 1", "len(http", /len\(\) takes a String, found len\(http\.host\) \(Integer\)/],
    [
      "starts_with(http.host)",
      ")",
      /expected , and a string after the first argument of starts_with\(\), found "\)"/,
    ],
    ["starts_with(http.host, http.host)", "http.host)", /expected a string \("…" or r"…"\) after ,/],
    ['lower(http.host eq "a"', "eq", /expected \) to close lower\( at 1:1, found "eq"/],
    ['starts_with(http.host, "a") eq "b"', "eq", /cannot be compared with eq/],
    ['ssl and\n  http.hots eq "a"', "http.hots", /^Filter parsing error \(2:3\): unknown field/],
  ];
  for (const [source, pointsAt, pattern] of cases) {
    test(source.replace(/\n/g, "\\n"), () => {
      const offset = pointsAt === "" ? source.length : at(source, pointsAt);
      fails(source, offset, pattern);
      const check = checkExpression(source);
      assert.equal(check.ok, false);
      assert.equal(check.ok === false && check.offset, offset);
    });
  }

  test("a non-string is refused, not thrown as a TypeError", () => {
    fails(42 as unknown as string, 0, /the expression must be a string/);
  });

  test("checkExpression accepts valid expressions", () => {
    assert.deepEqual(checkExpression('http.host eq "a"'), { ok: true });
  });

  test("formatExpressionError draws a caret under the character", () => {
    const source = 'ssl and http.hots eq "a"';
    const error = fails(source, 8, /unknown field/);
    assert.equal(
      formatExpressionError(source, error),
      `Filter parsing error (1:9): unknown field "http.hots" (did you mean http.host?)\n${source}\n        ^`,
    );
  });
});

describe("limits", () => {
  test("length: Cloudflare's 4,096 characters", () => {
    assert.equal(RULE_LIMITS.maxLength, 4096);
    const ok = `http.host eq "${"a".repeat(4096 - 15)}"`;
    assert.equal(ok.length, 4096);
    compileExpression(ok);
    fails(`${ok} `, 4096, /expression is too long: 4097 characters, the limit is 4096/);
  });

  test("nesting depth: parentheses and function calls", () => {
    const depth = RULE_LIMITS.maxDepth;
    compileExpression(`${"(".repeat(depth)}ssl${")".repeat(depth)}`);
    fails(
      `${"(".repeat(depth + 1)}ssl${")".repeat(depth + 1)}`,
      depth,
      /nested too deeply: more than 64 levels/,
    );
    compileExpression(`${"lower(".repeat(depth)}http.host${")".repeat(depth)} eq "a"`);
    fails(
      `${"lower(".repeat(depth + 1)}http.host${")".repeat(depth + 1)} eq "a"`,
      depth * 6,
      /nested too deeply/,
    );
  });

  test("set size", () => {
    const limits = { maxLength: 1e7 };
    const set = (n: number) => `http.host in {${Array.from({ length: n }, (_, i) => `"h${i}"`).join(" ")}}`;
    compileExpression(set(10_000), { limits });
    const source = set(10_001);
    fails(source, at(source, '"h10000"'), /set has more than 10000 elements/, limits);
  });
});

describe("hostile input fails fast (bounds are generous: they catch blow-ups, not slowness)", () => {
  const quickly = (what: string, f: () => void) => {
    const start = performance.now();
    f();
    const ms = performance.now() - start;
    assert.ok(ms < 3000, `${what} took ${ms.toFixed(0)} ms`);
  };
  const huge = { maxLength: 2e6, maxDepth: 64, maxSetSize: 200_000 };

  test("100,000 nested parentheses", () => {
    const source = `${"(".repeat(100_000)}ssl${")".repeat(100_000)}`;
    quickly("default limits", () => fails(source, 4096, /expression is too long: 200003 characters/));
    quickly("past the length limit", () => fails(source, 64, /nested too deeply/, huge));
    const calls = `${"lower(".repeat(100_000)}http.host${")".repeat(100_000)} eq "a"`;
    quickly("nested calls", () => fails(calls, 64 * 6, /nested too deeply/, huge));
  });

  test("a 1 MB expression", () => {
    const chain = Array.from({ length: 70_000 }, (_, i) => `http.host eq "h${i}"`).join(" or ");
    assert.ok(chain.length > 1_000_000);
    quickly("default limits", () => fails(chain, 4096, /expression is too long/));
    // Past the limit, a flat chain compiles in linear time and evaluates without recursion.
    quickly("or chain", () => {
      const rule = compileExpression(chain, { limits: huge });
      assert.equal(rule(sample({ host: "h69999" })), true);
      assert.equal(rule(sample({ host: "nope" })), false);
    });
    const xor = Array.from({ length: 100_000 }, () => "ssl").join(" ^^ ");
    quickly("xor chain", () => assert.equal(compileExpression(xor, { limits: huge })(sample()), false));
    const nots = `${"not ".repeat(250_000)}ssl`;
    quickly("not run", () => assert.equal(compileExpression(nots, { limits: huge })(sample()), true));
    const garbage = `ssl and ${"\u{1F600}".repeat(500_000)}`;
    quickly("garbage", () => fails(garbage, 8, /expected a field, a function or \(, found "😀"/, huge));
    const longName = `${"a".repeat(1_000_000)} eq "x"`;
    quickly("long name", () => fails(longName, 0, /unknown field "a{57}\.\.\."$/, huge));
    const longString = `http.host eq "${"\\\\".repeat(500_000)}`;
    quickly("unterminated escapes", () => fails(longString, 13, /unterminated string/, huge));
  });

  test("a 100,000-element set", () => {
    const elements = Array.from(
      { length: 100_000 },
      (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    );
    const source = `ip.src in {${elements.join(" ")}}`;
    quickly("default limits", () => fails(source, 4096, /expression is too long/));
    quickly("set limit", () =>
      fails(source, at(source, elements[10_000] as string), /set has more than 10000 elements/, {
        maxLength: 2e6,
      }),
    );
    quickly("raised set limit", () => {
      const rule = compileExpression(source, { limits: huge });
      assert.equal(rule(sample({ ip: "10.1.134.159" })), true);
      assert.equal(rule(sample({ ip: "10.2.0.0" })), false);
    });
  });

  test("pathological regular expressions run in linear time (RE2)", () => {
    const input = `${"a".repeat(100_000)}!`;
    for (const pattern of ["(a+)+$", "(a|aa)+$", "(a*)*b", "^(a|a?)+$", "^(.*a){20}$"]) {
      const rule = compileExpression(`http.request.uri.path matches r"${pattern}"`);
      quickly(pattern, () => assert.equal(rule(sample({ path: input })), false, pattern));
    }
    const rule = compileExpression('http.request.uri.path matches r"(a+)+!$"');
    quickly("match", () => assert.equal(rule(sample({ path: input })), true));
  });

  test("a regular expression whose expansion is huge is refused before it is compiled", () => {
    const source = `http.request.uri.path matches r"${"(?:abcdefghij){1000}".repeat(150)}"`;
    quickly("expansion", () =>
      fails(source, 30, /regular expression is too large: about \d+ RE2 instructions, the limit is 1000/),
    );
  });
});

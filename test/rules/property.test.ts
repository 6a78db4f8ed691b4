/**
 * Property tests (fast-check): random expression trees printed with random operator forms (word or
 * symbol), random whitespace and only the parentheses precedence needs evaluate like a reference
 * evaluator of the tree; word and symbol forms agree; and any input, valid or mangled, either compiles
 * to a total function or fails with a RuleExpressionError inside the source.
 */
import assert from "node:assert/strict";
import { BlockList } from "node:net";
import { describe, test } from "node:test";
import fc from "fast-check";
import { RE2JS } from "re2js";
import { compileExpression, RuleExpressionError, type RuleRequest } from "../../src/rules/index.ts";
import { sample, tls } from "./sample.ts";

type Form = "word" | "symbol";
type Tree =
  | { t: "atom"; print: (form: Form) => string; eval: (r: RuleRequest) => boolean }
  | { t: "not"; x: Tree }
  | { t: "and" | "or" | "xor"; l: Tree; r: Tree };

const VALUES = [
  "",
  "a",
  "api.example.com",
  "/admin",
  "/admin/users",
  "GET",
  "POST",
  "CN=alice,O=Example",
  "Zoë",
  '"q"',
  "\\",
];
const value = fc.oneof(fc.constantFrom(...VALUES), fc.string({ maxLength: 6 }));

const STRING_FIELDS: [string, (r: RuleRequest) => string][] = [
  ["http.host", (r) => r.host],
  ["http.request.uri.path", (r) => r.path],
  ["http.request.method", (r) => r.method],
  ["cf.tls_client_auth.cert_subject_dn", (r) => r.tlsClientAuth().cert_subject_dn as string],
  ["mtls.verification_status", (r) => r.verificationStatus],
];
const BOOL_FIELDS: [string, (r: RuleRequest) => boolean][] = [
  ["ssl", (r) => r.ssl],
  ["cf.tls_client_auth.cert_verified", (r) => r.tlsClientAuth().cert_verified === true],
  ["cf.tls_client_auth.cert_revoked", (r) => r.tlsClientAuth().cert_revoked === true],
];

/** A string literal, quoted or raw. */
function literal(s: string, raw: boolean): string {
  if (raw && !s.includes('"#')) return `r#"${s}"#`;
  return `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

const STRING_OPS: [string, string, (a: string, b: string) => boolean][] = [
  ["eq", "==", (a, b) => a === b],
  ["ne", "!=", (a, b) => a !== b],
  ["lt", "<", (a, b) => a < b],
  ["le", "<=", (a, b) => a <= b],
  ["gt", ">", (a, b) => a > b],
  ["ge", ">=", (a, b) => a >= b],
  ["contains", "contains", (a, b) => a.includes(b)],
];

const stringAtom = fc
  .tuple(fc.constantFrom(...STRING_FIELDS), fc.constantFrom(...STRING_OPS), value, fc.boolean(), fc.boolean())
  .map(([[field, read], [word, symbol, op], v, raw, lowered]): Tree => {
    const left = lowered ? `lower(${field})` : field;
    const get = lowered ? (r: RuleRequest) => read(r).toLowerCase() : read;
    return {
      t: "atom",
      print: (form) => `${left} ${form === "word" ? word : symbol} ${literal(v, raw)}`,
      eval: (r) => op(get(r), v),
    };
  });

const matchesAtom = fc
  .tuple(fc.constantFrom(...STRING_FIELDS), value, fc.boolean())
  .map(([[field, read], v, anchored]): Tree => {
    const pattern = `${anchored ? "^" : ""}${RE2JS.quote(v)}`;
    return {
      t: "atom",
      print: (form) => `${field} ${form === "word" ? "matches" : "~"} ${literal(pattern, true)}`,
      eval: (r) => (anchored ? read(r).startsWith(v) : read(r).includes(v)),
    };
  });

const setAtom = fc.tuple(fc.constantFrom(...STRING_FIELDS), fc.array(value, { maxLength: 5 })).map(
  ([[field, read], values]): Tree => ({
    t: "atom",
    print: () => `${field} in {${values.map((v) => literal(v, false)).join(" ")}}`,
    eval: (r) => values.includes(read(r)),
  }),
);

const functionAtom = fc
  .tuple(
    fc.constantFrom(...STRING_FIELDS),
    value,
    fc.constantFrom("starts_with", "ends_with", "len"),
    fc.nat(20),
  )
  .map(([[field, read], v, fn, n]): Tree => {
    if (fn === "len") {
      return {
        t: "atom",
        print: (form) => `len(${field}) ${form === "word" ? "ge" : ">="} ${n}`,
        eval: (r) => Buffer.byteLength(read(r)) >= n,
      };
    }
    return {
      t: "atom",
      print: () => `${fn}(${field}, ${literal(v, false)})`,
      eval: (r) => (fn === "starts_with" ? read(r).startsWith(v) : read(r).endsWith(v)),
    };
  });

const boolAtom = fc
  .constantFrom(...BOOL_FIELDS)
  .map(([field, read]): Tree => ({ t: "atom", print: () => field, eval: read }));

/** `ip.src in {…}` checked against node:net's BlockList as the reference. */
const cidr = fc.oneof(
  fc
    .tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 }))
    .map(([ip, bits]) => ({ ip, bits, type: "ipv4" as const })),
  fc
    .tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 }))
    .map(([ip, bits]) => ({ ip, bits, type: "ipv6" as const })),
);
const ipAtom = fc.array(cidr, { minLength: 1, maxLength: 4 }).map((nets): Tree => {
  const list = new BlockList();
  for (const n of nets) list.addSubnet(n.ip, n.bits, n.type);
  return {
    t: "atom",
    print: () => `ip.src in {${nets.map((n) => `${n.ip}/${n.bits}`).join(" ")}}`,
    eval: (r) => list.check(r.ip, r.ip.includes(":") ? "ipv6" : "ipv4"),
  };
});

const atom = fc.oneof(stringAtom, matchesAtom, setAtom, functionAtom, boolAtom, ipAtom);

const tree: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    atom,
    tie("tree").map((x): Tree => ({ t: "not", x })),
    fc
      .tuple(fc.constantFrom("and" as const, "or" as const, "xor" as const), tie("tree"), tie("tree"))
      .map(([t, l, r]): Tree => ({ t, l, r })),
  ),
})).tree;

function evaluateTree(node: Tree, r: RuleRequest): boolean {
  switch (node.t) {
    case "atom":
      return node.eval(r);
    case "not":
      return !evaluateTree(node.x, r);
    case "and":
      return evaluateTree(node.l, r) && evaluateTree(node.r, r);
    case "or":
      return evaluateTree(node.l, r) || evaluateTree(node.r, r);
    default:
      return evaluateTree(node.l, r) !== evaluateTree(node.r, r);
  }
}

const PRECEDENCE = { or: 1, xor: 2, and: 3, not: 4, atom: 5 };
const SYMBOLS = { and: "&&", or: "||", xor: "^^", not: "!" };

/** Prints with only the parentheses precedence needs (plus random extra ones), in the chosen form. */
function print(node: Tree, parent: number, choose: () => number): string {
  const space = [" ", "  ", "\n", "\t "][choose() % 4] as string;
  let text: string;
  if (node.t === "atom") text = node.print(choose() % 2 ? "word" : "symbol");
  else if (node.t === "not") {
    const inner = print(node.x, PRECEDENCE.not, choose);
    text = choose() % 2 ? `not${space}${inner}` : `!${inner}`;
  } else {
    const op = choose() % 2 ? node.t : SYMBOLS[node.t];
    text = `${print(node.l, PRECEDENCE[node.t], choose)}${space}${op}${space}${print(node.r, PRECEDENCE[node.t], choose)}`;
  }
  const needs = PRECEDENCE[node.t] < parent;
  return needs || choose() % 7 === 0 ? `(${text})` : text;
}

/** Prints every operator in one form, fully parenthesized. */
function printForm(node: Tree, form: Form): string {
  if (node.t === "atom") return node.print(form);
  if (node.t === "not")
    return form === "word" ? `not (${printForm(node.x, form)})` : `!(${printForm(node.x, form)})`;
  const op = form === "word" ? node.t : SYMBOLS[node.t];
  return `(${printForm(node.l, form)}) ${op} (${printForm(node.r, form)})`;
}

const request = fc
  .record({
    host: fc.constantFrom(...VALUES),
    path: fc.constantFrom(...VALUES),
    method: fc.constantFrom("GET", "POST", "a"),
    ssl: fc.boolean(),
    ip: fc.oneof(fc.ipV4(), fc.ipV6()),
    state: fc.constantFrom(
      "verified" as const,
      "unverified" as const,
      "revoked" as const,
      "missing" as const,
    ),
    dn: fc.constantFrom(...VALUES),
  })
  .map(({ state, dn, ...rest }) => sample({ ...rest, tls: tls(state, { cert_subject_dn: dn }) }));

// Expressions longer than Cloudflare's 4,096 characters are legitimate here: the trees are random.
const limits = { maxLength: 100_000 };

describe("properties", () => {
  test("minimal-parenthesis printing in mixed forms evaluates like the tree (precedence not > and > xor > or)", () => {
    fc.assert(
      fc.property(
        tree,
        fc.array(fc.nat(), { minLength: 1, maxLength: 64 }),
        fc.array(request, { minLength: 1, maxLength: 4 }),
        (t, choices, requests) => {
          let i = 0;
          const source = print(t, 0, () => choices[i++ % choices.length] as number);
          const rule = compileExpression(source, { limits });
          for (const r of requests) assert.equal(rule(r), evaluateTree(t, r), source);
        },
      ),
      { numRuns: 400 },
    );
  });

  test("word and symbol forms are equivalent", () => {
    fc.assert(
      fc.property(tree, fc.array(request, { minLength: 1, maxLength: 4 }), (t, requests) => {
        const words = compileExpression(printForm(t, "word"), { limits });
        const symbols = compileExpression(printForm(t, "symbol"), { limits });
        for (const r of requests) assert.equal(words(r), symbols(r));
      }),
      { numRuns: 300 },
    );
  });

  test("any input compiles to a total function or throws RuleExpressionError inside the source", () => {
    const valid = tree.map((t) => printForm(t, "word"));
    const mangled = fc
      .tuple(valid, fc.nat(), fc.nat(3), fc.string({ maxLength: 3 }))
      .map(([s, at, cut, insert]) => {
        const i = at % (s.length + 1);
        return s.slice(0, i) + insert + s.slice(i + cut);
      });
    const tokens = fc
      .array(
        fc.constantFrom(
          "(",
          ")",
          "{",
          "}",
          "[",
          "]",
          '"',
          "r#",
          "\\",
          "not ",
          "!",
          " and ",
          "&&",
          " or ",
          "||",
          "^^",
          " eq ",
          "==",
          " in ",
          "~",
          " matches ",
          "ssl",
          "http.host",
          "ip.src",
          'http.request.headers["a"]',
          "[*]",
          "[0]",
          "any(",
          "lower(",
          "len(",
          ",",
          "1",
          "10.0.0.0/8",
          "::1",
          "..",
          '"x"',
          "$",
          "\n",
          "😀",
        ),
        { maxLength: 20 },
      )
      .map((parts) => parts.join(""));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), mangled, tokens), (source) => {
        let rule: ((r: RuleRequest) => boolean) | undefined;
        try {
          rule = compileExpression(source, { limits });
        } catch (e) {
          assert.ok(e instanceof RuleExpressionError, `${source}: ${e}`);
          assert.ok(e.offset >= 0 && e.offset <= source.length, `${source}: offset ${e.offset}`);
          assert.match(e.message, /^Filter parsing error \(\d+:\d+\): \S/);
          return;
        }
        assert.equal(typeof rule(sample()), "boolean");
        assert.equal(
          typeof rule(sample({ headers: { a: ["x", "y"] }, ip: "", tls: tls("missing") })),
          "boolean",
        );
      }),
      { numRuns: 2000 },
    );
  });
});

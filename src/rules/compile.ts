/**
 * Parser, type checker and compiler of the rules language (docs/rules.md) in one pass: the source is
 * read once, left to right, and turned directly into closures; evaluating a rule runs those closures
 * and never looks at the source again.
 *
 * Hostile input stays cheap: the length is checked first, every loop moves forward through the source
 * (parsing is linear), recursion happens only for parentheses and function calls and is capped by
 * `maxDepth`, `and`/`or`/`xor` chains and `not` runs are loops (and compile to flat lists, so
 * evaluation does not recurse either), sets are capped by `maxSetSize` and compiled to a hash set or a
 * binary search, and regular expressions use RE2 (re2js: linear-time, no backtracking).
 */
import type { RE2JS } from "re2js";
import { lineColumn, RuleExpressionError } from "./errors.ts";
import { FIELDS, type FieldDefinition, headerText, headerValues } from "./fields.ts";
import {
  type IpInterval,
  ipSetMatcher,
  numberSetMatcher,
  parseCidr,
  parseIp,
  parseIpPoint,
  parseIpRange,
  requestIp,
  sameIp,
} from "./ip.ts";
import { RULE_LIMITS, type RuleLimits } from "./limits.ts";
import { compileRegex } from "./regex.ts";
import type { CompiledExpression, RuleRequest } from "./request.ts";

type Kind = "string" | "bool" | "int" | "ip" | "array" | "map";
type Reader = (r: RuleRequest) => unknown;
type Predicate = (r: RuleRequest) => boolean;

/** A typed value expression: a field, a function call or an index into one. */
interface Value {
  readonly kind: Kind;
  /** From `[*]`: `read` returns an array of `kind` values, and everything applied to it applies per element. */
  readonly each: boolean;
  /** From `[N]`: `read` may return undefined (no such element); every comparison of it is then false. */
  readonly optional: boolean;
  readonly read: Reader;
  /** For a header array: the values as one string, used where a String is expected. */
  readonly text?: (r: RuleRequest) => string;
  /** Source text and offset, for messages. */
  readonly source: string;
  readonly start: number;
}

type Op = "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "contains" | "matches" | "in";

const SYMBOL_OPS: readonly (readonly [string, Op])[] = [
  ["==", "eq"],
  ["!=", "ne"],
  ["<=", "le"],
  [">=", "ge"],
  ["<", "lt"],
  [">", "gt"],
  ["~", "matches"],
];
const WORD_OPS = new Set<string>(["eq", "ne", "lt", "le", "gt", "ge", "contains", "matches", "in"]);
const OPS_BY_KIND: Readonly<Record<"string" | "int" | "ip", readonly Op[]>> = {
  string: ["eq", "ne", "lt", "le", "gt", "ge", "contains", "matches", "in"],
  int: ["eq", "ne", "lt", "le", "gt", "ge", "in"],
  ip: ["eq", "ne", "in"],
};
const KEYWORDS = new Set<string>([
  ...WORD_OPS,
  "and",
  "or",
  "xor",
  "not",
  "true",
  "false",
  "wildcard",
  "strict",
]);
const FUNCTIONS = ["lower", "upper", "len", "starts_with", "ends_with", "any", "all"];

const TYPE_NAMES: Readonly<Record<Kind, string>> = {
  string: "String",
  bool: "Boolean",
  int: "Integer",
  ip: "IP address",
  array: "Array<String>",
  map: "Map<Array<String>>",
};

function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

function allOf(list: readonly Predicate[]): Predicate {
  if (list.length === 2) {
    const [a, b] = list as [Predicate, Predicate];
    return (r) => a(r) && b(r);
  }
  return (r) => {
    for (const p of list) if (!p(r)) return false;
    return true;
  };
}

function anyOf(list: readonly Predicate[]): Predicate {
  if (list.length === 2) {
    const [a, b] = list as [Predicate, Predicate];
    return (r) => a(r) || b(r);
  }
  return (r) => {
    for (const p of list) if (p(r)) return true;
    return false;
  };
}

function oddOf(list: readonly Predicate[]): Predicate {
  return (r) => {
    let x = false;
    for (const p of list) x = x !== p(r);
    return x;
  };
}

/** eq, ne, lt, le, gt, ge against a literal (Strings by character code, Integers by value). */
function ordering<T extends string | number>(op: Op, literal: T): (x: unknown) => boolean {
  switch (op) {
    case "eq":
      return (x) => x === literal;
    case "ne":
      return (x) => x !== literal;
    case "lt":
      return (x) => (x as T) < literal;
    case "le":
      return (x) => (x as T) <= literal;
    case "gt":
      return (x) => (x as T) > literal;
    default:
      return (x) => (x as T) >= literal;
  }
}

/** Edit distance, for "did you mean" on unknown names (only called with short names). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

function suggestion(name: string, candidates: Iterable<string>): string {
  if (name.length > 64) return "";
  let best = "";
  let bestDistance = 4;
  for (const c of candidates) {
    const d = distance(name, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best ? ` (did you mean ${best}?)` : "";
}

function clip(s: string, max = 60): string {
  const one = s.length > max * 2 ? s.slice(0, max * 2) : s;
  const flat = one.replace(/\s+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

class Parser {
  readonly src: string;
  readonly limits: RuleLimits;
  pos = 0;
  depth = 0;
  /** RE2 instructions of the regular expressions compiled so far. */
  regexProgram = 0;

  constructor(src: string, limits: RuleLimits) {
    this.src = src;
    this.limits = limits;
  }

  fail(offset: number, detail: string): never {
    throw new RuleExpressionError(this.src, offset, detail);
  }

  at(offset: number): string {
    const { line, column } = lineColumn(this.src, offset);
    return `${line}:${column}`;
  }

  skipSpace(): void {
    const s = this.src;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.pos++;
      else break;
    }
  }

  nameAt(p: number): string {
    const s = this.src;
    if (!isNameStart(s.charCodeAt(p))) return "";
    let e = p + 1;
    for (;;) {
      const c = s.charCodeAt(e);
      if (isNameChar(c)) e++;
      else if (c === 46 && isNameChar(s.charCodeAt(e + 1))) e += 2;
      else break;
    }
    return s.slice(p, e);
  }

  /** What is at `p`, for "found …" in messages. */
  found(p: number): string {
    const s = this.src;
    if (p >= s.length) return "the end of the expression";
    const c = s.charCodeAt(p);
    if (c === 34 || (c === 114 && (s[p + 1] === '"' || s[p + 1] === "#"))) return "a string";
    const name = this.nameAt(p);
    if (name) return `"${clip(name)}"`;
    if (isDigit(c) || c === 45) {
      let e = p + 1;
      while (e < s.length && /[0-9a-fA-F:./]/.test(s[e] as string)) e++;
      return `"${clip(s.slice(p, e))}"`;
    }
    const code = s.codePointAt(p) as number;
    // Invisible characters (controls, non-ASCII spaces) by their code point.
    if (code < 0x21 || (code >= 0x7f && code <= 0xa0) || /^\s$/u.test(String.fromCodePoint(code))) {
      return `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
    }
    return `"${String.fromCodePoint(code)}"`;
  }

  describe(v: Value): string {
    const type = v.each ? `${TYPE_NAMES[v.kind]}, per element` : TYPE_NAMES[v.kind];
    return `${clip(v.source)} (${type})`;
  }

  enter(offset: number): void {
    if (++this.depth > this.limits.maxDepth) {
      this.fail(
        offset,
        `expression is nested too deeply: more than ${this.limits.maxDepth} levels of parentheses and function calls`,
      );
    }
  }

  /** Consumes the logical operator `word` or `symbol` at the current position. */
  logical(word: string, symbol: string): boolean {
    this.skipSpace();
    const s = this.src;
    if (s.startsWith(symbol, this.pos)) {
      this.pos += symbol.length;
      return true;
    }
    if (s.startsWith(word, this.pos) && !isNameChar(s.charCodeAt(this.pos + word.length))) {
      this.pos += word.length;
      return true;
    }
    return false;
  }

  expression(): Predicate {
    this.skipSpace();
    if (this.pos >= this.src.length) this.fail(this.pos, "empty expression");
    const p = this.or();
    this.skipSpace();
    if (this.pos < this.src.length) {
      if (this.src[this.pos] === ")") this.fail(this.pos, "unmatched )");
      this.fail(
        this.pos,
        `expected and, or, xor or the end of the expression, found ${this.found(this.pos)}`,
      );
    }
    return p;
  }

  // Precedence, as Cloudflare: not > and > xor > or.
  or(): Predicate {
    const list = [this.xor()];
    while (this.logical("or", "||")) list.push(this.xor());
    return list.length === 1 ? (list[0] as Predicate) : anyOf(list);
  }

  xor(): Predicate {
    const list = [this.and()];
    while (this.logical("xor", "^^")) list.push(this.and());
    return list.length === 1 ? (list[0] as Predicate) : oddOf(list);
  }

  and(): Predicate {
    const list = [this.unary()];
    while (this.logical("and", "&&")) list.push(this.unary());
    return list.length === 1 ? (list[0] as Predicate) : allOf(list);
  }

  unary(): Predicate {
    let negations = 0;
    for (;;) {
      this.skipSpace();
      const s = this.src;
      if (s[this.pos] === "!" && s[this.pos + 1] !== "=") this.pos++;
      else if (s.startsWith("not", this.pos) && !isNameChar(s.charCodeAt(this.pos + 3))) this.pos += 3;
      else break;
      negations++;
    }
    const p = this.primary();
    return negations % 2 === 1 ? (r) => !p(r) : p;
  }

  primary(): Predicate {
    this.skipSpace();
    const open = this.pos;
    if (this.src[open] !== "(") return this.comparison(false).read as Predicate;
    this.enter(open);
    this.pos++;
    const p = this.or();
    this.skipSpace();
    if (this.src[this.pos] !== ")") {
      this.fail(this.pos, `expected ) to close the ( at ${this.at(open)}, found ${this.found(this.pos)}`);
    }
    this.pos++;
    this.depth--;
    return p;
  }

  /** `value op literal`, or a Boolean value on its own. The result is a Boolean value. */
  comparison(perElement: boolean): Value {
    const left = this.value();
    this.skipSpace();
    const opAt = this.pos;
    const op = this.operator();
    let result: Value;
    if (op === null) {
      if (left.kind !== "bool") {
        this.fail(
          opAt,
          `expected a comparison operator after ${this.describe(left)}, found ${this.found(opAt)}`,
        );
      }
      result = left;
    } else {
      result = this.compare(left, op, opAt);
    }
    if (result.each && !perElement) {
      this.fail(
        left.start,
        `${clip(left.source)} is compared per element ([*]): wrap the comparison in any(...) or all(...)`,
      );
    }
    return result;
  }

  operator(): { op: Op; text: string } | null {
    const s = this.src;
    for (const [symbol, op] of SYMBOL_OPS) {
      if (s.startsWith(symbol, this.pos)) {
        this.pos += symbol.length;
        return { op, text: symbol };
      }
    }
    const word = this.nameAt(this.pos);
    if (WORD_OPS.has(word)) {
      this.pos += word.length;
      return { op: word as Op, text: word };
    }
    if (word === "wildcard" || word === "strict") {
      this.fail(
        this.pos,
        `operator ${word} is not supported: use matches with a regular expression, or starts_with()`,
      );
    }
    return null;
  }

  compare(leftValue: Value, { op, text }: { op: Op; text: string }, opAt: number): Value {
    let left = leftValue;
    if (left.kind === "map") {
      this.fail(
        left.start,
        `${clip(left.source)} is a Map<Array<String>>: pick one with ${clip(left.source)}["name"]`,
      );
    }
    if (left.kind === "array") left = this.asString(left);
    if (left.kind === "bool") {
      this.fail(
        opAt,
        `${this.describe(left)} cannot be compared with ${text}: use it on its own (${clip(left.source)}) or negated (not ${clip(left.source)})`,
      );
    }
    const kind = left.kind as "string" | "int" | "ip";
    if (!OPS_BY_KIND[kind].includes(op)) {
      this.fail(
        opAt,
        `operator ${text} is not defined for ${this.describe(left)}; use one of ${OPS_BY_KIND[kind].join(", ")}`,
      );
    }
    this.skipSpace();
    const test =
      kind === "string"
        ? this.stringTest(op, text)
        : kind === "int"
          ? this.intTest(op, text)
          : this.ipTest(op as "eq" | "ne" | "in", text);
    return this.lift(left, test, opAt);
  }

  /** Applies a test to a value: per element, or false when an optional element is missing. */
  lift(v: Value, test: (x: unknown) => boolean, end: number): Value {
    const read = v.read;
    let out: Reader;
    if (v.each) out = (r) => (read(r) as readonly unknown[]).map(test);
    else if (v.optional) {
      out = (r) => {
        const x = read(r);
        return x !== undefined && test(x);
      };
    } else out = (r) => test(read(r));
    return {
      kind: "bool",
      each: v.each,
      optional: false,
      read: out,
      source: this.src.slice(v.start, Math.max(end, this.pos)),
      start: v.start,
    };
  }

  /** Maps a value (per element if `each`, undefined kept) to a new kind. */
  map(v: Value, kind: Kind, f: (x: unknown) => unknown): Value {
    const read = v.read;
    let out: Reader;
    if (v.each) out = (r) => (read(r) as readonly unknown[]).map(f);
    else if (v.optional) {
      out = (r) => {
        const x = read(r);
        return x === undefined ? undefined : f(x);
      };
    } else out = (r) => f(read(r));
    return { kind, each: v.each, optional: v.optional, read: out, source: v.source, start: v.start };
  }

  /** An Array<String> used where a String is expected: its values joined with ", " ("" when none). */
  asString(v: Value): Value {
    const read = v.read;
    const text = v.text ?? ((r: RuleRequest) => (read(r) as readonly string[]).join(", "));
    return { kind: "string", each: false, optional: false, read: text, source: v.source, start: v.start };
  }

  stringTest(op: Op, opText: string): (x: unknown) => boolean {
    if (op === "in") {
      const set = new Set<string>();
      this.set(opText, () => set.add(this.string(opText).value));
      return (x) => set.has(x as string);
    }
    const { value: s, start } = this.string(opText);
    if (op === "contains") return (x) => (x as string).includes(s);
    if (op === "matches") {
      const re = this.regex(s, start);
      return (x) => re.test(x as string);
    }
    return ordering(op, s);
  }

  intTest(op: Op, opText: string): (x: unknown) => boolean {
    if (op === "in") {
      const ranges: { lo: number; hi: number }[] = [];
      this.set(opText, () => {
        const at = this.pos;
        const lo = this.integer(opText);
        let hi = lo;
        if (this.src.startsWith("..", this.pos)) {
          this.pos += 2;
          hi = this.integer("..");
          if (hi < lo) this.fail(at, `range ${lo}..${hi} is empty: the start is above the end`);
        }
        ranges.push({ lo, hi });
      });
      const has = numberSetMatcher(ranges);
      return (x) => has(x as number);
    }
    return ordering(op, this.integer(opText));
  }

  ipTest(op: "eq" | "ne" | "in", opText: string): (x: unknown) => boolean {
    if (op === "in") {
      const intervals: IpInterval[] = [];
      this.set(opText, () => intervals.push(...this.ipElement(opText)));
      const has = ipSetMatcher(intervals);
      return (x) => {
        const ip = requestIp(x as string);
        return ip !== null && has(ip);
      };
    }
    const at = this.pos;
    const token = this.ipToken(opText);
    if (token.includes("/") || token.includes("..")) {
      this.fail(at, `${op} takes one IP address; for a CIDR or a range use in: ip.src in {${clip(token)}}`);
    }
    const ip = parseIp(token);
    if (!ip) this.fail(at, `"${clip(token)}" is not an IP address`);
    return op === "eq"
      ? (x) => {
          const v = requestIp(x as string);
          return v !== null && sameIp(v, ip);
        }
      : (x) => {
          const v = requestIp(x as string);
          return v === null || !sameIp(v, ip);
        };
  }

  /** `{ element element … }`: calls `element` for each, with the position at its first character. */
  set(opText: string, element: () => void): void {
    const s = this.src;
    if (s[this.pos] === "$")
      this.fail(this.pos, "named lists ($name) are not supported: write the values in a { } set");
    if (s[this.pos] !== "{")
      this.fail(this.pos, `expected a set { … } after ${opText}, found ${this.found(this.pos)}`);
    const open = this.pos++;
    let count = 0;
    for (;;) {
      this.skipSpace();
      if (this.pos >= s.length) this.fail(this.pos, `expected } to close the set opened at ${this.at(open)}`);
      const c = s[this.pos];
      if (c === "}") break;
      if (c === ",") this.fail(this.pos, "set elements are separated by spaces, not commas");
      if (++count > this.limits.maxSetSize) {
        this.fail(this.pos, `set has more than ${this.limits.maxSetSize} elements`);
      }
      element();
    }
    this.pos++;
  }

  ipToken(after: string): string {
    const s = this.src;
    const start = this.pos;
    while (this.pos < s.length && /[0-9a-fA-F:./]/.test(s[this.pos] as string)) this.pos++;
    if (this.pos === start)
      this.fail(start, `expected an IP address after ${after}, found ${this.found(start)}`);
    return s.slice(start, this.pos);
  }

  ipElement(opText: string): IpInterval[] {
    const at = this.pos;
    const token = this.ipToken(opText);
    if (token.includes("/")) {
      const cidr = parseCidr(token);
      if (typeof cidr === "string") this.fail(at, `invalid CIDR "${clip(token)}": ${cidr}`);
      return cidr;
    }
    const dots = token.indexOf("..");
    if (dots === -1) {
      const point = parseIpPoint(token);
      if (!point) this.fail(at, `"${clip(token)}" is not an IP address`);
      return point;
    }
    const range = parseIpRange(token.slice(0, dots), token.slice(dots + 2));
    if (typeof range === "string") this.fail(at, `invalid IP range "${clip(token)}": ${range}`);
    return range;
  }

  integer(after: string): number {
    const s = this.src;
    const start = this.pos;
    if (s[this.pos] === "-") this.pos++;
    const digits = this.pos;
    while (isDigit(s.charCodeAt(this.pos))) this.pos++;
    if (this.pos === digits) {
      this.pos = start;
      this.fail(start, `expected an Integer after ${after}, found ${this.found(start)}`);
    }
    if (isNameChar(s.charCodeAt(this.pos)))
      this.fail(start, `"${clip(this.found(start))}" is not an Integer`);
    const n = Number(s.slice(start, this.pos));
    if (!Number.isSafeInteger(n))
      this.fail(start, `integer ${clip(s.slice(start, this.pos))} is out of range`);
    return n;
  }

  /** A string literal: "…" with \" \\ \xHH escapes, or a raw string r"…", r#"…"#, r##"…"##… */
  string(after: string): { value: string; start: number } {
    const s = this.src;
    const start = this.pos;
    if (s[start] === "r" && (s[start + 1] === '"' || s[start + 1] === "#")) {
      let q = start + 1;
      while (s[q] === "#") q++;
      if (s[q] !== '"') this.fail(start, 'a raw string starts with r" or r#"');
      const close = `"${"#".repeat(q - start - 1)}`;
      const end = s.indexOf(close, q + 1);
      if (end === -1) this.fail(start, `unterminated raw string: missing the closing ${close}`);
      this.pos = end + close.length;
      return { value: s.slice(q + 1, end), start };
    }
    if (s[start] !== '"')
      this.fail(start, `expected a string ("…" or r"…") after ${after}, found ${this.found(start)}`);
    let value = "";
    let run = start + 1;
    for (let p = run; p < s.length; p++) {
      const c = s.charCodeAt(p);
      if (c === 34) {
        this.pos = p + 1;
        return { value: value + s.slice(run, p), start };
      }
      if (c !== 92) continue;
      value += s.slice(run, p);
      const e = s[p + 1];
      if (e === '"' || e === "\\") {
        value += e;
        p++;
      } else if (e === "x" && /^[0-7][0-9a-fA-F]$/.test(s.slice(p + 2, p + 4))) {
        value += String.fromCharCode(Number.parseInt(s.slice(p + 2, p + 4), 16));
        p += 3;
      } else if (e !== undefined) {
        this.fail(
          p,
          `invalid escape \\${String.fromCodePoint(s.codePointAt(p + 1) as number)} in a string: only \\" \\\\ and \\xHH (00 to 7F) are escapes (write regular expressions as raw strings, r"…")`,
        );
      }
      run = p + 1;
    }
    this.fail(start, 'unterminated string: missing the closing "');
  }

  regex(pattern: string, at: number): RE2JS {
    const limit = this.limits.maxRegexProgram;
    const compiled = compileRegex(pattern, limit - this.regexProgram);
    if (typeof compiled === "string") this.fail(at, `invalid regular expression: ${clip(compiled, 200)}`);
    if (compiled.tooLarge) {
      const size = this.regexProgram + compiled.size;
      const where = this.regexProgram > 0 ? " in the regular expressions of this expression" : "";
      const about = compiled.estimated ? "about " : "";
      this.fail(
        at,
        `regular expression is too large: ${about}${size} RE2 instructions${where}, the limit is ${limit}`,
      );
    }
    this.regexProgram += compiled.size;
    return compiled.re;
  }

  /** A field or function call, with any `[…]` after it. */
  value(): Value {
    this.skipSpace();
    const start = this.pos;
    const name = this.nameAt(start);
    if (this.found(start) === "a string") {
      this.fail(
        start,
        'expected a field, a function or (, found a string (the field goes on the left: http.host eq "…")',
      );
    }
    if (!name || KEYWORDS.has(name)) {
      const what = name ? `the keyword ${name}` : this.found(start);
      this.fail(start, `expected a field, a function or (, found ${what}`);
    }
    this.pos += name.length;
    this.skipSpace();
    let v: Value;
    if (this.src[this.pos] === "(") v = this.call(name, start);
    else {
      const field = FIELDS.get(name);
      if (!field) this.fail(start, `unknown field "${clip(name)}"${suggestion(name, FIELDS.keys())}`);
      v = fieldValue(field, start);
    }
    for (;;) {
      this.skipSpace();
      if (this.src[this.pos] !== "[") return v;
      v = this.index(v);
    }
  }

  index(v: Value): Value {
    const open = this.pos++;
    this.skipSpace();
    let out: Value;
    if (v.kind === "map" && !v.each) {
      const key = this.string("[").value.toLowerCase();
      out = {
        kind: "array",
        each: false,
        optional: false,
        read: (r) => headerValues(r.headers[key]),
        text: (r) => headerText(r.headers[key]),
        source: "",
        start: v.start,
      };
    } else if (v.kind === "array" && !v.each) {
      if (this.src[this.pos] === '"' || this.src[this.pos] === "r") {
        this.fail(this.pos, `${this.describe(v)} is indexed by position ([0]) or [*], not by name`);
      }
      if (this.src[this.pos] === "*") {
        this.pos++;
        out = { ...v, kind: "string", each: true, text: undefined };
      } else {
        const at = this.pos;
        const i = this.integer("[");
        if (i < 0) this.fail(at, "an array index is 0 or more");
        const read = v.read;
        out = {
          kind: "string",
          each: false,
          optional: true,
          read: (r) => (read(r) as readonly string[])[i],
          source: "",
          start: v.start,
        };
      }
    } else {
      this.fail(open, `${this.describe(v)} cannot be indexed with [ ]`);
    }
    this.skipSpace();
    if (this.src[this.pos] !== "]")
      this.fail(this.pos, `expected ] to close the [ at ${this.at(open)}, found ${this.found(this.pos)}`);
    this.pos++;
    return { ...out, source: this.src.slice(v.start, this.pos) };
  }

  call(name: string, start: number): Value {
    if (!FUNCTIONS.includes(name)) {
      this.fail(
        start,
        `unknown function "${clip(name)}"${suggestion(name, FUNCTIONS)}; functions are ${FUNCTIONS.join(", ")}`,
      );
    }
    this.enter(start);
    this.pos++; // (
    let out: Value;
    if (name === "any" || name === "all") {
      const cond = this.comparison(true);
      if (!cond.each) {
        this.fail(
          cond.start,
          `${name}() takes a comparison of array elements ([*]), e.g. ${name}(http.request.headers["accept"][*] contains "json")`,
        );
      }
      const read = cond.read as (r: RuleRequest) => readonly boolean[];
      out = {
        kind: "bool",
        each: false,
        optional: false,
        read: name === "any" ? (r) => read(r).includes(true) : (r) => !read(r).includes(false),
        source: "",
        start,
      };
    } else {
      let arg = this.value();
      if (name === "len" && arg.kind === "array" && !arg.each) {
        const read = arg.read;
        out = { ...arg, kind: "int", read: (r) => (read(r) as readonly string[]).length, text: undefined };
      } else {
        if (arg.kind === "array" && !arg.each) arg = this.asString(arg);
        if (arg.kind !== "string") {
          this.fail(arg.start, `${name}() takes a String, found ${this.describe(arg)}`);
        }
        if (name === "lower") out = this.map(arg, "string", (x) => (x as string).toLowerCase());
        else if (name === "upper") out = this.map(arg, "string", (x) => (x as string).toUpperCase());
        else if (name === "len") out = this.map(arg, "int", (x) => utf8Length(x as string));
        else {
          this.skipSpace();
          if (this.src[this.pos] !== ",") {
            this.fail(
              this.pos,
              `expected , and a string after the first argument of ${name}(), found ${this.found(this.pos)}`,
            );
          }
          this.pos++;
          this.skipSpace();
          const { value: affix } = this.string(",");
          const test =
            name === "starts_with"
              ? (x: unknown) => (x as string).startsWith(affix)
              : (x: unknown) => (x as string).endsWith(affix);
          out = { ...this.lift(arg, test, this.pos), kind: "bool" };
        }
      }
    }
    this.skipSpace();
    if (this.src[this.pos] !== ")") {
      this.fail(this.pos, `expected ) to close ${name}( at ${this.at(start)}, found ${this.found(this.pos)}`);
    }
    this.pos++;
    this.depth--;
    return { ...out, source: this.src.slice(start, this.pos), start };
  }
}

function fieldValue(field: FieldDefinition, start: number): Value {
  const kind: Kind =
    field.type === "String"
      ? "string"
      : field.type === "Boolean"
        ? "bool"
        : field.type === "IP address"
          ? "ip"
          : field.type === "Array<String>"
            ? "array"
            : field.type === "Map<Array<String>>"
              ? "map"
              : "int";
  return { kind, each: false, optional: false, read: field.read, source: field.name, start };
}

export interface CompileOptions {
  /** Override limits (tests raise maxLength to exercise the others); defaults are RULE_LIMITS. */
  readonly limits?: Partial<RuleLimits>;
}

/** Parses, type-checks and compiles an expression; throws RuleExpressionError with the offset of the problem. */
export function compileExpression(source: string, options: CompileOptions = {}): CompiledExpression {
  const limits = { ...RULE_LIMITS, ...options.limits };
  if (typeof source !== "string") throw new RuleExpressionError("", 0, "the expression must be a string");
  if (source.length > limits.maxLength) {
    throw new RuleExpressionError(
      source,
      limits.maxLength,
      `expression is too long: ${source.length} characters, the limit is ${limits.maxLength}`,
    );
  }
  return new Parser(source, limits).expression();
}

/** compileExpression without the closure, for validating input: the message and offset of the first problem. */
export function checkExpression(
  source: string,
  options: CompileOptions = {},
): { ok: true } | { ok: false; message: string; offset: number } {
  try {
    compileExpression(source, options);
    return { ok: true };
  } catch (e) {
    if (e instanceof RuleExpressionError) return { ok: false, message: e.message, offset: e.offset };
    throw e;
  }
}

/**
 * The rules language evaluated against sample requests: Cloudflare's documented mTLS examples, every
 * operator in word and symbol form, sets, functions, headers, precedence and every field.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileExpression, RULE_FIELDS, type RuleRequest } from "../../src/rules/index.ts";
import { evaluate, SKI, sample, tls } from "./sample.ts";

describe("Cloudflare's documented mTLS rules", () => {
  const states = ["verified", "unverified", "revoked", "missing"] as const;

  test("block api.example.com without a verified certificate", () => {
    const rule = compileExpression(
      '(http.host in {"api.example.com"} and not cf.tls_client_auth.cert_verified)',
    );
    const blocked = Object.fromEntries(states.map((s) => [s, rule(sample({ tls: tls(s) }))]));
    // Cloudflare's cert_verified stays true for a revoked certificate: this rule alone lets it through.
    assert.deepEqual(blocked, { verified: false, unverified: true, revoked: false, missing: true });
    assert.equal(rule(sample({ host: "www.example.com", tls: tls("missing") })), false);
  });

  test("block /admin without a verified, unrevoked certificate", () => {
    const rule = compileExpression(
      '((not cf.tls_client_auth.cert_verified or cf.tls_client_auth.cert_revoked) and http.request.uri.path in {"/admin"})',
    );
    const blocked = Object.fromEntries(states.map((s) => [s, rule(sample({ tls: tls(s) }))]));
    assert.deepEqual(blocked, { verified: false, unverified: true, revoked: true, missing: true });
    for (const s of states) assert.equal(rule(sample({ path: "/public", tls: tls(s) })), false);
    assert.equal(rule(sample({ path: "/admin/users", tls: tls("missing") })), false, "in {…} is exact");
  });

  test("block certificates not issued by the CA with this SKI", () => {
    const rule = compileExpression(
      `not (cf.tls_client_auth.cert_verified and cf.tls_client_auth.cert_issuer_ski eq "${SKI}")`,
    );
    assert.equal(rule(sample({ tls: tls("verified") })), false);
    assert.equal(
      rule(sample({ tls: tls("verified", { cert_issuer_ski: "00".repeat(20) }) })),
      true,
      "wrong SKI",
    );
    assert.equal(
      rule(sample({ tls: tls("verified", { cert_issuer_ski: SKI.toLowerCase() }) })),
      true,
      "eq is exact",
    );
    assert.equal(rule(sample({ tls: tls("unverified") })), true);
    assert.equal(rule(sample({ tls: tls("missing") })), true);
  });

  test("mtls.verification_status as Azion names it", () => {
    const rule = compileExpression('mtls.verification_status ne "SUCCESS"');
    assert.deepEqual(
      states.map((s) => rule(sample({ tls: tls(s) }))),
      [false, true, true, true],
    );
    assert.equal(
      evaluate('mtls.verification_status eq "MISSING_CLIENT_CERTIFICATE"', sample({ tls: tls("missing") })),
      true,
    );
    assert.equal(
      evaluate(
        'mtls.verification_status eq "CERTIFICATE_VERIFICATION_ERROR"',
        sample({ tls: tls("revoked") }),
      ),
      true,
    );
  });
});

describe("comparison operators, word and symbol forms", () => {
  const r = sample({ path: "/api/v2/users", headers: { "user-agent": "Mozilla/5.0 (X11)" } });
  const cases: [string, string, string, boolean][] = [
    // [word, symbol, expression with OP, result]
    ["eq", "==", 'http.request.uri.path OP "/api/v2/users"', true],
    ["eq", "==", 'http.request.uri.path OP "/API/v2/users"', false],
    ["ne", "!=", 'http.request.uri.path OP "/api"', true],
    ["ne", "!=", 'http.request.uri.path OP "/api/v2/users"', false],
    ["lt", "<", 'http.request.uri.path OP "/b"', true],
    ["lt", "<", 'http.request.uri.path OP "/api/v2/users"', false],
    ["le", "<=", 'http.request.uri.path OP "/api/v2/users"', true],
    ["le", "<=", 'http.request.uri.path OP "/a"', false],
    ["gt", ">", 'http.request.uri.path OP "/a"', true],
    ["gt", ">", 'http.request.uri.path OP "/api/v2/users"', false],
    ["ge", ">=", 'http.request.uri.path OP "/api/v2/users"', true],
    ["ge", ">=", 'http.request.uri.path OP "/b"', false],
    ["lt", "<", "len(http.request.uri.path) OP 14", true],
    ["le", "<=", "len(http.request.uri.path) OP 13", true],
    ["gt", ">", "len(http.request.uri.path) OP 13", false],
    ["ge", ">=", "len(http.request.uri.path) OP 13", true],
    ["eq", "==", "len(http.request.uri.path) OP 13", true],
    ["ne", "!=", "len(http.request.uri.path) OP 13", false],
    ["matches", "~", 'http.request.uri.path OP r"^/api/v[0-9]+/"', true],
    ["matches", "~", 'http.user_agent OP "(?i)mozilla"', true],
    ["matches", "~", 'http.request.uri.path OP "^/v2"', false],
    ["eq", "==", "ip.src OP 203.0.113.9", true],
    ["ne", "!=", "ip.src OP 203.0.113.9", false],
  ];
  for (const [word, symbol, template, expected] of cases) {
    test(`${template.replace("OP", `${word}|${symbol}`)} is ${expected}`, () => {
      assert.equal(evaluate(template.replace("OP", word), r), expected, word);
      assert.equal(evaluate(template.replace("OP", symbol), r), expected, symbol);
    });
  }

  test("contains and in (word only, as in Cloudflare)", () => {
    assert.equal(evaluate('http.request.uri.path contains "/v2/"', r), true);
    assert.equal(evaluate('http.request.uri.path contains "/v3/"', r), false);
    assert.equal(evaluate('http.request.method in {"GET" "HEAD"}', r), true);
    assert.equal(evaluate('http.request.method in {"POST"}', r), false);
  });

  test("operators need no surrounding spaces", () => {
    assert.equal(evaluate('http.request.method=="GET"&&ssl', r), true);
    assert.equal(evaluate('http.request.method!="GET"||!ssl', r), false);
    assert.equal(evaluate('(ssl)and(http.host eq"api.example.com")', r), true);
  });
});

describe("logical operators and precedence", () => {
  // A, B, C are independent comparisons driven by headers.
  const bits = (a: boolean, b: boolean, c: boolean) =>
    sample({ headers: { a: a ? "1" : "0", b: b ? "1" : "0", c: c ? "1" : "0" } });
  const A = 'http.request.headers["a"][0] eq "1"';
  const B = 'http.request.headers["b"][0] eq "1"';
  const C = 'http.request.headers["c"][0] eq "1"';
  const all: [boolean, boolean, boolean][] = [];
  for (const a of [false, true])
    for (const b of [false, true]) for (const c of [false, true]) all.push([a, b, c]);

  const cases: [string, (a: boolean, b: boolean, c: boolean) => boolean][] = [
    ["A and B", (a, b) => a && b],
    ["A && B", (a, b) => a && b],
    ["A or B", (a, b) => a || b],
    ["A || B", (a, b) => a || b],
    ["A xor B", (a, b) => a !== b],
    ["A ^^ B", (a, b) => a !== b],
    ["not A", (a) => !a],
    ["! A", (a) => !a],
    ["!A", (a) => !a],
    ["not not A", (a) => a],
    // not > and > xor > or
    ["A or B and C", (a, b, c) => a || (b && c)],
    ["A and B or C", (a, b, c) => (a && b) || c],
    ["A xor B and C", (a, b, c) => a !== (b && c)],
    ["A or B xor C", (a, b, c) => a || b !== c],
    ["A xor B or C", (a, b, c) => a !== b || c],
    ["not A and B", (a, b) => !a && b],
    ["not A or B", (a, b) => !a || b],
    ["not (A or B) and C", (a, b, c) => !(a || b) && c],
    ["(A or B) and C", (a, b, c) => (a || b) && c],
    ["A xor B xor C", (a, b, c) => (a !== b) !== c],
    ["A ^^ B ^^ C ^^ A", (a, b, c) => ((a !== b) !== c) !== a],
    ["A || B && !C ^^ A", (a, b, c) => a || (b && !c) !== a],
    ["A and B and C and not A", () => false],
    ["A or B or C or not A", () => true],
  ];
  for (const [shape, expected] of cases) {
    test(shape, () => {
      const rule = compileExpression(shape.replaceAll("A", A).replaceAll("B", B).replaceAll("C", C));
      for (const [a, b, c] of all)
        assert.equal(rule(bits(a, b, c)), expected(a, b, c), `a=${a} b=${b} c=${c}`);
    });
  }
});

describe("literals", () => {
  test('quoted strings: \\" \\\\ and \\xHH', () => {
    const r = sample({ path: '/a"b\\c' });
    assert.equal(evaluate('http.request.uri.path eq "/a\\"b\\\\c"', r), true);
    assert.equal(evaluate('http.request.uri.path eq "\\x2fa\\x22b\\x5Cc"', r), true);
  });

  test('raw strings r"…" and r#"…"# keep backslashes', () => {
    const r = sample({ path: '/files/report.json"x' });
    assert.equal(evaluate('http.request.uri.path matches r"\\.json"', r), true);
    assert.equal(evaluate('http.request.uri.path matches r#"\\.json"x$"#', r), true);
    assert.equal(evaluate('http.request.uri.path contains r##"json"x"##', r), true);
    assert.equal(evaluate('http.request.uri.path matches r"\\.xml"', r), false);
  });

  test("non-ASCII strings", () => {
    const r = sample({ tls: tls("verified", { cert_subject_dn: "CN=Zoë Ünal,O=Café" }) });
    assert.equal(evaluate('cf.tls_client_auth.cert_subject_dn contains "Zoë"', r), true);
    assert.equal(
      evaluate("len(cf.tls_client_auth.cert_subject_dn) eq 21", r),
      true,
      "len counts UTF-8 bytes",
    );
  });

  test("newlines and tabs are whitespace; errors count lines", () => {
    assert.equal(evaluate('ssl\n\tand\r\n  http.host eq "api.example.com"'), true);
  });
});

describe("sets", () => {
  test("strings", () => {
    assert.equal(evaluate('http.host in {"a.example.com" "api.example.com"}'), true);
    assert.equal(evaluate('http.host in {"a.example.com""b.example.com"}'), false);
    assert.equal(evaluate("http.host in {}"), false);
    assert.equal(evaluate('not http.host in {"x"}'), true);
  });

  test("integers and ranges", () => {
    const r = sample({ path: "/abcde" }); // len 6
    assert.equal(evaluate("len(http.request.uri.path) in {1 2 6}", r), true);
    assert.equal(evaluate("len(http.request.uri.path) in {1..5 7..9}", r), false);
    assert.equal(evaluate("len(http.request.uri.path) in {1..5 6..6}", r), true);
    assert.equal(evaluate("len(http.request.uri.path) in {-3..100}", r), true);
  });

  test("IP addresses, CIDRs and ranges, v4 and v6", () => {
    const at = (ip: string) => sample({ ip });
    const set =
      "ip.src in {10.0.0.0/8 192.0.2.1..192.0.2.20 198.51.100.7 2001:db8::/32 fe80::1..fe80::ff ::1}";
    const rule = compileExpression(set);
    const expected: Record<string, boolean> = {
      "10.0.0.0": true,
      "10.255.255.255": true,
      "11.0.0.0": false,
      "9.255.255.255": false,
      "192.0.2.1": true,
      "192.0.2.20": true,
      "192.0.2.21": false,
      "198.51.100.7": true,
      "198.51.100.8": false,
      "::ffff:10.1.2.3": true, // Node's dual-stack form of an IPv4 peer
      "2001:db8:ffff::1": true,
      "2001:db9::": false,
      "fe80::80": true,
      "fe80::100": false,
      "::1": true,
      "::2": false,
      "": false,
      "not-an-ip": false,
    };
    for (const [ip, result] of Object.entries(expected)) assert.equal(rule(at(ip)), result, ip);
    assert.equal(evaluate("ip.src in {0.0.0.0/0}", at("8.8.8.8")), true);
    // An IPv4 client is also ::ffff:a.b.c.d (as for Node's BlockList): IPv6 ranges covering that block hold it.
    assert.equal(evaluate("ip.src in {::ffff:0:0/96}", at("8.8.8.8")), true);
    assert.equal(evaluate("ip.src in {::ffff:8.8.0.0/112}", at("8.8.8.8")), true);
    assert.equal(evaluate("ip.src in {::ffff:8.8.0.0/112}", at("8.9.8.8")), false);
    assert.equal(evaluate("ip.src in {::/0}", at("8.8.8.8")), true);
    assert.equal(evaluate("ip.src in {2000::/3}", at("8.8.8.8")), false);
    assert.equal(evaluate("ip.src in {::ffff:8.8.8.0..::ffff:8.8.8.9}", at("8.8.8.8")), true);
    assert.equal(
      evaluate("ip.src in {0.0.0.0/0}", at("2001:db8::1")),
      false,
      "an IPv4 range holds no IPv6 client",
    );
    assert.equal(evaluate("ip.src in {10.0.0.0/8}", at("::ffff:10.0.0.1")), true);
    assert.equal(evaluate("ip.src eq ::ffff:10.0.0.1", at("10.0.0.1")), true);
    assert.equal(evaluate("ip.src eq 2001:db8::1", at("2001:0db8:0:0::1")), true);
    assert.equal(evaluate("ip.src ne 2001:db8::1", at("2001:db8::2")), true);
    assert.equal(evaluate("ip.src in {10.1.2.3/8}", at("10.200.0.1")), true, "host bits are ignored");
  });

  test("a 10,000-element set is a hash or binary search", () => {
    const hosts = Array.from({ length: 10_000 }, (_, i) => `"h${i}.example.com"`).join(" ");
    const rule = compileExpression(`http.host in {${hosts}}`, { limits: { maxLength: 1e6 } });
    assert.equal(rule(sample({ host: "h9999.example.com" })), true);
    assert.equal(rule(sample({ host: "h10000.example.com" })), false);
    const nets = Array.from({ length: 10_000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`).join(" ");
    const ipRule = compileExpression(`ip.src in {${nets}}`, { limits: { maxLength: 1e6 } });
    assert.equal(ipRule(sample({ ip: "10.39.15.77" })), true);
    assert.equal(ipRule(sample({ ip: "10.40.0.1" })), false);
  });
});

describe("functions", () => {
  const r = sample({ path: "/Admin/Users", headers: { "user-agent": "CURL/8" } });
  test("lower, upper", () => {
    assert.equal(evaluate('lower(http.request.uri.path) eq "/admin/users"', r), true);
    assert.equal(evaluate('upper(http.user_agent) contains "CURL"', r), true);
    assert.equal(evaluate('lower(upper(http.request.uri.path)) eq "/admin/users"', r), true);
  });
  test("len", () => {
    assert.equal(evaluate("len(http.request.uri.path) eq 12", r), true);
    assert.equal(evaluate("len(http.request.uri.query) eq 6", r), true);
    assert.equal(evaluate("len(lower(http.request.uri.path)) gt 100", r), false);
  });
  test("starts_with, ends_with", () => {
    assert.equal(evaluate('starts_with(http.request.uri.path, "/Admin/")', r), true);
    assert.equal(evaluate('starts_with(lower(http.request.uri.path), "/Admin/")', r), false);
    assert.equal(evaluate('ends_with(http.request.uri.path, "Users")', r), true);
    assert.equal(evaluate('not ends_with(http.request.uri.path, r"Users")', r), false);
    assert.equal(evaluate('ends_with(http.host, ".example.com") and ssl', r), true);
  });
});

describe("headers", () => {
  const r = sample({
    headers: { "x-api-key": "k1", "set-cookie": ["a=1", "b=2"], accept: "text/html, application/json" },
  });
  test("by lower-cased name, compared as one string", () => {
    assert.equal(evaluate('http.request.headers["x-api-key"] eq "k1"', r), true);
    assert.equal(
      evaluate('http.request.headers["X-Api-Key"] eq "k1"', r),
      true,
      "names are case-insensitive",
    );
    assert.equal(
      evaluate('http.request.headers["set-cookie"] eq "a=1, b=2"', r),
      true,
      "values joined with , ",
    );
    assert.equal(evaluate('http.request.headers["accept"] contains "json"', r), true);
    assert.equal(evaluate('http.request.headers["missing"] eq ""', r), true, "absent is empty");
    assert.equal(evaluate('http.request.headers["missing"] ne "k1"', r), true);
    assert.equal(evaluate('lower(http.request.headers["x-api-key"]) in {"k1" "k2"}', r), true);
  });
  test("as arrays: [N], [*] with any()/all(), len()", () => {
    assert.equal(evaluate('http.request.headers["set-cookie"][1] eq "b=2"', r), true);
    assert.equal(evaluate('http.request.headers["set-cookie"][2] eq "c=3"', r), false);
    assert.equal(
      evaluate('http.request.headers["set-cookie"][2] ne "c=3"', r),
      false,
      "missing element: false",
    );
    assert.equal(evaluate('any(http.request.headers["set-cookie"][*] eq "b=2")', r), true);
    assert.equal(evaluate('all(http.request.headers["set-cookie"][*] contains "=")', r), true);
    assert.equal(evaluate('all(http.request.headers["set-cookie"][*] eq "a=1")', r), false);
    assert.equal(evaluate('any(starts_with(http.request.headers["set-cookie"][*], "b="))', r), true);
    assert.equal(evaluate('any(lower(http.request.headers["X-API-KEY"][*]) == "k1")', r), true);
    assert.equal(evaluate('any(len(http.request.headers["set-cookie"][*]) gt 3)', r), false);
    assert.equal(evaluate('any(http.request.headers["missing"][*] eq "x")', r), false);
    assert.equal(
      evaluate('all(http.request.headers["missing"][*] eq "x")', r),
      true,
      "all() of nothing is true",
    );
    assert.equal(evaluate('len(http.request.headers["set-cookie"]) eq 2', r), true);
    assert.equal(evaluate('len(http.request.headers["missing"]) eq 0', r), true);
  });
  test("names and values", () => {
    assert.equal(evaluate('any(http.request.headers.names[*] eq "x-api-key")', r), true);
    assert.equal(evaluate('any(http.request.headers.values[*] eq "b=2")', r), true);
    assert.equal(evaluate("len(http.request.headers.names) eq 3", r), true);
  });
  test("http.user_agent and other header fields", () => {
    const h = sample({
      headers: { "user-agent": "curl/8", referer: "https://a/", cookie: "s=1", "x-forwarded-for": "1.2.3.4" },
    });
    assert.equal(evaluate('http.user_agent eq "curl/8"', h), true);
    assert.equal(evaluate('http.referer eq "https://a/"', h), true);
    assert.equal(evaluate('http.cookie contains "s=1"', h), true);
    assert.equal(evaluate('http.x_forwarded_for eq "1.2.3.4"', h), true);
    assert.equal(evaluate('http.user_agent eq ""', sample({ headers: {} })), true);
  });
});

describe("fields", () => {
  const r = sample({
    method: "POST",
    uri: "/x/y?z=1",
    path: "/x/y",
    query: "z=1",
    ssl: false,
    tls: tls("verified", {
      cert_subject_dn_legacy: "/O=Example/OU=Admins/CN=alice",
      cert_fingerprint_sha256: "ab".repeat(32),
      cert_rfc9440_too_large: true,
    }),
  });
  test("request fields read the request", () => {
    assert.equal(evaluate('http.request.method eq "POST"', r), true);
    assert.equal(evaluate('http.request.uri eq "/x/y?z=1"', r), true);
    assert.equal(evaluate('http.request.uri.path eq "/x/y"', r), true);
    assert.equal(evaluate('http.request.uri.query eq "z=1"', r), true);
    assert.equal(evaluate("ssl", r), false);
    assert.equal(evaluate("not ssl", r), true);
  });
  test("cf.tls_client_auth.* read tlsClientAuth() lazily, by key", () => {
    let calls = 0;
    const fields = tls("verified", { cert_subject_dn_legacy: "/CN=alice" });
    const lazy = sample({
      tlsClientAuth: () => {
        calls++;
        return fields;
      },
    });
    assert.equal(evaluate('http.host eq "other"', lazy), false);
    assert.equal(calls, 0, "not called when no cf.tls_client_auth field is read");
    assert.equal(evaluate('cf.tls_client_auth.cert_subject_dn_legacy eq "/CN=alice"', lazy), true);
    assert.equal(evaluate("cf.tls_client_auth.cert_rfc9440_too_large", r), true);
    assert.equal(
      evaluate("cf.tls_client_auth.cert_chain_rfc9440_too_large", r),
      false,
      "absent key is false",
    );
    assert.equal(evaluate('cf.tls_client_auth.cert_ski eq ""', r), true, "absent key is empty");
  });
  test("a request with missing values evaluates without throwing", () => {
    const broken = {
      headers: {},
      tlsClientAuth: () => ({}),
    } as unknown as RuleRequest;
    const rule = compileExpression(
      'http.host eq "" and http.request.uri.path eq "" and http.request.method eq "" and not ssl ' +
        'and not ip.src in {0.0.0.0/0} and ip.src ne 1.2.3.4 and len(http.request.uri) eq 0 and http.request.uri.query eq "" ' +
        'and mtls.verification_status eq "" and cf.tls_client_auth.cert_serial eq "" and not cf.tls_client_auth.cert_verified',
    );
    assert.equal(rule(broken), true);
  });

  test("every field in RULE_FIELDS compiles with an operator of its type", () => {
    for (const { name, type, description } of RULE_FIELDS) {
      assert.ok(description.length > 10, name);
      const expression = {
        String: `${name} ne "\\x00"`,
        Boolean: `${name} or not ${name}`,
        Integer: `${name} ge 0`,
        "IP address": `${name} in {0.0.0.0/0 ::/0}`,
        "Array<String>": `len(${name}) ge 0`,
        "Map<Array<String>>": `${name}["x"] eq ""`,
      }[type];
      assert.equal(typeof compileExpression(expression)(r), "boolean", name);
    }
  });
});

/** The `firewall:` key of a host: rules as loaded, and each mistake as one line with file:line:col. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { missingPeer } from "../helpers/peers.ts";
import { CONFIG, type Fixture, load, makeFixture, minimalHost, rejects } from "./fixture.ts";

const needsOpenssl = { skip: missingPeer("openssl") };

let fx: Fixture;
before(async () => {
  if (!needsOpenssl.skip) fx = await makeFixture();
});
after(() => fx?.cleanup());

const F = CONFIG;
/** Lines 1–5: a valid config with one host; tests append lines 6… inside that host. */
const BASE = ['listen: { https: ":8443" }', "hostnames:", ...minimalHost()];

test("rules load in order with defaults; ids are kept or derived stably", needsOpenssl, async () => {
  const lines = [
    ...BASE,
    "    firewall:",
    "      - id: no-cert-no-api",
    '        expression: (http.host in {"api.example.test"} and not cf.tls_client_auth.cert_verified)',
    "        action: log",
    "        description: who would be blocked",
    '      - expression: http.request.uri.path eq "/health"',
    "        action: skip",
    "      - expression: cf.tls_client_auth.cert_revoked",
    "        action: block",
    "        enabled: false",
    "        action_parameters:",
    "          response: { status_code: 451, content: gone, content_type: text/html }",
    "      - expression: not cf.tls_client_auth.cert_presented",
    "        action: drop",
  ];
  const config = await load(lines);
  const rules = config.hosts[0]?.firewall ?? [];
  assert.deepEqual(
    rules.map(({ id, ...rest }) => rest),
    [
      {
        expression: '(http.host in {"api.example.test"} and not cf.tls_client_auth.cert_verified)',
        action: "log",
        description: "who would be blocked",
        enabled: true,
      },
      { expression: 'http.request.uri.path eq "/health"', action: "skip", description: "", enabled: true },
      {
        expression: "cf.tls_client_auth.cert_revoked",
        action: "block",
        description: "",
        enabled: false,
        response: { status: 451, content: "gone", contentType: "text/html" },
      },
      { expression: "not cf.tls_client_auth.cert_presented", action: "drop", description: "", enabled: true },
    ],
  );
  assert.equal(rules[0]?.id, "no-cert-no-api");
  assert.match(rules[1]?.id ?? "", /^[0-9a-f]{32}$/);
  // The same rule gets the same id on every load, wherever it sits.
  const again = await load([...BASE, "    firewall:", ...lines.slice(10, 12), ...lines.slice(6, 10)]);
  assert.equal(again.hosts[0]?.firewall?.[0]?.id, rules[1]?.id);
  // No firewall key: no rules.
  assert.deepEqual((await load(BASE)).hosts[0]?.firewall, []);
});

test(
  "an expression that does not compile: file, line and the very column of the problem",
  needsOpenssl,
  async () => {
    const rule = (...lines: string[]) => [...BASE, "    firewall:", "      - action: block", ...lines];
    const unknown =
      'Filter parsing error (1:22): unknown field "cf.tls_client_auth.cert_verifed" (did you mean cf.tls_client_auth.cert_verified?)';
    // Plain: column 21 (where the value starts) + 21.
    const error = await rejects(
      rule('        expression: http.host eq "a" and cf.tls_client_auth.cert_verifed'),
      `${F}:8:42: hostnames[0].firewall[0].expression: invalid expression at character 21: ${unknown}`,
    );
    assert.equal(error.line, 8);
    assert.equal(error.column, 42);
    // Quoted: one more for the quote.
    await rejects(
      rule(`        expression: 'http.host eq "a" and cf.tls_client_auth.cert_verifed'`),
      `${F}:8:43: hostnames[0].firewall[0].expression: invalid expression at character 21: ${unknown}`,
    );
    // A folded block: the value's start (the character is still named).
    await rejects(
      rule(
        "        expression: >-",
        '          http.host eq "a" and',
        "          cf.tls_client_auth.cert_verifed",
      ),
      `${F}:8:21: hostnames[0].firewall[0].expression: invalid expression at character 21: ${unknown}`,
    );
  },
);

test("other mistakes: actions, parameters, ids", needsOpenssl, async () => {
  const rule = (...lines: string[]) => [...BASE, "    firewall:", ...lines];
  await rejects(
    rule("      - expression: ssl", "        action: challenge"),
    `${F}:8:17: hostnames[0].firewall[0].action: expected one of block, log, skip, drop, got "challenge"`,
  );
  await rejects(
    rule("      - expression: ssl"),
    `${F}:7:9: hostnames[0].firewall[0]: missing required key "action"`,
  );
  await rejects(
    rule(
      "      - expression: ssl",
      "        action: log",
      "        action_parameters: { response: { status_code: 403 } }",
    ),
    `${F}:9:40: hostnames[0].firewall[0].action_parameters.response: only a block rule takes a response (this rule's action is log)`,
  );
  await rejects(
    rule(
      "      - expression: ssl",
      "        action: block",
      "        action_parameters: { response: { status_code: 302 } }",
    ),
    `${F}:9:55: hostnames[0].firewall[0].action_parameters.response.status_code: must be at least 400, got 302`,
  );
  await rejects(
    rule("      - expression: ssl", "        action: block", "        actoin: log"),
    `${F}:9:9: hostnames[0].firewall[0]: unknown key "actoin" (did you mean "action"?)`,
  );
  await rejects(
    rule(
      "      - { id: a, expression: ssl, action: log }",
      "      - { id: a, expression: ssl, action: block }",
    ),
    `${F}:8:15: hostnames[0].firewall[1].id: already used by firewall[0]`,
  );
  await rejects(
    rule("      - { id: 'has space', expression: ssl, action: log }"),
    `${F}:7:15: hostnames[0].firewall[0].id: expected letters, digits and _ . : - (at most 64)`,
  );
});

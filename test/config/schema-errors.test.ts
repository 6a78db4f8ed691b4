/**
 * Mistakes in the YAML itself: each is one line naming the file (as given), line:col of the offending
 * node, the YAML path and what is wrong. The first in the file is reported.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { ConfigError } from "../../src/config/errors.ts";
import { loadEdgeConfig } from "../../src/config/load.ts";
import { missingPeer } from "../helpers/peers.ts";
import { CONFIG, type Fixture, makeFixture, minimalHost, rejects } from "./fixture.ts";

const needsOpenssl = { skip: missingPeer("openssl") };

let fx: Fixture;
before(async () => {
  if (!needsOpenssl.skip) fx = await makeFixture();
});
after(() => fx?.cleanup());

const F = CONFIG;
/** Lines 1–5: a valid config with one host; tests append lines 6… inside that host. */
const BASE = ['listen: { https: ":8443" }', "hostnames:", ...minimalHost()];

test("the ConfigError carries the message's parts", needsOpenssl, async () => {
  const error = await rejects(
    [...BASE, "    mtls:", "      mode: enforced"],
    `${F}:7:13: hostnames[0].mtls.mode: expected one of enforce, permissive, off, got "enforced"`,
  );
  assert.equal(error.file, F);
  assert.equal(error.line, 7);
  assert.equal(error.column, 13);
  assert.equal(error.path, "hostnames[0].mtls.mode");
  assert.equal(error.detail, 'expected one of enforce, permissive, off, got "enforced"');
});

test("YAML syntax errors, unanchored aliases and several documents", needsOpenssl, async () => {
  await rejects(
    ['listen: { https: ":8443" }', "log: level: info"],
    `${F}:2:6: invalid YAML: Nested mappings are not allowed in compact mappings`,
  );
  await rejects(
    ['listen: { https: ":8443" }', "hostnames:", "\t- hostname: a.example.test"],
    `${F}:3:1: invalid YAML: Tabs are not allowed as indentation`,
  );
  await rejects(
    ['listen: { https: ":8443" }', "hostnames:", "  - hostname: *.example.test"],
    `${F}:3:15: hostnames[0].hostname: unknown alias "*.example.test" (quote a wildcard host name: "*.example.test")`,
  );
  await rejects(
    [...BASE, "---", "log: { level: info }"],
    `${F}:6:1: invalid YAML: the file holds more than one YAML document (remove the second \`---\`)`,
  );
});

test("a duplicate key is an error at the second one", needsOpenssl, async () => {
  await rejects(
    [...BASE, "    tls: { cert: pki/api.pem, key: pki/api-key.pem }"],
    `${F}:6:5: hostnames[0]: duplicate key "tls"`,
  );
  await rejects(
    ['listen: { https: ":8443", https: ":9443" }', "hostnames:", ...minimalHost()],
    `${F}:1:27: listen: duplicate key "https"`,
  );
});

test(
  "unknown keys: at the key, with the likely intended one or the list of known keys",
  needsOpenssl,
  async () => {
    await rejects(
      [...BASE, "    mtls: { mdoe: enforce }"],
      `${F}:6:13: hostnames[0].mtls: unknown key "mdoe" (did you mean "mode"?)`,
    );
    await rejects(
      [...BASE, "    mtls: { mode: off, trustedCas: [pki/ca.pem] }"],
      `${F}:6:24: hostnames[0].mtls: unknown key "trustedCas" (did you mean "trusted_cas"?)`,
    );
    await rejects(
      ["frobnicate: 1", ...BASE],
      `${F}:1:1: unknown key "frobnicate" (expected one of: listen, admin, data_dir, log, crl_refresh_interval, limits, hostnames)`,
    );
  },
);

test("missing required keys, at the mapping that lacks them", needsOpenssl, async () => {
  await rejects(
    [
      'listen: { https: ":8443" }',
      "hostnames:",
      "  - hostname: api.example.test",
      "    tls: { cert: pki/api.pem, key: pki/api-key.pem }",
      "    origin: { servername: origin.internal }",
    ],
    `${F}:5:13: hostnames[0].origin: missing required key "url"`,
  );
  await rejects(
    [
      'listen: { https: ":8443" }',
      "hostnames:",
      "  - hostname: api.example.test",
      '    origin: { url: "http://o" }',
    ],
    `${F}:3:5: hostnames[0]: missing required key "tls"`,
  );
  await rejects(
    ['listen: { http: ":8080" }', "hostnames:", ...minimalHost()],
    `${F}:1:9: listen: missing required key "https"`,
  );
  await rejects(["hostnames:", ...minimalHost()], `${F}:1:1: missing required key "listen"`);
  await rejects(
    ['listen: { https: ":8443" }', "hostnames: []"],
    `${F}:2:12: hostnames: needs at least 1 entry`,
  );
});

test("wrong kinds and out-of-range numbers", needsOpenssl, async () => {
  await rejects(
    [...BASE, '    default: "yes"'],
    `${F}:6:14: hostnames[0].default: expected true or false, got "yes"`,
  );
  await rejects(
    [...BASE, "    mtls: { max_chain_depth: 17 }"],
    `${F}:6:30: hostnames[0].mtls.max_chain_depth: must be at most 16, got 17`,
  );
  await rejects(
    [...BASE, "    mtls: { max_chain_depth: 1.5 }"],
    `${F}:6:30: hostnames[0].mtls.max_chain_depth: expected a whole number, got 1.5`,
  );
  await rejects(
    [...BASE, "limits: { client_hello_max_bytes: 100 }"],
    `${F}:6:35: limits.client_hello_max_bytes: must be at least 512, got 100`,
  );
  await rejects(
    [...BASE, "log: { level: verbose }"],
    `${F}:6:15: log.level: expected one of trace, debug, info, warn, error, fatal, silent, got "verbose"`,
  );
  await rejects(
    [...BASE, "    mtls: { stale_crl: maybe }"],
    `${F}:6:24: hostnames[0].mtls.stale_crl: expected one of deny, allow, got "maybe"`,
  );
  await rejects(
    [...BASE, "    mtls:"],
    `${F}:6:5: hostnames[0].mtls: expected a mapping, got null (an empty value)`,
  );
  await rejects(
    [...BASE, "    forward: cloudflare"],
    `${F}:6:14: hostnames[0].forward: expected a list, got "cloudflare"`,
  );
});

test("the first problem in the file is reported, whatever the schema's order", needsOpenssl, async () => {
  await rejects(
    [
      "hostnames:",
      "  - hostname: api..example.test",
      "    tls: 7",
      '    origin: { url: "http://o" }',
      "listen: { https: 1 }",
    ],
    `${F}:2:15: hostnames[0].hostname: "api..example.test" is not a valid host name`,
  );
});

test(
  "host names: case-folded, wildcards only as the whole first label, each listed once",
  needsOpenssl,
  async () => {
    const wildcardMessage = (name: string) =>
      `a wildcard must be the whole first label, as in "*.example.test", got "${name}"`;
    await rejects(
      ['listen: { https: ":8443" }', "hostnames:", ...minimalHost("'api.*.example.test'")],
      `${F}:3:15: hostnames[0].hostname: ${wildcardMessage("api.*.example.test")}`,
    );
    await rejects(
      ['listen: { https: ":8443" }', "hostnames:", ...minimalHost("'*api.example.test'")],
      `${F}:3:15: hostnames[0].hostname: ${wildcardMessage("*api.example.test")}`,
    );
    await rejects(
      ['listen: { https: ":8443" }', "hostnames:", ...minimalHost("'*.*.example.test'")],
      `${F}:3:15: hostnames[0].hostname: ${wildcardMessage("*.*.example.test")}`,
    );
    await rejects(
      ['listen: { https: ":8443" }', "hostnames:", ...minimalHost("'*'")],
      `${F}:3:15: hostnames[0].hostname: ${wildcardMessage("*")}`,
    );
    await rejects(
      ['listen: { https: ":8443" }', "hostnames:", ...minimalHost("api_1.example.test")],
      `${F}:3:15: hostnames[0].hostname: "api_1.example.test" is not a valid host name`,
    );
    await rejects(
      [
        'listen: { https: ":8443" }',
        "hostnames:",
        ...minimalHost("'*.example.test'"),
        ...minimalHost("'*.EXAMPLE.test'"),
      ],
      `${F}:6:15: hostnames[1].hostname: "*.example.test" is already listed at hostnames[0]`,
    );
  },
);

test("at most one default host", needsOpenssl, async () => {
  await rejects(
    [
      'listen: { https: ":8443" }',
      "hostnames:",
      ...minimalHost("a.example.test"),
      "    default: true",
      ...minimalHost("b.example.test"),
      "    default: false",
      ...minimalHost("c.example.test"),
      "    default: true",
    ],
    `${F}:14:14: hostnames[2].default: only one host may be the default, and hostnames[0] already is`,
  );
});

test(
  "verifying clients needs trusted CAs: a host mode or a path rule that is not off",
  needsOpenssl,
  async () => {
    await rejects(
      [...BASE, "    mtls: { mode: enforce }"],
      `${F}:6:11: hostnames[0].mtls.trusted_cas: mode enforce needs at least one trusted CA file`,
    );
    await rejects(
      [...BASE, "    mtls:", "      mode: permissive", "      trusted_cas: []"],
      `${F}:8:20: hostnames[0].mtls.trusted_cas: mode permissive needs at least one trusted CA file`,
    );
    await rejects(
      [
        ...BASE,
        "    mtls:",
        "      paths:",
        "        - { prefix: /public, mode: off }",
        "        - { prefix: /admin, mode: enforce }",
      ],
      `${F}:7:7: hostnames[0].mtls.trusted_cas: paths[1] (mode enforce) needs at least one trusted CA file`,
    );
  },
);

test("path rules: a prefix starts with / and is listed once", needsOpenssl, async () => {
  await rejects(
    [...BASE, "    mtls: { trusted_cas: [pki/ca.pem], paths: [{ prefix: admin, mode: enforce }] }"],
    `${F}:6:58: hostnames[0].mtls.paths[0].prefix: a path prefix must start with "/" and have no spaces, "?" or "#", got "admin"`,
  );
  await rejects(
    [
      ...BASE,
      "    mtls:",
      "      trusted_cas: [pki/ca.pem]",
      "      paths:",
      "        - { prefix: /admin, mode: enforce }",
      "        - { prefix: /admin, mode: off }",
    ],
    `${F}:10:21: hostnames[0].mtls.paths[1].prefix: "/admin" is already listed at paths[0]`,
  );
});

test("listen addresses: the forms allowed and clear errors for the rest", needsOpenssl, async () => {
  const withHttps = (value: string) => [`listen: { https: ${value} }`, "hostnames:", ...minimalHost()];
  const hint = 'expected "host:port" such as "127.0.0.1:8443", "[::1]:8443" or ":8443"';
  await rejects(
    withHttps('"127.0.0.1:99999"'),
    `${F}:1:18: listen.https: port must be 1 to 65535, got "127.0.0.1:99999"`,
  );
  await rejects(
    withHttps('"127.0.0.1:0"'),
    `${F}:1:18: listen.https: port must be 1 to 65535, got "127.0.0.1:0"`,
  );
  await rejects(withHttps("8443"), `${F}:1:18: listen.https: ${hint}, got 8443`);
  await rejects(withHttps('"127.0.0.1"'), `${F}:1:18: listen.https: ${hint}, got "127.0.0.1"`);
  await rejects(
    withHttps('"::1:8443"'),
    `${F}:1:18: listen.https: put an IPv6 address in brackets, as in "[::1]:8443", got "::1:8443"`,
  );
  await rejects(withHttps('"[1.2.3.4]:8443"'), `${F}:1:18: listen.https: "1.2.3.4" is not an IPv6 address`);
  await rejects(
    withHttps('"exa mple:80"'),
    `${F}:1:18: listen.https: "exa mple" is not an IP address or host name`,
  );
  await rejects(
    [
      'listen: { https: ":8443", http: "127.0.0.1:8080" }',
      'admin: "127.0.0.1:8443"',
      "hostnames:",
      ...minimalHost(),
    ],
    `${F}:2:8: admin: port 8443 is already used by listen.https`,
  );
});

test("durations: Go form or seconds, with floors", needsOpenssl, async () => {
  const hint = 'expected a duration like "10s", "500ms" or "1m", or a number of seconds';
  await rejects(
    [...BASE, "crl_refresh_interval: 10 minutes"],
    `${F}:6:23: crl_refresh_interval: ${hint}, got "10 minutes"`,
  );
  await rejects([...BASE, "crl_refresh_interval: 5d"], `${F}:6:23: crl_refresh_interval: ${hint}, got "5d"`);
  await rejects(
    [...BASE, "crl_refresh_interval: 100ms"],
    `${F}:6:23: crl_refresh_interval: must be at least 1s, got "100ms"`,
  );
  await rejects(
    [...BASE, "limits: { handshake_timeout: -1s }"],
    `${F}:6:30: limits.handshake_timeout: must not be negative, got "-1s"`,
  );
  await rejects(
    [...BASE, "limits: { request_timeout: 720h }"],
    `${F}:6:28: limits.request_timeout: must be at most 596h, got "720h"`,
  );
  await rejects(
    [...BASE, "limits: { handshake_timeout: 0 }"],
    `${F}:6:30: limits.handshake_timeout: must be more than 0, got 0`,
  );
  await rejects(
    [...BASE, "limits: { handshake_timeout: [1] }"],
    `${F}:6:30: limits.handshake_timeout: ${hint}, got a list`,
  );
});

test("origin URLs: http or https, no credentials, query or fragment", needsOpenssl, async () => {
  const withUrl = (url: string) => [
    'listen: { https: ":8443" }',
    "hostnames:",
    "  - hostname: api.example.test",
    "    tls: { cert: pki/api.pem, key: pki/api-key.pem }",
    `    origin: { url: "${url}" }`,
  ];
  await rejects(
    withUrl("ftp://o/"),
    `${F}:5:20: hostnames[0].origin.url: the URL must be http or https, got "ftp://o/"`,
  );
  await rejects(
    withUrl("https://o/?a=1"),
    `${F}:5:20: hostnames[0].origin.url: the URL must not have a query or fragment, got "https://o/?a=1"`,
  );
  await rejects(
    withUrl("https://u:p@o/"),
    `${F}:5:20: hostnames[0].origin.url: the URL must not carry a user name or password, got "https://u:p@o/"`,
  );
  await rejects(
    withUrl("127.0.0.1:9000"),
    `${F}:5:20: hostnames[0].origin.url: expected an http or https URL such as "https://127.0.0.1:9443", got "127.0.0.1:9000"`,
  );
  await rejects(
    withUrl("origin"),
    `${F}:5:20: hostnames[0].origin.url: expected an http or https URL such as "https://127.0.0.1:9443", got "origin"`,
  );
  await rejects(
    [...BASE.slice(0, 4), '    origin: { url: "http://o", servername: "bad name" }'],
    `${F}:5:44: hostnames[0].origin.servername: "bad name" is not a valid host name`,
  );
});

test("forward: format names or {header, variable}", needsOpenssl, async () => {
  await rejects(
    [...BASE, "    forward: [cloudflare, cloudfare]"],
    `${F}:6:27: hostnames[0].forward[1]: expected one of cloudflare, access, rfc9440, xfcc, traefik, nginx, got "cloudfare"`,
  );
  await rejects(
    [...BASE, '    forward: [{ header: "X Client", variable: ssl_client_s_dn }]'],
    `${F}:6:25: hostnames[0].forward[0].header: "X Client" is not a valid HTTP header name`,
  );
  await rejects(
    [...BASE, "    forward: [{ header: X-DN, variable: ssl_client_dn }]"],
    `${F}:6:41: hostnames[0].forward[0].variable: expected one of ssl_client_verify, ssl_client_fingerprint, ssl_client_escaped_cert, ssl_client_cert, ssl_client_raw_cert, ssl_client_s_dn, ssl_client_i_dn, ssl_client_s_dn_legacy, ssl_client_i_dn_legacy, ssl_client_serial, ssl_client_v_start, ssl_client_v_end, ssl_client_v_remain, ssl_verification_status, got "ssl_client_dn"`,
  );
  await rejects(
    [...BASE, "    forward: [{ header: X-DN, variabel: ssl_client_s_dn }]"],
    `${F}:6:15: hostnames[0].forward[0]: missing required key "variable"`,
  );
  await rejects(
    [...BASE, "    forward: [42]"],
    `${F}:6:15: hostnames[0].forward[0]: expected a format name (cloudflare, access, rfc9440, xfcc, traefik, nginx) or a {header, variable} mapping, got 42`,
  );
});

test("tls: one {cert, key} mapping or a non-empty list of them", needsOpenssl, async () => {
  const withTls = (tls: string) => [
    'listen: { https: ":8443" }',
    "hostnames:",
    "  - hostname: api.example.test",
    `    tls: ${tls}`,
    '    origin: { url: "http://o" }',
  ];
  await rejects(
    withTls("pki/api.pem"),
    `${F}:4:10: hostnames[0].tls: expected a {cert, key} mapping or a list of them, got "pki/api.pem"`,
  );
  await rejects(withTls("[]"), `${F}:4:10: hostnames[0].tls: needs at least 1 entry`);
  await rejects(withTls("{ cert: pki/api.pem }"), `${F}:4:10: hostnames[0].tls: missing required key "key"`);
  await rejects(
    withTls('[{ cert: pki/api.pem, key: "" }]'),
    `${F}:4:37: hostnames[0].tls[0].key: must not be empty`,
  );
  await rejects(
    withTls("{ cert: pki/api.pem, key: pki/api-key.pem, chain: x }"),
    `${F}:4:53: hostnames[0].tls: unknown key "chain" (expected one of: cert, key)`,
  );
});

test("the config file itself: missing or empty", needsOpenssl, async () => {
  await assert.rejects(loadEdgeConfig("etc/nope.yaml"), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message, "etc/nope.yaml: cannot read the config file: no such file");
    return true;
  });
  await writeFile(CONFIG, "# nothing yet\n");
  await assert.rejects(loadEdgeConfig(CONFIG), {
    message: `${F}: the config file is empty (docs/config.md lists what it needs)`,
  });
});

/** Access selectors and policies: each selector, include/exclude/require, Cloudflare's evaluation order. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type AccessSubject,
  compilePolicy,
  firstMatch,
  normalizeSelectors,
  orderPolicies,
  type PolicySpec,
  type Selector,
  SelectorError,
} from "../../src/access/policy.ts";

const CERT: NonNullable<AccessSubject["cert"]> = {
  commonNames: ["James Royal"],
  sans: { dns: ["device.example.com"], email: ["James@Example.com"], uri: ["spiffe://example.com/d1"] },
  issuerSki: "ABCDEF0123",
  fingerprintSha256: "aa".repeat(32),
  serial: "0AFF",
};
const withCert: AccessSubject = { cert: CERT, serviceTokenId: null, ip: "10.1.2.3" };
const noCert: AccessSubject = { cert: null, serviceTokenId: null, ip: "192.0.2.7" };
const robot: AccessSubject = { cert: null, serviceTokenId: "tok1", ip: "2001:db8::5" };

function policy(include: Selector[], extra: Partial<PolicySpec> = {}): PolicySpec {
  return {
    id: "p",
    name: "p",
    decision: "allow",
    precedence: 1,
    include,
    exclude: [],
    require: [],
    ...extra,
  };
}
const matches = (include: Selector[], subject: AccessSubject, extra: Partial<PolicySpec> = {}) =>
  compilePolicy(policy(include, extra)).matches(subject);

describe("selectors", () => {
  test("certificate (Valid Certificate) needs a usable certificate", () => {
    assert.equal(matches([{ certificate: {} }], withCert), true);
    assert.equal(matches([{ certificate: {} }], noCert), false);
  });
  test("common name is exact", () => {
    assert.equal(matches([{ common_name: { common_name: "James Royal" } }], withCert), true);
    assert.equal(matches([{ common_name: { common_name: "james royal" } }], withCert), false);
    assert.equal(matches([{ common_name: { common_name: "James Royal" } }], noCert), false);
  });
  test("SAN dns / email (case-insensitive) and uri (exact)", () => {
    assert.equal(matches([{ san: { dns: "DEVICE.example.com" } }], withCert), true);
    assert.equal(matches([{ san: { email: "james@example.com" } }], withCert), true);
    assert.equal(matches([{ san: { uri: "spiffe://example.com/d1" } }], withCert), true);
    assert.equal(matches([{ san: { uri: "spiffe://example.com/D1" } }], withCert), false);
    assert.equal(matches([{ san: { dns: "other.example.com" } }], withCert), false);
  });
  test("issuer SKI, fingerprint and serial, after normalization", () => {
    const [ski, fingerprint, serial] = normalizeSelectors(
      [
        { issuer_ski: { ski: "ab:cd:ef:01:23" } },
        { certificate_fingerprint: { sha256: `${"AA:".repeat(31)}AA` } },
        { certificate_serial: { serial: "00:0a:ff" } },
      ],
      "include",
      new Set(),
    ) as [Selector, Selector, Selector];
    assert.equal(matches([ski], withCert), true);
    assert.equal(matches([fingerprint], withCert), true);
    assert.equal(matches([serial], withCert), true);
    assert.equal(matches([{ certificate_serial: { serial: "0B00" } }], withCert), false);
  });
  test("service token by id, any valid service token", () => {
    assert.equal(matches([{ service_token: { token_id: "tok1" } }], robot), true);
    assert.equal(matches([{ service_token: { token_id: "tok2" } }], robot), false);
    assert.equal(matches([{ any_valid_service_token: {} }], robot), true);
    assert.equal(matches([{ any_valid_service_token: {} }], withCert), false);
  });
  test("IP ranges, IPv4 and IPv6; everyone", () => {
    assert.equal(matches([{ ip: { ip: "10.0.0.0/8" } }], withCert), true);
    assert.equal(matches([{ ip: { ip: "10.0.0.0/16" } }], withCert), false);
    assert.equal(matches([{ ip: { ip: "192.0.2.7" } }], noCert), true);
    assert.equal(matches([{ ip: { ip: "2001:db8::/32" } }], robot), true);
    assert.equal(matches([{ ip: { ip: "10.0.0.0/8" } }], robot), false);
    assert.equal(matches([{ everyone: {} }], noCert), true);
  });
  test("bad values are refused with the field named", () => {
    const bad: [Selector, RegExp][] = [
      [{ ip: { ip: "10.0.0.0/33" } }, /include\[0\]\.ip\.ip: .*prefix length/],
      [{ ip: { ip: "not-an-ip" } }, /include\[0\]\.ip\.ip: .*not an IP/],
      [{ issuer_ski: { ski: "xyz" } }, /include\[0\]\.issuer_ski\.ski: .*not hexadecimal/],
      [{ certificate_fingerprint: { sha256: "abcd" } }, /must be 32 bytes/],
      [{ service_token: { token_id: "nope" } }, /no service token nope/],
    ];
    for (const [selector, message] of bad) {
      assert.throws(
        () => normalizeSelectors([selector], "include", new Set()),
        (error: unknown) =>
          error instanceof SelectorError && message.test(`${error.field}: ${error.message}`),
      );
    }
  });
});

describe("policies", () => {
  test("any include, every require, no exclude", () => {
    const spec = policy([{ certificate: {} }, { any_valid_service_token: {} }], {
      require: [{ ip: { ip: "10.0.0.0/8" } }],
      exclude: [{ common_name: { common_name: "Mallory" } }],
    });
    const compiled = compilePolicy(spec);
    assert.equal(compiled.matches(withCert), true);
    assert.equal(compiled.matches(robot), false, "require: the robot is outside 10/8");
    assert.equal(compiled.matches({ ...withCert, cert: { ...CERT, commonNames: ["Mallory"] } }), false);
    assert.equal(compiled.bindsCertificate, true);
    assert.equal(compilePolicy(policy([{ any_valid_service_token: {} }])).bindsCertificate, false);
  });
  test("bypass and Service Auth first, then allow and deny by precedence", () => {
    const specs: PolicySpec[] = [
      policy([{ everyone: {} }], { id: "deny-all", decision: "deny", precedence: 1 }),
      policy([{ certificate: {} }], { id: "certs", decision: "non_identity", precedence: 3 }),
      policy([{ ip: { ip: "192.0.2.0/24" } }], { id: "office", decision: "bypass", precedence: 2 }),
    ];
    const ordered = orderPolicies(specs).map(compilePolicy);
    assert.deepEqual(
      ordered.map((p) => p.id),
      ["office", "certs", "deny-all"],
    );
    assert.equal(firstMatch(ordered, withCert)?.id, "certs");
    assert.equal(firstMatch(ordered, noCert)?.id, "office");
    assert.equal(firstMatch(ordered, robot)?.id, "deny-all");
    assert.equal(firstMatch([], robot), undefined);
  });
});

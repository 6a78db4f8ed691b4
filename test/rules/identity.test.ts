/**
 * The rules language on real client certificates (made by openssl), through the edge's own identity
 * code (tlsClientAuthFields, verificationStatus): the field names and types stay in sync with the
 * edge, and Cloudflare's SKI example works on the SKI openssl prints.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type ClientAuth,
  certificateFields,
  NO_CLIENT_AUTH,
  tlsClientAuthFields,
  verificationStatus,
} from "../../src/edge/identity.ts";
import { compileExpression, RULE_FIELDS, type RuleRequest } from "../../src/rules/index.ts";
import { makeCa, makeClientCert, openssl, opensslSki } from "../helpers/openssl-pki.ts";
import { tempDir } from "../helpers/run.ts";
import { sample } from "./sample.ts";

async function derOf(path: string): Promise<Buffer> {
  return (await openssl(["x509", "-in", path, "-outform", "DER"])).raw;
}

/** A request as the edge builds it: identity fields computed once by src/edge/identity.ts. */
function requestFor(auth: ClientAuth): RuleRequest {
  const fields = tlsClientAuthFields(auth);
  return sample({ tlsClientAuth: () => fields, verificationStatus: verificationStatus(auth) });
}

describe("rules on real client certificates", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let rootSki: string;
  let otherSki: string;
  let alice: ClientAuth;
  let mallory: ClientAuth;

  before(async () => {
    ({ path: dir, cleanup } = await tempDir());
    await makeCa(dir, "root", { subject: "/O=Example/CN=Example Client CA" });
    await makeCa(dir, "other", { subject: "/O=Elsewhere/CN=Other CA" });
    const a = await makeClientCert(dir, "alice", {
      issuer: "root",
      subject: "/O=Example/OU=Admins/CN=alice",
      serial: 0x4f2an,
    });
    const m = await makeClientCert(dir, "mallory", {
      issuer: "other",
      subject: "/O=Example/OU=Admins/CN=alice",
    });
    const rootDer = await derOf(join(dir, "root.pem"));
    const otherDer = await derOf(join(dir, "other.pem"));
    rootSki = (await opensslSki(join(dir, "root.pem"))).replaceAll(":", "");
    otherSki = (await opensslSki(join(dir, "other.pem"))).replaceAll(":", "");
    const cert = certificateFields(await derOf(a.certPath), [], rootDer);
    alice = { presented: true, verified: true, revoked: false, verify: "SUCCESS", cert };
    const mcert = certificateFields(await derOf(m.certPath), [], otherDer);
    // mallory's CA is not trusted by the host: presented, not verified.
    mallory = {
      presented: true,
      verified: false,
      revoked: false,
      verify: "FAILED:unable to get issuer",
      cert: mcert,
    };
  });
  after(() => cleanup());

  test("every cf.tls_client_auth.* field of the edge exists, with its type, and no other", () => {
    const edge = tlsClientAuthFields(NO_CLIENT_AUTH);
    const rules = RULE_FIELDS.filter((f) => f.name.startsWith("cf.tls_client_auth."));
    assert.deepEqual(
      rules.map((f) => [f.name.slice("cf.tls_client_auth.".length), f.type]).sort(),
      Object.entries(edge)
        .map(([key, value]) => [key, typeof value === "boolean" ? "Boolean" : "String"])
        .sort(),
    );
  });

  test("Cloudflare's issuer-SKI rule on openssl's SKI", () => {
    assert.match(rootSki, /^[0-9A-F]{40}$/);
    const rule = compileExpression(
      `not (cf.tls_client_auth.cert_verified and cf.tls_client_auth.cert_issuer_ski eq "${rootSki}")`,
    );
    assert.equal(rule(requestFor(alice)), false, "alice: verified, right issuer → not blocked");
    assert.equal(rule(requestFor(mallory)), true, "mallory: other CA → blocked");
    assert.equal(
      rule(requestFor({ ...mallory, verified: true })),
      true,
      "verified by another CA, wrong SKI → blocked",
    );
    assert.equal(rule(requestFor(NO_CLIENT_AUTH)), true, "no certificate → blocked");
    assert.notEqual(rootSki, otherSki);
  });

  test("revocation, verification status and the identity strings", () => {
    const revoked: ClientAuth = { ...alice, revoked: true };
    const blocked = compileExpression(
      '(not cf.tls_client_auth.cert_verified or cf.tls_client_auth.cert_revoked) and http.request.uri.path in {"/admin"}',
    );
    assert.equal(blocked(requestFor(alice)), false);
    assert.equal(blocked(requestFor(revoked)), true);
    assert.equal(blocked(requestFor(mallory)), true);
    assert.equal(blocked(requestFor(NO_CLIENT_AUTH)), true);

    assert.throws(() => compileExpression("mtls.verification_status"), /expected a comparison operator/);
    const is = (s: string, auth: ClientAuth) =>
      compileExpression(`mtls.verification_status eq "${s}"`)(requestFor(auth));
    assert.equal(is("SUCCESS", alice), true);
    assert.equal(is("CERTIFICATE_VERIFICATION_ERROR", revoked), true);
    assert.equal(is("CERTIFICATE_VERIFICATION_ERROR", mallory), true);
    assert.equal(is("MISSING_CLIENT_CERTIFICATE", NO_CLIENT_AUTH), true);

    const r = requestFor(alice);
    const yes = (e: string) => assert.equal(compileExpression(e)(r), true, e);
    yes('cf.tls_client_auth.cert_subject_dn eq "CN=alice,OU=Admins,O=Example"');
    yes('cf.tls_client_auth.cert_subject_dn_rfc2253 eq "CN=alice,OU=Admins,O=Example"');
    yes('cf.tls_client_auth.cert_subject_dn_legacy eq "/O=Example/OU=Admins/CN=alice"');
    yes('cf.tls_client_auth.cert_issuer_dn eq "CN=Example Client CA,O=Example"');
    yes('cf.tls_client_auth.cert_serial eq "4F2A"');
    yes(`cf.tls_client_auth.cert_fingerprint_sha256 eq "${alice.cert?.fingerprintSha256}"`);
    yes('cf.tls_client_auth.cert_fingerprint_sha1 matches r"^[0-9a-f]{40}$"');
    yes('cf.tls_client_auth.cert_ski matches r"^[0-9A-F]{40}$"');
    yes(
      'cf.tls_client_auth.cert_not_after matches r"^[A-Z][a-z]{2} [ 0-9]\\d \\d\\d:\\d\\d:\\d\\d \\d{4} GMT$"',
    );
    yes(
      'starts_with(cf.tls_client_auth.cert_rfc9440, ":") and not cf.tls_client_auth.cert_rfc9440_too_large',
    );
    yes("cf.tls_client_auth.cert_presented and cf.tls_client_auth.cert_verified");
    // Without mTLS, strings are "" and booleans false.
    const none = requestFor(NO_CLIENT_AUTH);
    assert.equal(compileExpression('cf.tls_client_auth.cert_subject_dn eq ""')(none), true);
    assert.equal(compileExpression("cf.tls_client_auth.cert_presented")(none), false);
  });
});

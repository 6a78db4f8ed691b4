/**
 * Identity headers to the origin: each format's exact header set and values for real openssl
 * certificates, what is sent without a (verified) certificate, the strip set, and header safety.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ForwardSpec, NginxVariable } from "../../src/config/types.ts";
import { ALL_IDENTITY_HEADERS, compileForwarder } from "../../src/edge/forward.ts";
import {
  type CertificateFields,
  type ClientAuth,
  certificateFields,
  NO_CLIENT_AUTH,
} from "../../src/edge/identity.ts";
import { makeCa, makeClientCert, openssl } from "../helpers/openssl-pki.ts";
import { tempDir } from "../helpers/run.ts";

interface Oracle {
  pem: string;
  der: Buffer;
  subjectDn: string;
  issuerDn: string;
  subjectDnLegacy: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  sha256: string;
  sha1: string;
}

/** What openssl says about a certificate file. */
async function oracle(path: string): Promise<Oracle> {
  const line = async (...args: string[]) => {
    const out = (await openssl(["x509", "-in", path, "-noout", ...args])).stdout.replace(/\n$/, "");
    return out.slice(out.indexOf("=") + 1);
  };
  return {
    pem: await readFile(path, "utf8"),
    der: (await openssl(["x509", "-in", path, "-outform", "DER"])).raw,
    subjectDn: await line("-subject", "-nameopt", "RFC2253"),
    issuerDn: await line("-issuer", "-nameopt", "RFC2253"),
    subjectDnLegacy: await line("-subject", "-nameopt", "compat"),
    serial: await line("-serial"),
    notBefore: await line("-startdate"),
    notAfter: await line("-enddate"),
    sha256: (await line("-fingerprint", "-sha256")).replaceAll(":", "").toLowerCase(),
    sha1: (await line("-fingerprint", "-sha1")).replaceAll(":", "").toLowerCase(),
  };
}

function headersFor(specs: ForwardSpec[], auth: ClientAuth): Record<string, string> {
  const headers: Record<string, string> = {};
  compileForwarder(specs).add(auth, headers);
  return headers;
}

const SAFE = /^[\x20-\x7e]*$/;
const unixSeconds = (opensslDate: string) => Date.parse(opensslDate) / 1000;

/** A parser for Envoy's documented XFCC element syntax: `;`-separated key=value, quoted values with `\` escapes. */
function parseXfcc(element: string): [string, string][] {
  const pairs: [string, string][] = [];
  let i = 0;
  while (i < element.length) {
    const eq = element.indexOf("=", i);
    const key = element.slice(i, eq);
    let value = "";
    i = eq + 1;
    if (element[i] === '"') {
      for (i++; element[i] !== '"'; i++) {
        if (i >= element.length) throw new Error("unterminated quote");
        if (element[i] === "\\") i++;
        value += element[i];
      }
      i++;
    } else {
      while (i < element.length && element[i] !== ";") value += element[i++];
    }
    pairs.push([key, value]);
    if (i < element.length && element[i++] !== ";") throw new Error(`expected ; at ${i - 1}`);
  }
  return pairs;
}

describe("identity headers", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let james: CertificateFields;
  let jamesCert: Oracle;
  let inter: Oracle;
  let plain: CertificateFields;
  let plainCert: Oracle;
  let evil: CertificateFields;
  let evilCert: Oracle;

  const auth = (cert: CertificateFields, status: Partial<ClientAuth> = {}): ClientAuth => ({
    presented: true,
    verified: true,
    revoked: false,
    verify: "SUCCESS",
    cert,
    ...status,
  });
  const expired = { verified: false, verify: "FAILED:certificate has expired" };
  const revoked = { revoked: true, verify: "FAILED:certificate revoked" };

  before(async () => {
    ({ path: dir, cleanup } = await tempDir());
    await makeCa(dir, "root", { subject: "/C=US/O=Access/CN=Access Root" });
    await makeCa(dir, "inter", {
      issuer: "root",
      subject:
        "/DC=com/DC=example/C=US/ST=Texas/L=Austin/O=Access/OU=TX/serialNumber=42/CN=Access Testing CA",
    });
    const interPath = join(dir, "inter.pem");
    inter = await oracle(interPath);
    const { certPath } = await makeClientCert(dir, "james", {
      issuer: "inter",
      utf8: true,
      subject:
        "/DC=example/C=US/ST=Texas/L=Austin/O=Access, Zoë/OU=Access Admins/serialNumber=7/CN=James Royal",
      extensions:
        "subjectAltName=DNS:james.example,DNS:alt.example,email:james@example.com,IP:192.0.2.7," +
        "IP:2001:db8:0:0:0:0:0:1,URI:https://example.com/p?a=1;b=2\n",
    });
    jamesCert = await oracle(certPath);
    james = certificateFields(jamesCert.der, [inter.der], inter.der);

    const plainPath = (await makeClientCert(dir, "plain", { issuer: "inter", subject: "/CN=plain" }))
      .certPath;
    plainCert = await oracle(plainPath);
    plain = certificateFields(plainCert.der, [], inter.der);

    // A subject built to break out of XFCC's quoting, and SANs carrying CR LF (raw DER: openssl's
    // config syntax cannot write those bytes).
    const ia5 = (tag: number, s: string) =>
      Buffer.concat([Buffer.from([tag, s.length]), Buffer.from(s, "latin1")]);
    const names = Buffer.concat([
      ia5(0x82, "a\r\nb.example"),
      ia5(0x86, "https://x.example/\r\nX-Injected: 1"),
    ]);
    const san = Buffer.concat([Buffer.from([0x30, names.length]), names]);
    const evilPath = (
      await makeClientCert(dir, "evil", {
        issuer: "inter",
        subject: '/CN=x\\\\";By=spiffe:\\/\\/evil;Hash=00',
        extensions: `subjectAltName=DER:${[...san].map((b) => b.toString(16).padStart(2, "0")).join(":")}\n`,
      })
    ).certPath;
    evilCert = await oracle(evilPath);
    evil = certificateFields(evilCert.der, [], inter.der);
    assert.deepEqual(evil.sans.dns, ["a\r\nb.example"], "precondition: the SAN holds CR LF");
  });
  after(() => cleanup());

  describe("cloudflare", () => {
    test("every cf-cert-* header, as Cloudflare's managed transform", () => {
      assert.deepEqual(headersFor([{ format: "cloudflare" }], auth(james)), {
        "cf-cert-presented": "true",
        "cf-cert-verified": "true",
        "cf-cert-revoked": "false",
        "cf-cert-issuer-dn": inter.subjectDn,
        "cf-cert-subject-dn": jamesCert.subjectDn,
        "cf-cert-issuer-dn-rfc2253": inter.subjectDn,
        "cf-cert-subject-dn-rfc2253": jamesCert.subjectDn,
        "cf-cert-issuer-dn-legacy": inter.subjectDnLegacy,
        "cf-cert-subject-dn-legacy": jamesCert.subjectDnLegacy,
        "cf-cert-serial": jamesCert.serial,
        "cf-cert-issuer-serial": inter.serial,
        "cf-cert-sha256": jamesCert.sha256,
        "cf-cert-sha1": jamesCert.sha1,
        "cf-cert-not-before": jamesCert.notBefore,
        "cf-cert-not-after": jamesCert.notAfter,
        "cf-cert-ski": james.ski,
        "cf-cert-issuer-ski": james.issuerSki,
      });
      assert.equal(jamesCert.subjectDn.split(",")[0], "CN=James Royal");
      assert.match(james.ski, /^[0-9A-F]{40}$/);
      assert.match(james.issuerSki, /^[0-9A-F]{40}$/);
    });

    test("without a certificate: the three flags, false", () => {
      assert.deepEqual(headersFor([{ format: "cloudflare" }], NO_CLIENT_AUTH), {
        "cf-cert-presented": "false",
        "cf-cert-verified": "false",
        "cf-cert-revoked": "false",
      });
    });

    test("a failed or revoked certificate is still described, with its flags", () => {
      const failed = headersFor([{ format: "cloudflare" }], auth(james, expired));
      assert.equal(failed["cf-cert-presented"], "true");
      assert.equal(failed["cf-cert-verified"], "false");
      assert.equal(failed["cf-cert-subject-dn"], jamesCert.subjectDn);
      const gone = headersFor([{ format: "cloudflare" }], auth(james, revoked));
      assert.equal(gone["cf-cert-verified"], "true");
      assert.equal(gone["cf-cert-revoked"], "true");
    });

    test("empty fields are left out", () => {
      const noIssuer = certificateFields(plainCert.der, []);
      const headers = headersFor([{ format: "cloudflare" }], auth(noIssuer));
      assert.equal("cf-cert-issuer-serial" in headers, false);
      assert.equal(headers["cf-cert-issuer-ski"], james.issuerSki, "from the AuthorityKeyIdentifier");
    });
  });

  describe("access", () => {
    test("the DER in base64 and its SHA-256", () => {
      const headers = headersFor([{ format: "access" }], auth(james));
      assert.deepEqual(headers, {
        "cf-client-cert-der-base64": jamesCert.der.toString("base64"),
        "cf-client-cert-sha256": jamesCert.sha256,
      });
      assert.deepEqual(Buffer.from(headers["cf-client-cert-der-base64"] ?? "", "base64"), jamesCert.der);
    });

    test("nothing without a verified, unrevoked certificate", () => {
      for (const a of [NO_CLIENT_AUTH, auth(james, expired), auth(james, revoked)]) {
        assert.deepEqual(headersFor([{ format: "access" }], a), {});
      }
    });
  });

  describe("rfc9440", () => {
    test("Client-Cert and Client-Cert-Chain as byte sequences", () => {
      assert.deepEqual(headersFor([{ format: "rfc9440" }], auth(james)), {
        "client-cert": `:${jamesCert.der.toString("base64")}:`,
        "client-cert-chain": `:${inter.der.toString("base64")}:`,
      });
    });

    test("no chain header for an empty chain; nothing for a certificate that did not verify", () => {
      assert.deepEqual(headersFor([{ format: "rfc9440" }], auth(plain)), {
        "client-cert": `:${plainCert.der.toString("base64")}:`,
      });
      for (const a of [NO_CLIENT_AUTH, auth(james, expired), auth(james, revoked)]) {
        assert.deepEqual(headersFor([{ format: "rfc9440" }], a), {});
      }
    });

    test("a value over its cap is left out", () => {
      const big = {
        ...james,
        rfc9440: "",
        rfc9440TooLarge: true,
        chainRfc9440: "",
        chainRfc9440TooLarge: true,
      };
      assert.deepEqual(headersFor([{ format: "rfc9440" }], auth(big)), {});
    });
  });

  describe("xfcc", () => {
    test("Envoy's element: Hash, Cert, Chain, Subject, URI, DNS", () => {
      const headers = headersFor([{ format: "xfcc" }], auth(james));
      const subject = `"${jamesCert.subjectDnLegacy.replace(/["\\]/g, "\\$&")}"`;
      assert.deepEqual(headers, {
        "x-forwarded-client-cert":
          `Hash=${jamesCert.sha256};Cert="${encodeURIComponent(jamesCert.pem)}";` +
          `Chain="${encodeURIComponent(jamesCert.pem + inter.pem)}";Subject=${subject};` +
          'URI="https://example.com/p?a=1;b=2";DNS=james.example;DNS=alt.example',
      });
      const pairs = parseXfcc(headers["x-forwarded-client-cert"] ?? "");
      assert.deepEqual(
        pairs.map(([k]) => k),
        ["Hash", "Cert", "Chain", "Subject", "URI", "DNS", "DNS"],
      );
      const get = (key: string) => pairs.find(([k]) => k === key)?.[1] ?? "";
      assert.equal(decodeURIComponent(get("Cert")), jamesCert.pem);
      assert.equal(decodeURIComponent(get("Chain")), jamesCert.pem + inter.pem);
      assert.equal(get("Subject"), jamesCert.subjectDnLegacy);
      assert.match(jamesCert.subjectDnLegacy, /\\xC3\\xAB/, "precondition: the legacy DN holds backslashes");
      assert.equal(get("URI"), "https://example.com/p?a=1;b=2");
    });

    test("an empty URI key when the certificate has none, as Envoy sends", () => {
      const value = headersFor([{ format: "xfcc" }], auth(plain))["x-forwarded-client-cert"] ?? "";
      assert.ok(value.endsWith(';Subject="/CN=plain";URI='), value);
      assert.ok(value.includes(`;Chain="${encodeURIComponent(plainCert.pem)}";`));
    });

    test("a hostile subject cannot add keys; CR LF in SANs is percent-encoded", () => {
      const value = headersFor([{ format: "xfcc" }], auth(evil))["x-forwarded-client-cert"] ?? "";
      assert.match(value, SAFE);
      const pairs = parseXfcc(value);
      assert.deepEqual(
        pairs.map(([k]) => k),
        ["Hash", "Cert", "Chain", "Subject", "URI", "DNS"],
      );
      assert.equal(pairs[3]?.[1], evilCert.subjectDnLegacy);
      assert.equal(evilCert.subjectDnLegacy, '/CN=x\\";By=spiffe:\\/\\/evil;Hash=00');
      assert.equal(pairs[4]?.[1], "https://x.example/%0D%0AX-Injected: 1");
      assert.equal(pairs[5]?.[1], "a%0D%0Ab.example");
    });

    test("nothing without a verified, unrevoked certificate", () => {
      for (const a of [NO_CLIENT_AUTH, auth(james, expired), auth(james, revoked)]) {
        assert.deepEqual(headersFor([{ format: "xfcc" }], a), {});
      }
    });
  });

  describe("traefik", () => {
    test("the DER in base64 and the escaped info of passTLSClientCert", () => {
      const headers = headersFor([{ format: "traefik" }], auth(james));
      const info =
        'Subject="DC=example,C=US,ST=Texas,L=Austin,O=Access, Zoë,OU=Access Admins,SN=7,CN=James Royal";' +
        'Issuer="DC=com,DC=example,C=US,ST=Texas,L=Austin,O=Access,SN=42,CN=Access Testing CA";' +
        `NB="${unixSeconds(jamesCert.notBefore)}";NA="${unixSeconds(jamesCert.notAfter)}";` +
        'SAN="james.example,alt.example,james@example.com,192.0.2.7,2001:db8::1,https://example.com/p?a=1;b=2"';
      // Go's url.QueryEscape is form encoding (space as "+"); URLSearchParams serializes the same way.
      const escaped = new URLSearchParams([["", info]]).toString().slice(1);
      assert.deepEqual(headers, {
        "x-forwarded-tls-client-cert": jamesCert.der.toString("base64"),
        "x-forwarded-tls-client-cert-info": escaped,
      });
      assert.ok(
        escaped.startsWith(
          "Subject%3D%22DC%3Dexample%2CC%3DUS%2CST%3DTexas%2CL%3DAustin%2CO%3DAccess%2C+Zo%C3%AB",
        ),
      );
    });

    test("nothing without a verified, unrevoked certificate", () => {
      for (const a of [NO_CLIENT_AUTH, auth(james, expired), auth(james, revoked)]) {
        assert.deepEqual(headersFor([{ format: "traefik" }], a), {});
      }
    });
  });

  describe("nginx", () => {
    test("the X-SSL-Client-* headers with nginx's variable values", () => {
      const headers = headersFor([{ format: "nginx" }], auth(james));
      assert.ok(
        ["29", "30"].includes(headers["x-ssl-client-v-remain"] ?? ""),
        String(headers["x-ssl-client-v-remain"]),
      );
      assert.deepEqual(headers, {
        "x-ssl-client-verify": "SUCCESS",
        "x-ssl-client-fingerprint": jamesCert.sha1,
        "x-ssl-client-escaped-cert": String(headers["x-ssl-client-escaped-cert"]),
        "x-ssl-client-s-dn": jamesCert.subjectDn,
        "x-ssl-client-i-dn": inter.subjectDn,
        "x-ssl-client-serial": jamesCert.serial,
        "x-ssl-client-v-start": jamesCert.notBefore,
        "x-ssl-client-v-end": jamesCert.notAfter,
        "x-ssl-client-v-remain": String(headers["x-ssl-client-v-remain"]),
      });
      const escaped = headers["x-ssl-client-escaped-cert"] ?? "";
      assert.equal(decodeURIComponent(escaped), jamesCert.pem);
      // nginx escapes everything but ALPHA, DIGIT and -._~, in uppercase hex.
      assert.match(escaped, /^(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})+$/);
      assert.ok(escaped.startsWith("-----BEGIN%20CERTIFICATE-----%0A"));
    });

    test("without a certificate: X-SSL-Client-Verify NONE only", () => {
      assert.deepEqual(headersFor([{ format: "nginx" }], NO_CLIENT_AUTH), { "x-ssl-client-verify": "NONE" });
    });

    test("a failed certificate: its reason, and the certificate still described", () => {
      const headers = headersFor([{ format: "nginx" }], auth(james, expired));
      assert.equal(headers["x-ssl-client-verify"], "FAILED:certificate has expired");
      assert.equal(headers["x-ssl-client-s-dn"], jamesCert.subjectDn);
      const odd = headersFor(
        [{ format: "nginx" }],
        auth(james, { verified: false, verify: "FAILED:a\r\nX-Evil: 1" }),
      );
      assert.equal(odd["x-ssl-client-verify"], "FAILED:a%0D%0AX-Evil: 1");
    });

    test("V-Remain counts whole days, 0 within the last day and after expiry", () => {
      const remain = (ms: number) =>
        headersFor(
          [{ header: "R", variable: "ssl_client_v_remain" }],
          auth({ ...james, notAfterMs: Date.now() + ms }),
        ).r;
      assert.equal(remain(3.5 * 86_400_000), "3");
      assert.equal(remain(86_400_000 + 5_000), "1");
      assert.equal(remain(86_400_000 - 5_000), "0");
      assert.equal(remain(-10 * 86_400_000), "0");
    });
  });

  describe("custom headers", () => {
    const all: NginxVariable[] = [
      "ssl_client_verify",
      "ssl_client_fingerprint",
      "ssl_client_escaped_cert",
      "ssl_client_cert",
      "ssl_client_raw_cert",
      "ssl_client_s_dn",
      "ssl_client_i_dn",
      "ssl_client_s_dn_legacy",
      "ssl_client_i_dn_legacy",
      "ssl_client_serial",
      "ssl_client_v_start",
      "ssl_client_v_end",
      "ssl_client_v_remain",
      "ssl_verification_status",
    ];
    const specs = all.map((variable) => ({ header: `X-Client-${variable.replaceAll("_", "-")}`, variable }));

    test("every nginx variable under the user's header name", () => {
      const headers = headersFor(specs, auth(james));
      const spaced = jamesCert.pem.trim().split("\n").join(" ");
      assert.deepEqual(headers, {
        "x-client-ssl-client-verify": "SUCCESS",
        "x-client-ssl-client-fingerprint": jamesCert.sha1,
        "x-client-ssl-client-escaped-cert": encodeURIComponent(jamesCert.pem),
        "x-client-ssl-client-cert": spaced,
        "x-client-ssl-client-raw-cert": spaced,
        "x-client-ssl-client-s-dn": jamesCert.subjectDn,
        "x-client-ssl-client-i-dn": inter.subjectDn,
        "x-client-ssl-client-s-dn-legacy": jamesCert.subjectDnLegacy,
        "x-client-ssl-client-i-dn-legacy": inter.subjectDnLegacy,
        "x-client-ssl-client-serial": jamesCert.serial,
        "x-client-ssl-client-v-start": jamesCert.notBefore,
        "x-client-ssl-client-v-end": jamesCert.notAfter,
        "x-client-ssl-client-v-remain": String(headers["x-client-ssl-client-v-remain"]),
        "x-client-ssl-verification-status": "SUCCESS",
      });
      for (const value of Object.values(headers)) assert.match(value, SAFE);
    });

    test("Azion's verification status for each state; only the status headers without a certificate", () => {
      const status = (a: ClientAuth) =>
        headersFor([{ header: "X-Status", variable: "ssl_verification_status" }], a)["x-status"];
      assert.equal(status(NO_CLIENT_AUTH), "MISSING_CLIENT_CERTIFICATE");
      assert.equal(status(auth(james, expired)), "CERTIFICATE_VERIFICATION_ERROR");
      assert.equal(status(auth(james, revoked)), "CERTIFICATE_VERIFICATION_ERROR");
      assert.deepEqual(headersFor(specs, NO_CLIENT_AUTH), {
        "x-client-ssl-client-verify": "NONE",
        "x-client-ssl-verification-status": "MISSING_CLIENT_CERTIFICATE",
      });
    });

    test("custom names are stripped too, in lower case", () => {
      const { strip } = compileForwarder(specs);
      for (const { header } of specs) assert.ok(strip.has(header.toLowerCase()), header);
      assert.equal(ALL_IDENTITY_HEADERS.has("x-client-ssl-client-verify"), false);
    });

    test("bad or clashing names are refused when compiling", () => {
      assert.throws(
        () => compileForwarder([{ header: "X Bad", variable: "ssl_client_verify" }]),
        /forward\[0\]\.header/,
      );
      assert.throws(
        () => compileForwarder([{ header: "X-A\r\nB", variable: "ssl_client_verify" }]),
        /not a header name/,
      );
      assert.throws(
        () => compileForwarder([{ header: "Content-Length", variable: "ssl_client_serial" }]),
        /cannot carry/,
      );
      assert.throws(
        () =>
          compileForwarder([
            { format: "nginx" },
            { header: "X-SSL-Client-Verify", variable: "ssl_client_verify" },
          ]),
        /forward\[1\]: header x-ssl-client-verify is already set by forward\[0\]/,
      );
      assert.throws(() => compileForwarder([{ format: "xfcc" }, { format: "xfcc" }]), /already set/);
      assert.throws(
        () => compileForwarder([{ header: "X-A", variable: "ssl_client_nope" as NginxVariable }]),
        /unknown variable/,
      );
    });
  });

  describe("strip", () => {
    const every: ForwardSpec[] = [
      { format: "cloudflare" },
      { format: "access" },
      { format: "rfc9440" },
      { format: "xfcc" },
      { format: "traefik" },
      { format: "nginx" },
    ];

    test("every built-in identity header, by name", () => {
      assert.deepEqual([...ALL_IDENTITY_HEADERS].sort(), [
        "cf-cert-issuer-dn",
        "cf-cert-issuer-dn-legacy",
        "cf-cert-issuer-dn-rfc2253",
        "cf-cert-issuer-serial",
        "cf-cert-issuer-ski",
        "cf-cert-not-after",
        "cf-cert-not-before",
        "cf-cert-presented",
        "cf-cert-revoked",
        "cf-cert-serial",
        "cf-cert-sha1",
        "cf-cert-sha256",
        "cf-cert-ski",
        "cf-cert-subject-dn",
        "cf-cert-subject-dn-legacy",
        "cf-cert-subject-dn-rfc2253",
        "cf-cert-verified",
        "cf-client-cert-der-base64",
        "cf-client-cert-sha256",
        "client-cert",
        "client-cert-chain",
        "x-forwarded-client-cert",
        "x-forwarded-tls-client-cert",
        "x-forwarded-tls-client-cert-info",
        "x-ssl-client-escaped-cert",
        "x-ssl-client-fingerprint",
        "x-ssl-client-i-dn",
        "x-ssl-client-s-dn",
        "x-ssl-client-serial",
        "x-ssl-client-v-end",
        "x-ssl-client-v-remain",
        "x-ssl-client-v-start",
        "x-ssl-client-verify",
      ]);
    });

    test("holds every name a host emits, and every built-in one even with no forward list", () => {
      const forwarder = compileForwarder(every);
      const headers: Record<string, string> = {};
      forwarder.add(auth(james), headers);
      assert.equal(Object.keys(headers).length, ALL_IDENTITY_HEADERS.size);
      for (const name of Object.keys(headers)) {
        assert.equal(name, name.toLowerCase());
        assert.ok(forwarder.strip.has(name), name);
      }
      const none = compileForwarder([]);
      for (const name of ALL_IDENTITY_HEADERS) assert.ok(none.strip.has(name), name);
      const add: Record<string, string> = {};
      none.add(auth(james), add);
      assert.deepEqual(add, {});
    });

    test("no value carries CR, LF or any byte outside printable ASCII", () => {
      for (const cert of [james, plain, evil]) {
        const headers: Record<string, string> = {};
        compileForwarder(every).add(auth(cert, { verify: "SUCCESS" }), headers);
        for (const [name, value] of Object.entries(headers)) assert.match(value, SAFE, name);
      }
    });

    test("add leaves headers it does not own alone", () => {
      const headers: Record<string, string> = { "x-other": "kept" };
      compileForwarder([{ format: "rfc9440" }]).add(auth(james), headers);
      assert.equal(headers["x-other"], "kept");
    });
  });
});

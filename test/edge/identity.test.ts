/**
 * certificateFields against the openssl CLI: every field of real certificates (made by openssl, and
 * hand-built DER for name types, times and serials openssl cannot be asked to write) must read exactly
 * as `openssl x509` prints it.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type CertificateFields,
  type ClientAuth,
  certificateFields,
  NO_CLIENT_AUTH,
  tlsClientAuthFields,
  verificationStatus,
  workersTlsClientAuth,
} from "../../src/edge/identity.ts";
import { makeCa, makeClientCert, openssl, opensslSki } from "../helpers/openssl-pki.ts";
import { tempDir } from "../helpers/run.ts";

/** What `openssl x509` prints for a certificate file, in the shape of CertificateFields. */
async function opensslView(path: string) {
  const lines = async (args: string[]) =>
    (await openssl(["x509", "-in", path, "-noout", ...args])).stdout
      .replace(/\n$/, "") // only the final newline: a DN may end in an escaped space
      .split("\n")
      .map((line) => line.slice(line.indexOf("=") + 1));
  const [subjectDn, issuerDn, serial, notBefore, notAfter] = await lines([
    "-nameopt",
    "RFC2253",
    "-subject",
    "-issuer",
    "-serial",
    "-startdate",
    "-enddate",
  ]);
  const [subjectDnLegacy, issuerDnLegacy] = await lines(["-nameopt", "compat", "-subject", "-issuer"]);
  const hex = (s: string | undefined) => (s ?? "").replaceAll(":", "").toLowerCase();
  const [sha256] = await lines(["-fingerprint", "-sha256"]);
  const [sha1] = await lines(["-fingerprint", "-sha1"]);
  return {
    subjectDn,
    issuerDn,
    subjectDnLegacy,
    issuerDnLegacy,
    serial,
    notBefore,
    notAfter,
    fingerprintSha256: hex(sha256),
    fingerprintSha1: hex(sha1),
    ski: hex(await opensslSki(path)).toUpperCase(),
  };
}

async function derOf(path: string): Promise<Buffer> {
  return (await openssl(["x509", "-in", path, "-outform", "DER"])).raw;
}

function pick(fields: CertificateFields) {
  const { subjectDn, issuerDn, subjectDnLegacy, issuerDnLegacy, serial, notBefore, notAfter } = fields;
  const { fingerprintSha256, fingerprintSha1, ski } = fields;
  return {
    subjectDn,
    issuerDn,
    subjectDnLegacy,
    issuerDnLegacy,
    serial,
    notBefore,
    notAfter,
    fingerprintSha256,
    fingerprintSha1,
    ski,
  };
}

// --- hand-built certificates ------------------------------------------------------------------------

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}
const seq = (...parts: Buffer[]) => tlv(0x30, ...parts);

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split(".").map(Number);
  const out = [a * 40 + b];
  for (const arc of rest) {
    const bytes = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) bytes.unshift(0x80 | (v & 0x7f));
    out.push(...bytes);
  }
  return tlv(0x06, Buffer.from(out));
}

/** One attribute: its OID, the value's tag and the value's content bytes (or a whole encoding via tag -1). */
type Attr = [string, number, Buffer | string];
/** A Name from RDNs, each a list of attributes (more than one makes a multi-valued RDN). */
function name(...rdns: Attr[][]): Buffer {
  const value = (tag: number, v: Buffer | string) => {
    const bytes = typeof v === "string" ? Buffer.from(v, "utf8") : v;
    return tag === -1 ? bytes : tlv(tag, bytes);
  };
  return seq(...rdns.map((rdn) => tlv(0x31, ...rdn.map(([o, tag, v]) => seq(oid(o), value(tag, v))))));
}

const EC_KEY = generateKeyPairSync("ec", { namedCurve: "P-256" });
const ECDSA_SHA256 = seq(oid("1.2.840.10045.4.3.2"));

interface Handmade {
  serial?: Buffer;
  subject?: Buffer;
  issuer?: Buffer;
  notBefore?: Buffer;
  notAfter?: Buffer;
}

/** A signed v3 certificate from raw parts, written as PEM for openssl to read. */
async function handmade(dir: string, file: string, parts: Handmade): Promise<{ path: string; der: Buffer }> {
  const subject = parts.subject ?? name([["2.5.4.3", 0x0c, "handmade"]]);
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, parts.serial ?? Buffer.from([0x01, 0x02])),
    ECDSA_SHA256,
    parts.issuer ?? subject,
    seq(
      parts.notBefore ?? tlv(0x17, Buffer.from("220301133500Z")),
      parts.notAfter ?? tlv(0x17, Buffer.from("320301133500Z")),
    ),
    subject,
    EC_KEY.publicKey.export({ type: "spki", format: "der" }),
  );
  const signature = sign("sha256", tbs, EC_KEY.privateKey);
  const der = seq(tbs, ECDSA_SHA256, tlv(0x03, Buffer.from([0]), signature));
  const path = join(dir, file);
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n");
  await writeFile(path, `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`);
  return { path, der };
}

// --- tests ------------------------------------------------------------------------------------------

describe("certificateFields", () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    ({ path: dir, cleanup } = await tempDir());
    await makeCa(dir, "root", { subject: "/C=US/O=Access/CN=Access Root" });
    await makeCa(dir, "inter", {
      key: "rsa",
      issuer: "root",
      subject: "/C=US/ST=Texas/L=Austin/O=Access/OU=TX/CN=Access Testing CA",
    });
  });
  after(() => cleanup());

  test("every field of a client certificate reads as openssl prints it", async () => {
    const { certPath } = await makeClientCert(dir, "james", {
      issuer: "inter",
      subject: "/C=US/ST=Texas/L=Austin/O=Access/OU=Access Admins/CN=James Royal",
      serial: 0x80a1b2c3d4e5f60718n, // high bit set: DER adds a 0x00 byte openssl does not print
      extensions:
        "subjectAltName=DNS:james.example,DNS:*.james.example,email:james@example.com," +
        "URI:spiffe://example.com/ns/a?x=1,IP:192.0.2.7,IP:2001:db8:0:0:1:0:0:1,IP:::ffff:198.51.100.2\n",
    });
    const interPath = join(dir, "inter.pem");
    const rootPath = join(dir, "root.pem");
    const der = await derOf(certPath);
    const interDer = await derOf(interPath);
    const rootDer = await derOf(rootPath);
    const fields = certificateFields(der, [interDer, rootDer], interDer);
    const expected = await opensslView(certPath);

    assert.deepEqual(pick(fields), expected);
    assert.equal(fields.subjectDn, "CN=James Royal,OU=Access Admins,O=Access,L=Austin,ST=Texas,C=US");
    assert.equal(fields.subjectDnLegacy, "/C=US/ST=Texas/L=Austin/O=Access/OU=Access Admins/CN=James Royal");
    assert.equal(fields.serial, "80A1B2C3D4E5F60718");
    assert.match(fields.ski, /^[0-9A-F]{40}$/);
    assert.equal(fields.issuerSerial, (await opensslView(interPath)).serial);
    assert.equal(fields.issuerSki, (await opensslView(interPath)).ski);
    assert.equal(fields.pem, await readFile(certPath, "utf8"));
    assert.deepEqual(fields.der, der);
    assert.deepEqual(fields.chainDer, [interDer, rootDer]);
    assert.equal(fields.notBeforeMs, Date.parse(expected.notBefore ?? ""));
    assert.equal(fields.notAfterMs, Date.parse(expected.notAfter ?? ""));
    assert.equal(fields.rfc9440, `:${der.toString("base64")}:`);
    assert.equal(fields.rfc9440TooLarge, false);
    assert.equal(fields.chainRfc9440, `:${interDer.toString("base64")}:, :${rootDer.toString("base64")}:`);
    assert.equal(fields.chainRfc9440TooLarge, false);

    // SANs as openssl lists them; IPv6 in the canonical RFC 5952 text (WHATWG URL hosts use it too).
    const san = (await openssl(["x509", "-in", certPath, "-noout", "-ext", "subjectAltName"])).stdout;
    const entries = (san.split("\n")[1] ?? "").trim().split(", ");
    const of = (prefix: string) =>
      entries.filter((e) => e.startsWith(prefix)).map((e) => e.slice(prefix.length));
    assert.deepEqual(fields.sans.dns, of("DNS:"));
    assert.deepEqual(fields.sans.email, of("email:"));
    assert.deepEqual(fields.sans.uri, of("URI:"));
    const ips = of("IP Address:").map((ip) =>
      ip.includes(":") ? new URL(`http://[${ip}]`).hostname.slice(1, -1) : ip,
    );
    assert.deepEqual(fields.sans.ip, ["192.0.2.7", "2001:db8::1:0:0:1", "198.51.100.2"]);
    assert.deepEqual(fields.sans.ip.slice(0, 2), ips.slice(0, 2));
    assert.equal(fields.sans.dns.length, 2);

    assert.deepEqual(
      fields.subjectAttributes.map((a) => `${a.name}=${a.value}`),
      ["C=US", "ST=Texas", "L=Austin", "O=Access", "OU=Access Admins", "CN=James Royal"],
    );
    assert.deepEqual(fields.subjectAttributes[5], { oid: "2.5.4.3", name: "CN", value: "James Royal" });
  });

  test("names needing RFC 2253 escaping, multi-valued RDNs and UTF-8 read as openssl prints them", async () => {
    const subjects = [
      "/O=Acme/OU=a+CN=b",
      '/C=US/O=Acme\\, Inc./OU=R\\+D/CN=Zoë "Z" <z@example.com>; x=1/emailAddress=zoe@example.com',
      "/CN=#hash/OU= leading/OU=trailing /O=a\\/b/L=back\\\\slash",
      "/DC=com/DC=example/UID=zoe+CN=Zoë Ängström/title=日本語",
    ];
    for (const [i, subject] of subjects.entries()) {
      const { certPath } = await makeClientCert(dir, `tricky${i}`, { issuer: "inter", subject, utf8: true });
      const fields = certificateFields(await derOf(certPath), []);
      assert.deepEqual(pick(fields), await opensslView(certPath), subject);
    }
    const tricky = certificateFields(await derOf(join(dir, "tricky0.pem")), []);
    // DER sorts the SET: CN=b before OU=a; RFC 2253 reverses every attribute.
    assert.equal(tricky.subjectDn, "OU=a+CN=b,O=Acme");
    assert.equal(tricky.subjectDnLegacy, "/O=Acme/CN=b+OU=a");
    const zoe = certificateFields(await derOf(join(dir, "tricky3.pem")), []);
    assert.equal(
      zoe.subjectDn,
      "title=\\E6\\97\\A5\\E6\\9C\\AC\\E8\\AA\\9E,CN=Zo\\C3\\AB \\C3\\84ngstr\\C3\\B6m+UID=zoe,DC=example,DC=com",
    );
    assert.equal(zoe.subjectAttributes.find((a) => a.name === "CN")?.value, "Zoë Ängström");
  });

  test("serials read as `openssl x509 -serial`", async () => {
    const serials = [
      1n,
      0x7fn,
      0x80n,
      0xffn,
      0x0102n,
      0x00ab12cd34n,
      0x8000000000000000000000000000000000000001n,
    ];
    for (const serial of serials) {
      const { certPath } = await makeClientCert(dir, `serial-${serial.toString(16)}`, {
        issuer: "inter",
        serial,
      });
      const fields = certificateFields(await derOf(certPath), []);
      assert.equal(fields.serial, (await opensslView(certPath)).serial);
      assert.equal(BigInt(`0x${fields.serial}`), serial);
    }
    for (const [bytes, text] of [
      [[0x00], "00"],
      [[0xff, 0x01], "-FF"],
      [[0x80], "-80"],
      [[0xff], "-01"],
    ] as const) {
      const { path, der } = await handmade(dir, `serial-raw-${text}.pem`, { serial: Buffer.from(bytes) });
      assert.equal(certificateFields(der, []).serial, (await opensslView(path)).serial);
      assert.equal(certificateFields(der, []).serial, text);
    }
  });

  test("SKI absent: empty; issuer SKI from the issuer certificate, else from the AuthorityKeyIdentifier", async () => {
    const { certPath } = await makeClientCert(dir, "noski", {
      issuer: "inter",
      extensions: "subjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n",
    });
    const interDer = await derOf(join(dir, "inter.pem"));
    const interSki = (await opensslView(join(dir, "inter.pem"))).ski;
    assert.equal((await opensslView(certPath)).ski, "");
    const bare = certificateFields(await derOf(certPath), []);
    assert.equal(bare.ski, "");
    assert.equal(bare.issuerSki, "");
    assert.equal(bare.issuerSerial, "");
    assert.equal(certificateFields(await derOf(certPath), [], interDer).issuerSki, interSki);

    // openssl x509 -req writes an AuthorityKeyIdentifier by default: its keyId is the issuer's SKI.
    const { certPath: withAki } = await makeClientCert(dir, "aki", { issuer: "inter" });
    const aki = (await openssl(["x509", "-in", withAki, "-noout", "-ext", "authorityKeyIdentifier"])).stdout;
    const akiHex = (aki.split("\n")[1] ?? "")
      .trim()
      .replace(/^keyid:/, "")
      .replaceAll(":", "");
    const fromAki = certificateFields(await derOf(withAki), []);
    assert.equal(fromAki.issuerSki, akiHex);
    assert.equal(fromAki.issuerSki, interSki);
    assert.notEqual(fromAki.issuerSki, fromAki.ski);
  });

  test("every string type, unknown OIDs and non-string values print as openssl prints them", async () => {
    const bmp = (s: string) => Buffer.from(s, "utf16le").swap16();
    const u32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    };
    const ucs4 = (s: string) => Buffer.concat([...s].map((ch) => u32(ch.codePointAt(0) ?? 0)));
    const printable = Buffer.from(Array.from({ length: 0x5f }, (_, i) => 0x20 + i)); // " " … "~"
    const names: [string, Buffer][] = [
      ["all printable ASCII", name([["2.5.4.3", 0x0c, printable]])],
      ["control bytes", name([["2.5.4.3", 0x0c, Buffer.from([0x01, 0x09, 0x0a, 0x0d, 0x1f, 0x7f, 0x41])]])],
      [
        "first and last",
        name(
          [["2.5.4.3", 0x0c, "#"]],
          [["2.5.4.3", 0x0c, " "]],
          [["2.5.4.3", 0x0c, "  "]],
          [["2.5.4.3", 0x0c, "# #"]],
          [["2.5.4.3", 0x0c, "a#"]],
          [["2.5.4.3", 0x0c, ""]],
        ),
      ],
      [
        "string types",
        name(
          [["2.5.4.6", 0x13, "US"]],
          [["2.5.4.10", 0x14, Buffer.from([0x5a, 0x6f, 0xeb, 0x2c])]], // T61String, Latin-1 "Zoë,"
          [["2.5.4.3", 0x14, Buffer.from([0x41, 0x0a, 0x7f, 0x80, 0xff])]],
          [["2.5.4.11", 0x16, "ia5@example.com"]],
          [["2.5.4.5", 0x12, "0123 456"]],
          [["2.5.4.3", 0x1e, bmp("Zoë 日本 #")]],
          [["2.5.4.4", 0x1c, ucs4("Zoë😀 ")]],
          [["2.5.4.7", 0x0c, "Zoë😀"]],
        ),
      ],
      [
        "unknown OIDs and non-string values",
        name(
          [["1.2.3.4", 0x0c, "abc"]],
          [["1.3.6.1.4.1.99999.1", 0x13, "x/y+z"]],
          [["2.5.4.3", 0x03, Buffer.from([0x00, 0x41, 0x2f])]], // BIT STRING
          [["2.5.4.3", -1, seq(tlv(0x0c, Buffer.from("in seq")))]],
        ),
      ],
      [
        "multi-valued RDNs",
        name(
          [
            ["2.5.4.10", 0x0c, "O1"],
            ["2.5.4.11", 0x0c, "OU1"],
            ["2.5.4.3", 0x0c, "CN1"],
          ],
          [["2.5.4.3", 0x0c, "solo"]],
          [
            ["1.2.3.4", 0x0c, "u"],
            ["2.5.4.3", 0x0c, "v+w"],
          ],
        ),
      ],
      ["empty name", seq()],
    ];
    for (const [label, subject] of names) {
      const issuer = name([["2.5.4.3", 0x0c, `issuer of ${label}`]]);
      const { path, der } = await handmade(dir, `name-${names.findIndex(([l]) => l === label)}.pem`, {
        subject,
        issuer,
      });
      const expected = await opensslView(path);
      const fields = certificateFields(der, []);
      assert.equal(fields.subjectDn, expected.subjectDn, `${label}: RFC 2253`);
      assert.equal(fields.subjectDnLegacy, expected.subjectDnLegacy, `${label}: legacy`);
      assert.equal(fields.issuerDn, expected.issuerDn, `${label}: issuer`);
      // Every DN is printable ASCII, so it can go into a header as is.
      assert.match(fields.subjectDn, /^[\x20-\x7e]*$/, label);
      assert.match(fields.subjectDnLegacy, /^[\x20-\x7e]*$/, label);
    }
  });

  test("OpenSSL's short names for every attribute type it knows", async () => {
    const known = [
      ...Array.from({ length: 54 }, (_, i) => `2.5.4.${i + 3}`),
      "2.5.4.65",
      "2.5.4.72",
      "2.5.4.97",
      "2.5.4.98",
      "2.5.4.99",
      "2.5.4.100",
      "1.2.840.113549.1.9.1",
      "1.2.840.113549.1.9.2",
      "1.2.840.113549.1.9.7",
      "1.2.840.113549.1.9.8",
      ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]
        .concat(Array.from({ length: 20 }, (_, i) => i + 37))
        .map((n) => `0.9.2342.19200300.100.1.${n}`),
      ...[1, 2, 3].map((n) => `1.3.6.1.4.1.311.60.2.1.${n}`),
      "2.5.4.55", // not known to OpenSSL: printed dotted, value dumped
    ];
    const { path, der } = await handmade(dir, "short-names.pem", {
      subject: name(...known.map((o): Attr[] => [[o, 0x0c, "v"]])),
    });
    const fields = certificateFields(der, []);
    const expected = await opensslView(path);
    assert.equal(fields.subjectDn, expected.subjectDn);
    assert.equal(fields.subjectDnLegacy, expected.subjectDnLegacy);
    assert.match(fields.subjectDn, /^2\.5\.4\.55=#0C0176,/);
  });

  test("validity times: UTCTime and GeneralizedTime, single-digit days, as openssl prints them", async () => {
    const cases: [Buffer, Buffer, string, string][] = [
      [
        tlv(0x17, Buffer.from("220301133500Z")),
        tlv(0x18, Buffer.from("20500321133500Z")),
        "Mar  1 13:35:00 2022 GMT",
        "Mar 21 13:35:00 2050 GMT",
      ],
      [
        tlv(0x17, Buffer.from("500101000000Z")),
        tlv(0x17, Buffer.from("491231235959Z")),
        "Jan  1 00:00:00 1950 GMT",
        "Dec 31 23:59:59 2049 GMT",
      ],
      [
        tlv(0x18, Buffer.from("00010101000000Z")),
        tlv(0x18, Buffer.from("99991231235959Z")),
        "Jan  1 00:00:00 1 GMT",
        "Dec 31 23:59:59 9999 GMT",
      ],
    ];
    for (const [i, [notBefore, notAfter, before, after]] of cases.entries()) {
      const { path, der } = await handmade(dir, `time-${i}.pem`, { notBefore, notAfter });
      const expected = await opensslView(path);
      const fields = certificateFields(der, []);
      assert.equal(fields.notBefore, expected.notBefore);
      assert.equal(fields.notAfter, expected.notAfter);
      assert.equal(fields.notBefore, before);
      assert.equal(fields.notAfter, after);
    }
    const first = certificateFields((await handmade(dir, "time-ms.pem", {})).der, []);
    assert.equal(first.notBeforeMs, Date.UTC(2022, 2, 1, 13, 35, 0));
    assert.equal(first.notAfterMs, Date.UTC(2032, 2, 1, 13, 35, 0));
    const year1 = certificateFields(
      (await handmade(dir, "time-year1.pem", { notBefore: cases[2]?.[0] })).der,
      [],
    );
    assert.equal(new Date(year1.notBeforeMs).getUTCFullYear(), 1);
  });

  test("RFC 9440 values over 10 KiB (leaf) or 16 KiB (chain) are dropped and flagged", async () => {
    // ~350 DNS names make a leaf whose value lies between the two caps, so swapping them fails too.
    const names = Array.from({ length: 350 }, (_, i) => `DNS:host-${i}.big.example`).join(",");
    const { certPath } = await makeClientCert(dir, "big", {
      issuer: "inter",
      extensions: `subjectAltName=${names}\n`,
    });
    const big = await derOf(certPath);
    const bigValue = `:${big.toString("base64")}:`;
    assert.ok(
      bigValue.length > 10 * 1024 && bigValue.length <= 16 * 1024,
      `precondition: ${bigValue.length}`,
    );
    const leaf = certificateFields(big, [big]);
    assert.equal(leaf.rfc9440, "");
    assert.equal(leaf.rfc9440TooLarge, true);
    assert.equal(leaf.chainRfc9440, bigValue, "a chain of the same size is under its 16 KiB cap");
    assert.equal(leaf.chainRfc9440TooLarge, false);
    assert.equal(leaf.sans.dns.length, 350);
    const twice = certificateFields(big, [big, big]);
    assert.equal(twice.chainRfc9440, "");
    assert.equal(twice.chainRfc9440TooLarge, true);
    const none = certificateFields(await derOf(join(dir, "inter.pem")), []);
    assert.equal(none.chainRfc9440, "");
    assert.equal(none.chainRfc9440TooLarge, false);
  });

  test("not DER: a clear error", () => {
    assert.throws(() => certificateFields(Buffer.from("not a certificate"), []), /not DER/);
    assert.throws(() => certificateFields(Buffer.from([0x30, 0x80, 0x00, 0x00]), []), /not DER: indefinite/);
  });
});

describe("per-request views", () => {
  let fields: CertificateFields;
  let cleanup: () => Promise<void>;

  before(async () => {
    let dir: string;
    ({ path: dir, cleanup } = await tempDir());
    await makeCa(dir, "ca", { subject: "/C=US/O=Access/CN=Access CA" });
    const { certPath } = await makeClientCert(dir, "client", {
      issuer: "ca",
      subject: "/O=Access/CN=James Royal",
    });
    fields = certificateFields(await derOf(certPath), [], await derOf(join(dir, "ca.pem")));
  });
  after(() => cleanup());

  const verified = (): ClientAuth => ({
    presented: true,
    verified: true,
    revoked: false,
    verify: "SUCCESS",
    cert: fields,
  });

  test("rules fields: every cf.tls_client_auth field, and empty ones without a certificate", () => {
    assert.deepEqual(tlsClientAuthFields(verified()), {
      cert_presented: true,
      cert_verified: true,
      cert_revoked: false,
      cert_issuer_dn: "CN=Access CA,O=Access,C=US",
      cert_subject_dn: "CN=James Royal,O=Access",
      cert_issuer_dn_rfc2253: "CN=Access CA,O=Access,C=US",
      cert_subject_dn_rfc2253: "CN=James Royal,O=Access",
      cert_issuer_dn_legacy: "/C=US/O=Access/CN=Access CA",
      cert_subject_dn_legacy: "/O=Access/CN=James Royal",
      cert_serial: fields.serial,
      cert_issuer_serial: fields.issuerSerial,
      cert_fingerprint_sha256: fields.fingerprintSha256,
      cert_fingerprint_sha1: fields.fingerprintSha1,
      cert_not_before: fields.notBefore,
      cert_not_after: fields.notAfter,
      cert_ski: fields.ski,
      cert_issuer_ski: fields.issuerSki,
      cert_rfc9440: fields.rfc9440,
      cert_rfc9440_too_large: false,
      cert_chain_rfc9440: "",
      cert_chain_rfc9440_too_large: false,
    });
    assert.ok(fields.issuerSerial && fields.issuerSki && fields.ski);
    const none = tlsClientAuthFields(NO_CLIENT_AUTH);
    assert.equal(Object.keys(none).length, 21);
    const booleans = /^cert_(presented|verified|revoked)$|_too_large$/;
    for (const [key, value] of Object.entries(none))
      assert.equal(value, booleans.test(key) ? false : "", key);
    assert.deepEqual(Object.keys(none), Object.keys(tlsClientAuthFields(verified())));
    const revoked = tlsClientAuthFields({
      ...verified(),
      revoked: true,
      verify: "FAILED:certificate revoked",
    });
    assert.equal(revoked.cert_verified, true, "Cloudflare keeps cert_verified for a revoked certificate");
    assert.equal(revoked.cert_revoked, true);
  });

  test("Workers tlsClientAuth: string values with Cloudflare's names", () => {
    assert.deepEqual(workersTlsClientAuth(verified()), {
      certPresented: "1",
      certVerified: "SUCCESS",
      certRevoked: "0",
      certIssuerDN: "CN=Access CA,O=Access,C=US",
      certSubjectDN: "CN=James Royal,O=Access",
      certIssuerDNRFC2253: "CN=Access CA,O=Access,C=US",
      certSubjectDNRFC2253: "CN=James Royal,O=Access",
      certIssuerDNLegacy: "/C=US/O=Access/CN=Access CA",
      certSubjectDNLegacy: "/O=Access/CN=James Royal",
      certSerial: fields.serial,
      certIssuerSerial: fields.issuerSerial,
      certSKI: fields.ski,
      certIssuerSKI: fields.issuerSki,
      certFingerprintSHA1: fields.fingerprintSha1,
      certFingerprintSHA256: fields.fingerprintSha256,
      certNotBefore: fields.notBefore,
      certNotAfter: fields.notAfter,
    });
    const none = workersTlsClientAuth(NO_CLIENT_AUTH);
    assert.equal(none.certPresented, "0");
    assert.equal(none.certVerified, "NONE");
    assert.equal(none.certRevoked, "0");
    assert.equal(none.certSubjectDN, "");
    const failed = workersTlsClientAuth({
      ...verified(),
      verified: false,
      verify: "FAILED:certificate has expired",
    });
    assert.equal(failed.certVerified, "FAILED:certificate has expired");
    assert.equal(workersTlsClientAuth({ ...verified(), revoked: true }).certRevoked, "1");
  });

  test("Azion verification status", () => {
    assert.equal(verificationStatus(NO_CLIENT_AUTH), "MISSING_CLIENT_CERTIFICATE");
    assert.equal(verificationStatus(verified()), "SUCCESS");
    assert.equal(
      verificationStatus({ ...verified(), verified: false, verify: "FAILED:x" }),
      "CERTIFICATE_VERIFICATION_ERROR",
    );
    assert.equal(verificationStatus({ ...verified(), revoked: true }), "CERTIFICATE_VERIFICATION_ERROR");
  });

  test("NO_CLIENT_AUTH is the frozen no-certificate view", () => {
    assert.deepEqual(NO_CLIENT_AUTH, {
      presented: false,
      verified: false,
      revoked: false,
      verify: "NONE",
      cert: null,
    });
    assert.ok(Object.isFrozen(NO_CLIENT_AUTH));
  });
});
